// Kafka RecordBatch v2 (magic 2): a view of the 61-byte header, the checks the broker runs on a
// produced batch, and the few in-place edits a Kafka broker makes to a batch before writing it.
// Records are decompressed only for the ListOffsets lookups at the end (find_record_at_or_after,
// find_max_timestamp_record); never on the produce path. Pure functions; any thread may call.
//
// Layout (big-endian), offsets in bytes:
//   0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8 | 17 crc u32 |
//   21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64 | 35 maxTimestamp i64 |
//   43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 | 57 recordCount i32 | 61 records
// batchLength counts the bytes after the batchLength field, so a batch is batchLength + 12 bytes.
// The CRC-32C covers attributes..end (byte 21 to the end of the batch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "base/error_code.h"
#include "base/status.h"

namespace sluice {

inline constexpr std::size_t record_batch_header_bytes = 61;
inline constexpr std::size_t record_batch_log_overhead_bytes = 12;  // baseOffset + batchLength
inline constexpr std::size_t record_batch_crc_start = 21;           // attributes
static_assert(record_batch_header_bytes == 61);

namespace record_batch_field {
inline constexpr std::size_t base_offset = 0;
inline constexpr std::size_t batch_length = 8;
inline constexpr std::size_t partition_leader_epoch = 12;
inline constexpr std::size_t magic = 16;
inline constexpr std::size_t crc = 17;
inline constexpr std::size_t attributes = 21;
inline constexpr std::size_t last_offset_delta = 23;
inline constexpr std::size_t base_timestamp = 27;
inline constexpr std::size_t max_timestamp = 35;
inline constexpr std::size_t producer_id = 43;
inline constexpr std::size_t producer_epoch = 51;
inline constexpr std::size_t base_sequence = 53;
inline constexpr std::size_t record_count = 57;
}  // namespace record_batch_field

enum class Compression : int { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
inline constexpr int timestamp_type_create_time = 0;
inline constexpr int timestamp_type_log_append_time = 1;

struct RecordBatchHeader {
  std::int64_t base_offset = 0;
  std::int32_t batch_length = 0;
  std::int32_t partition_leader_epoch = 0;
  std::int8_t magic = 0;
  std::uint32_t crc = 0;
  std::int16_t attributes = 0;
  std::int32_t last_offset_delta = 0;
  std::int64_t base_timestamp = 0;
  std::int64_t max_timestamp = 0;
  std::int64_t producer_id = 0;
  std::int16_t producer_epoch = 0;
  std::int32_t base_sequence = 0;
  std::int32_t record_count = 0;

  int compression() const { return attributes & 7; }
  int timestamp_type() const { return (attributes >> 3) & 1; }
  bool is_transactional() const { return (attributes & 0x10) != 0; }
  bool is_control() const { return (attributes & 0x20) != 0; }
  bool has_delete_horizon() const { return (attributes & 0x40) != 0; }
  std::int64_t last_offset() const { return base_offset + last_offset_delta; }
  // Total bytes of the batch on the wire and on disk (batchLength + 12).
  std::int64_t batch_bytes() const { return std::int64_t{batch_length} + 12; }
};

// Requires: p points at >= 61 readable bytes. Does not validate anything.
RecordBatchHeader parse_record_batch_header(const std::byte* p);

// CRC-32C over bytes [21, bytes) of a batch. Requires: bytes >= 61.
std::uint32_t compute_record_batch_crc(const std::byte* batch, std::size_t bytes);

struct BatchLimits {
  std::uint32_t batch_bytes_max;  // the topic's max.message.bytes
};

struct BatchesInfo {
  RecordBatchHeader header;
  std::uint32_t batch_bytes = 0;
  int compression = 0;
};

// Checks the records of one partition of a Produce request (v3+), as a Kafka broker does:
//   empty, more than one batch, trailing bytes, a truncated batch   -> INVALID_RECORD
//   batchLength below the v2 minimum (49), magic above 2, bad CRC   -> CORRUPT_MESSAGE
//   magic 0 or 1                                                    -> INVALID_RECORD
//   batch larger than limits.batch_bytes_max                        -> MESSAGE_TOO_LARGE
//   recordCount < 1, lastOffsetDelta != recordCount - 1             -> INVALID_RECORD
//   uncompressed: the record headers must walk to exactly the batch end with
//   offset deltas 0..n-1                                            -> INVALID_RECORD
// On ErrorCode::none, *out (if not null) holds the parsed header. Never decompresses, so a
// compressed batch's records are not looked into (Kafka checks their offsets as it decompresses;
// for uncompressed ones it checks only the header counts, we also check the deltas).
ErrorCode validate_record_batches(std::span<const std::byte> records, const BatchLimits& limits,
                                  BatchesInfo* out);

// In-place edits a Kafka broker makes. base offset and partition leader epoch are outside the CRC.
// Requires: batch points at a whole batch (>= 61 bytes).
void set_base_offset(std::byte* batch, std::int64_t base_offset);
void set_partition_leader_epoch(std::byte* batch, std::int32_t epoch);
// For LogAppendTime topics: sets the timestamp-type bit, maxTimestamp = now_ms, and a new CRC.
void set_log_append_time(std::byte* batch, std::size_t bytes, std::int64_t now_ms);

// For recovery: checks the batch at p with `available` bytes readable: length sane and within
// `available`, magic 2, CRC. On none, *batch_bytes is the batch's total size.
ErrorCode check_batch_on_disk(const std::byte* p, std::size_t available, std::size_t* batch_bytes);

// Walks the record headers of a record area: record_count records back to back, in the record
// encoding of v2 (the bytes after the 61-byte header of an uncompressed batch, or the decompressed
// payload of a compressed one). No copy. Calls visit(offset_delta, timestamp_delta) for each
// record; returns false if the records do not parse or do not end exactly at the area's end
// (Kafka rejects bytes left after the last record too). Requires: record_count >= 0.
template <class Visit>
bool walk_records(std::span<const std::byte> records, std::int32_t record_count, Visit&& visit);

// walk_records over the record area of a whole uncompressed batch (its count from the header).
// Requires: batch is a whole batch (>= 61 bytes).
template <class Visit>
bool walk_uncompressed_records(std::span<const std::byte> batch, Visit&& visit);

// {offset, timestamp} of one record, as ListOffsets answers.
using RecordOffsetTimestamp = std::pair<std::int64_t, std::int64_t>;

enum class RecordSearch { found, not_found, malformed };

// The record area of a whole batch: a view of the bytes after the header when uncompressed, or
// the payload decompressed into *storage (at most output_bytes_max bytes). Fails when the payload
// does not decompress within the bound. Requires: batch is a whole batch (>= 61 bytes).
Result<std::span<const std::byte>> batch_record_area(std::span<const std::byte> batch, std::vector<std::byte>* storage,
                                                     std::size_t output_bytes_max);

// Kafka's lookups inside one batch, given its header and its record area (batch_record_area):
// - at or after: the first record (in batch order) whose timestamp >= ts;
// - max timestamp: the first record whose timestamp == header.max_timestamp (Kafka 3.8's
//   RecordBatch.offsetOfMaxTimestamp).
// Records of a LogAppendTime batch all carry the batch's max timestamp, so the first record
// answers both. On found, *out holds the record's {offset, timestamp}.
RecordSearch find_record_at_or_after(const RecordBatchHeader& header, std::span<const std::byte> records,
                                     std::int64_t ts, RecordOffsetTimestamp* out);
RecordSearch find_max_timestamp_record(const RecordBatchHeader& header, std::span<const std::byte> records,
                                       RecordOffsetTimestamp* out);

// The same over a whole batch, decompressing it if needed (bounded by
// decompressed_records_bytes_max). A batch whose records cannot be read (corrupt payload, over the
// bound) is answered at batch granularity, as before records were looked into: {base offset, max
// timestamp} if max timestamp >= ts; {last offset, max timestamp} for the max.
// Requires: batch is a whole batch (>= 61 bytes).
std::optional<RecordOffsetTimestamp> find_record_at_or_after(std::span<const std::byte> batch, std::int64_t ts);
RecordOffsetTimestamp find_max_timestamp_record(std::span<const std::byte> batch);

// Kafka's zig-zag varints. Return false on truncation or overlong encodings.
bool read_varint(std::span<const std::byte> bytes, std::size_t* pos, std::int32_t* value);
bool read_varlong(std::span<const std::byte> bytes, std::size_t* pos, std::int64_t* value);

template <class Visit>
bool walk_records(std::span<const std::byte> records, std::int32_t record_count, Visit&& visit) {
  std::size_t pos = 0;
  for (std::int32_t i = 0; i < record_count; ++i) {
    std::int32_t length = 0;
    if (!read_varint(records, &pos, &length) || length < 1) return false;
    if (static_cast<std::size_t>(length) > records.size() - pos) return false;
    std::size_t end = pos + static_cast<std::size_t>(length);
    std::size_t field = pos + 1;  // skip the record attributes byte
    std::int64_t timestamp_delta = 0;
    std::int32_t offset_delta = 0;
    auto record = records.first(end);
    if (!read_varlong(record, &field, &timestamp_delta)) return false;
    if (!read_varint(record, &field, &offset_delta)) return false;
    visit(offset_delta, timestamp_delta);
    pos = end;
  }
  return pos == records.size();
}

template <class Visit>
bool walk_uncompressed_records(std::span<const std::byte> batch, Visit&& visit) {
  std::int32_t count = static_cast<std::int32_t>(
      (std::uint32_t{static_cast<std::uint8_t>(batch[57])} << 24) |
      (std::uint32_t{static_cast<std::uint8_t>(batch[58])} << 16) |
      (std::uint32_t{static_cast<std::uint8_t>(batch[59])} << 8) |
      std::uint32_t{static_cast<std::uint8_t>(batch[60])});
  if (count < 0) return false;
  return walk_records(batch.subspan(record_batch_header_bytes), count, visit);
}

}  // namespace sluice
