// Builds the RecordBatch v2 (magic 2) bytes that sluice-perf produces, the way a Kafka producer
// does: `record_count` records of `value_bytes` each, keys null or `key_bytes` long, optionally
// compressed. A batch is built once and then only patched per send, so producing allocates nothing:
//   uncompressed: the first record's value starts with a stamp ("sprf" + the send time in
//                 CLOCK_MONOTONIC ns, native order) that the consumer reads back for end-to-end
//                 latency; keys are rewritten per send; then the timestamps and the CRC-32C.
//   compressed:   a pool of batches with different payloads is compressed at start; a send picks
//                 the next one and patches timestamps and CRC (no stamp: the consumer would have to
//                 decompress to see it, so compressed runs report no end-to-end latency).
// Values are random letters from a 16-letter alphabet (about 2:1 compressible, like text).
// Keys: key ids are spread so that key k belongs to partition k % partitions (what a hashing
// partitioner would give a uniform key space); a batch for partition p draws uniformly from p's keys.
// Single-threaded: one BatchMaker per producer connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice::perf {

inline constexpr std::size_t stamp_bytes = 12;  // "sprf" + i64 ns

struct BatchShape {
  int record_count = 1;
  int value_bytes = 100;
  int key_bytes = 0;             // 0: null keys
  std::uint32_t key_space = 0;   // distinct keys (when key_bytes > 0)
  int compression = 0;           // Kafka codec: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
  std::uint32_t partitions = 1;
};

class BatchMaker {
 public:
  // Requires: record_count >= 1, value_bytes >= 0, key_bytes >= 0, partitions >= 1.
  BatchMaker(const BatchShape& shape, std::uint64_t seed);
  // The batch to send next to `partition`, stamped with `stamp_ns` (when it carries stamps) and
  // with CreateTime `wall_ms`. Valid until the next call.
  std::span<const std::byte> next(std::uint32_t partition, std::int64_t stamp_ns, std::int64_t wall_ms);
  bool carries_stamp() const { return shape_.compression == 0 && shape_.value_bytes >= static_cast<int>(stamp_bytes); }
  // Key and value bytes per batch (what "MB/s" counts), before compression.
  std::uint64_t payload_bytes() const;
  std::size_t batch_bytes_max() const;

 private:
  std::vector<std::byte> build(bool compress);
  std::uint64_t random();
  void fill_letters(std::byte* p, std::size_t bytes);
  void write_keys(std::vector<std::byte>& batch, std::uint32_t partition);

  BatchShape shape_;
  std::uint64_t state_;
  std::vector<std::vector<std::byte>> pool_;   // one batch when uncompressed
  std::vector<std::size_t> key_positions_;     // uncompressed: where each record's key starts
  std::size_t first_value_position_ = 0;
  std::size_t pool_next_ = 0;
};

// The stamp carried by the first record of an uncompressed batch (whole batch bytes), if any.
bool read_stamp(std::span<const std::byte> batch, std::int64_t* stamp_ns);

// Compresses a record area with Kafka codec `codec` (1..4); fails the process on error.
std::vector<std::byte> compress_records(int codec, std::span<const std::byte> area);

}  // namespace sluice::perf
