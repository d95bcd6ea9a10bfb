// The idempotent-producer state of one partition: for each producer id, its epoch and the
// metadata of its last 5 batches, as Kafka's ProducerStateManager / ProducerAppendInfo keep it.
// The produce path asks check() before an append (duplicate, stale epoch, sequence gap) and calls
// update() after it with the assigned offsets; recovery rebuilds the table with update() over
// the batch headers of the log in offset order.
//
// The table forgets producers in two ways. expire() is Kafka's producer.id.expiration.ms rule
// (ProducerStateManager.isProducerExpired): an entry whose last timestamp (the max timestamp of
// its last batch, a client clock unless the topic uses LogAppendTime) is expiration_ms or more
// behind now. The bound producers_max is ours (Kafka has none): when a new producer id would
// exceed it, update() evicts the least recently updated producer. "Recently" is the order of
// update() calls, not timestamps, so a client cannot pin its entry with future timestamps.
// A forgotten producer is an unknown producer again, and check() answers it as Kafka 2.5+
// (KIP-360) does: any sequence of any epoch is accepted, so a retry of a batch written before
// the producer was forgotten is appended a second time, not answered as a duplicate.
//
// Threads: owned by the partition's I/O thread (the Log's owner); call only from that thread.
// Invariants: each entry holds at most producer_batches_max batches, oldest first, all of the
// entry's epoch; producer_count() <= producers_max(); every entry is on the recency list exactly
// once, least recently updated first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error_code.h"
#include "protocol/record_batch.h"

namespace sluice::storage {

inline constexpr std::size_t producer_batches_max = 5;  // Kafka's NUM_BATCHES_TO_RETAIN
inline constexpr std::int16_t producer_epoch_none = -1;  // RecordBatch.NO_PRODUCER_EPOCH
inline constexpr std::int64_t producer_timestamp_none = -1;  // RecordBatch.NO_TIMESTAMP
inline constexpr std::int64_t producer_expiration_ms_default = 86400000;  // producer.id.expiration.ms
// Our producer.state.max.per.partition default. An entry costs ~0.7 KiB (the deque's first chunk
// dominates), so the default bounds a partition's table near 7 MiB.
inline constexpr std::size_t producers_max_default = 10000;

struct ProducerBatch {
  std::int32_t first_sequence;
  std::int32_t last_sequence;
  std::int64_t first_offset;
  std::int64_t last_offset;
  std::int64_t max_timestamp;
};

struct ProducerEntry {
  std::int16_t epoch = producer_epoch_none;
  // Kafka's ProducerStateEntry.lastTimestamp: the max timestamp of the last batch update() saw,
  // or the snapshot's timestamp after load_snapshot(). expire() compares it with now.
  std::int64_t last_timestamp = producer_timestamp_none;
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
  ProducerStateTable() = default;
  // Requires: producers_max >= 1.
  explicit ProducerStateTable(std::size_t producers_max);

  // Pure: Kafka's checks for a batch from a client. Batches without a producer id (< 0) pass.
  // Requires: header of a validated batch (record_count >= 1).
  ProducerCheck check(const RecordBatchHeader& header) const;
  // Records an appended batch (header.base_offset is the assigned offset). Also used for
  // rebuilding from the log, where nothing is checked (Kafka's REPLICATION/recovery origin).
  // Makes the producer the most recently updated one; a new producer id that would exceed
  // producers_max() first evicts the least recently updated producer. O(1) on average.
  void update(const RecordBatchHeader& header);
  // Forgets every producer. The eviction counter keeps counting.
  void clear();

  // Kafka's removeExpiredProducers: removes each producer with
  // now_ms - last_timestamp >= expiration_ms (no transactions exist here, so none is kept for an
  // open one) and returns how many it removed. Scans the whole table: call it periodically
  // (Kafka: every producer.id.expiration.check.interval.ms, default 10 minutes), not per batch.
  // Requires: now_ms >= 0, expiration_ms >= 1.
  std::size_t expire(std::int64_t now_ms, std::int64_t expiration_ms);

  // Lowers or raises the bound; lowering it evicts least recently updated producers at once.
  // Requires: producers_max >= 1.
  void set_producers_max(std::size_t producers_max);
  std::size_t producers_max() const { return producers_max_; }
  // Producers evicted by the bound since construction (by update(), load_snapshot() or
  // set_producers_max(); not by expire() or clear()), for the broker's metric.
  std::uint64_t eviction_count() const { return eviction_count_; }

  // Kafka's producer snapshot file (<offset>.snapshot, ProducerSnapshot v1): int16 version,
  // uint32 CRC-32C of the bytes after it, then an int32-counted array of 46-byte entries
  // {producerId i64, epoch i16, lastSequence i32, lastOffset i64, offsetDelta i32, timestamp i64,
  // coordinatorEpoch i32, currentTxnFirstOffset i64}, big-endian. As in Kafka it keeps only each
  // producer's last batch, so after loading only that batch is recognized as a duplicate. The
  // timestamp is the entry's last_timestamp, so expiry works across a reload.
  std::string encode_snapshot() const;
  // Replaces the table with the snapshot's entries, with their last_timestamp from the file. The
  // file has no update order, so the recency list starts in timestamp order (then producer id),
  // and entries past producers_max() are evicted oldest first. Kafka also drops expired entries
  // while loading; here the caller calls expire() after loading. Returns false (table left empty)
  // when the bytes are not a valid v1 snapshot (bad version, size or CRC).
  bool load_snapshot(std::string_view bytes);

  std::size_t producer_count() const { return index_.size(); }
  // Calls visit(producer_id, last_offset) with the last offset of each producer's last batch
  // (Kafka's lastRecordsOfActiveProducers, for the log cleaner).
  template <class Visit>
  void for_each_last_offset(Visit&& visit) const {
    for (const auto& [producer_id, slot] : index_)
      if (!slots_[slot].entry.batches.empty()) visit(producer_id, slots_[slot].entry.batches.back().last_offset);
  }
  // The pointer is valid until the next non-const call.
  const ProducerEntry* find(std::int64_t producer_id) const;

 private:
  static constexpr std::uint32_t slot_none = UINT32_MAX;
  // One producer's entry in slots_, linked on the recency list by slot index (indices, not
  // pointers, so the table copies and moves as a value).
  struct Slot {
    std::int64_t producer_id = -1;
    ProducerEntry entry;
    std::uint32_t older = slot_none;
    std::uint32_t newer = slot_none;
  };

  ProducerEntry& entry_for_update(std::int64_t producer_id);
  std::uint32_t slot_allocate(std::int64_t producer_id);
  void slot_remove(std::uint32_t slot);
  void evict_oldest();
  void link_newest(std::uint32_t slot);
  void unlink(std::uint32_t slot);

  std::unordered_map<std::int64_t, std::uint32_t> index_;  // producer id -> slot
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> slots_free_;
  std::uint32_t oldest_ = slot_none;  // least recently updated
  std::uint32_t newest_ = slot_none;
  std::size_t producers_max_ = producers_max_default;
  std::uint64_t eviction_count_ = 0;
};

}  // namespace sluice::storage
