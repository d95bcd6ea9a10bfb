// The idempotent-producer state of one partition: for each producer id, its epoch and the
// metadata of its last 5 batches, as Kafka's ProducerStateManager / ProducerAppendInfo keep it.
// The produce path asks check() before an append (duplicate, stale epoch, sequence gap) and calls
// update() after it with the assigned offsets; recovery rebuilds the table with update() over
// the batch headers of the log in offset order.
//
// Threads: owned by the partition's I/O thread (the Log's owner); call only from that thread.
// Invariant: each entry holds at most batches_per_producer_max batches, oldest first, all of the
// entry's epoch.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/error_code.h"
#include "protocol/record_batch.h"

namespace sluice::storage {

inline constexpr std::size_t producer_batches_max = 5;  // Kafka's NUM_BATCHES_TO_RETAIN
inline constexpr std::int16_t producer_epoch_none = -1;  // RecordBatch.NO_PRODUCER_EPOCH

struct ProducerBatch {
  std::int32_t first_sequence;
  std::int32_t last_sequence;
  std::int64_t first_offset;
  std::int64_t last_offset;
  std::int64_t max_timestamp;
};

struct ProducerEntry {
  std::int16_t epoch = producer_epoch_none;
  std::deque<ProducerBatch> batches;  // oldest first
};

struct ProducerCheck {
  ErrorCode error = ErrorCode::none;
  // Set when the batch repeats one of the producer's last batches: answer with this base offset
  // and append nothing.
  std::optional<std::int64_t> duplicate_base_offset;
};

// Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from INT32_MAX to 0.
std::int32_t increment_sequence(std::int32_t sequence, std::int32_t increment);

class ProducerStateTable {
 public:
  // Pure: Kafka's checks for a batch from a client. Batches without a producer id (< 0) pass.
  // Requires: header of a validated batch (record_count >= 1).
  ProducerCheck check(const RecordBatchHeader& header) const;
  // Records an appended batch (header.base_offset is the assigned offset). Also used for
  // rebuilding from the log, where nothing is checked (Kafka's REPLICATION/recovery origin).
  void update(const RecordBatchHeader& header);
  void clear() { producers_.clear(); }

  // Kafka's producer snapshot file (<offset>.snapshot, ProducerSnapshot v1): int16 version,
  // uint32 CRC-32C of the bytes after it, then an int32-counted array of 46-byte entries
  // {producerId i64, epoch i16, lastSequence i32, lastOffset i64, offsetDelta i32, timestamp i64,
  // coordinatorEpoch i32, currentTxnFirstOffset i64}, big-endian. As in Kafka it keeps only each
  // producer's last batch, so after loading only that batch is recognized as a duplicate.
  std::string encode_snapshot() const;
  // Replaces the table with the snapshot's entries. Returns false (table left empty) when the
  // bytes are not a valid v1 snapshot (bad version, size or CRC).
  bool load_snapshot(std::string_view bytes);

  std::size_t producer_count() const { return producers_.size(); }
  const ProducerEntry* find(std::int64_t producer_id) const;

 private:
  std::unordered_map<std::int64_t, ProducerEntry> producers_;
};

}  // namespace sluice::storage
