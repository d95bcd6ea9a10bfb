#include "protocol/record_batch.h"

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"
#include "protocol/compression.h"

namespace sluice {
namespace {

namespace f = record_batch_field;

// Kafka's ByteBufferLogInputStream rejects a batchLength below the v0 record overhead (14) as
// corrupt before looking at the magic; DefaultRecordBatch.ensureValid then wants the whole 61-byte
// v2 header.
constexpr std::int32_t batch_length_min_stream = 14;
constexpr std::int32_t batch_length_min_v2 =
    static_cast<std::int32_t>(record_batch_header_bytes - record_batch_log_overhead_bytes);
constexpr std::size_t header_bytes_up_to_magic = 17;

std::uint8_t byte_at(std::span<const std::byte> bytes, std::size_t i) {
  return static_cast<std::uint8_t>(bytes[i]);
}

ErrorCode check_counts(const RecordBatchHeader& header) {
  // LogValidator.validateBatch: offsets span and reported count must agree, count >= 1.
  if (header.record_count <= 0) return ErrorCode::invalid_record;
  if (header.last_offset_delta < 0) return ErrorCode::invalid_record;
  if (std::int64_t{header.last_offset_delta} + 1 != header.record_count) return ErrorCode::invalid_record;
  return ErrorCode::none;
}

}  // namespace

RecordBatchHeader parse_record_batch_header(const std::byte* p) {
  RecordBatchHeader h;
  h.base_offset = static_cast<std::int64_t>(load_be64(p + f::base_offset));
  h.batch_length = static_cast<std::int32_t>(load_be32(p + f::batch_length));
  h.partition_leader_epoch = static_cast<std::int32_t>(load_be32(p + f::partition_leader_epoch));
  h.magic = static_cast<std::int8_t>(p[f::magic]);
  h.crc = load_be32(p + f::crc);
  h.attributes = static_cast<std::int16_t>(load_be16(p + f::attributes));
  h.last_offset_delta = static_cast<std::int32_t>(load_be32(p + f::last_offset_delta));
  h.base_timestamp = static_cast<std::int64_t>(load_be64(p + f::base_timestamp));
  h.max_timestamp = static_cast<std::int64_t>(load_be64(p + f::max_timestamp));
  h.producer_id = static_cast<std::int64_t>(load_be64(p + f::producer_id));
  h.producer_epoch = static_cast<std::int16_t>(load_be16(p + f::producer_epoch));
  h.base_sequence = static_cast<std::int32_t>(load_be32(p + f::base_sequence));
  h.record_count = static_cast<std::int32_t>(load_be32(p + f::record_count));
  return h;
}

std::uint32_t compute_record_batch_crc(const std::byte* batch, std::size_t bytes) {
  SLUICE_ASSERT(bytes >= record_batch_header_bytes, "bytes=%zu", bytes);
  return crc32c(batch + record_batch_crc_start, bytes - record_batch_crc_start);
}

ErrorCode validate_record_batches(std::span<const std::byte> records, const BatchLimits& limits,
                                  BatchesInfo* out) {
  // The order of checks follows Kafka: ProduceRequest.validateRecords (stream framing, magic,
  // exactly one batch), then UnifiedLog.analyzeAndValidateRecords (size, CRC), then
  // LogValidator (counts, record structure).
  if (records.size() < record_batch_log_overhead_bytes) return ErrorCode::invalid_record;
  const std::byte* p = records.data();
  std::int32_t batch_length = static_cast<std::int32_t>(load_be32(p + f::batch_length));
  if (batch_length < batch_length_min_stream) return ErrorCode::corrupt_message;
  if (records.size() < header_bytes_up_to_magic) return ErrorCode::invalid_record;
  auto magic = static_cast<std::int8_t>(p[f::magic]);
  if (magic < 0 || magic > 2) return ErrorCode::corrupt_message;
  std::uint64_t batch_bytes = std::uint64_t(batch_length) + record_batch_log_overhead_bytes;
  if (records.size() < batch_bytes) return ErrorCode::invalid_record;  // truncated: no batch
  if (magic != 2) return ErrorCode::invalid_record;
  // Kafka ignores a partial tail and rejects a second whole batch; we refuse any tail, so the
  // bytes we store are exactly the bytes the client sent.
  if (records.size() != batch_bytes) return ErrorCode::invalid_record;
  if (batch_bytes > limits.batch_bytes_max) return ErrorCode::message_too_large;
  if (batch_length < batch_length_min_v2) return ErrorCode::corrupt_message;
  RecordBatchHeader header = parse_record_batch_header(p);
  if (compute_record_batch_crc(p, batch_bytes) != header.crc) return ErrorCode::corrupt_message;
  if (ErrorCode e = check_counts(header); e != ErrorCode::none) return e;
  if (header.compression() > static_cast<int>(Compression::zstd)) return ErrorCode::unsupported_compression_type;
  if (header.compression() == 0) {
    auto batch = records.first(batch_bytes);
    // Readers take a record's offset as base offset + its delta: the deltas must count 0..n-1.
    std::int32_t expected_delta = 0;
    bool deltas_in_order = true;
    bool walked = walk_uncompressed_records(batch, [&](std::int32_t offset_delta, std::int64_t) {
      deltas_in_order = deltas_in_order && offset_delta == expected_delta;
      ++expected_delta;
    });
    if (!walked || !deltas_in_order) return ErrorCode::invalid_record;
  }
  if (out != nullptr) {
    out->header = header;
    out->batch_bytes = static_cast<std::uint32_t>(batch_bytes);
    out->compression = header.compression();
  }
  return ErrorCode::none;
}

void set_base_offset(std::byte* batch, std::int64_t base_offset) {
  store_be64(batch + f::base_offset, static_cast<std::uint64_t>(base_offset));
}

void set_partition_leader_epoch(std::byte* batch, std::int32_t epoch) {
  store_be32(batch + f::partition_leader_epoch, static_cast<std::uint32_t>(epoch));
}

void set_log_append_time(std::byte* batch, std::size_t bytes, std::int64_t now_ms) {
  SLUICE_ASSERT(bytes >= record_batch_header_bytes, "bytes=%zu", bytes);
  auto attributes = load_be16(batch + f::attributes);
  attributes = static_cast<std::uint16_t>(attributes | (timestamp_type_log_append_time << 3));
  store_be16(batch + f::attributes, attributes);
  store_be64(batch + f::max_timestamp, static_cast<std::uint64_t>(now_ms));
  store_be32(batch + f::crc, compute_record_batch_crc(batch, bytes));
}

ErrorCode check_batch_on_disk(const std::byte* p, std::size_t available, std::size_t* batch_bytes) {
  if (available < record_batch_header_bytes) return ErrorCode::corrupt_message;
  auto batch_length = static_cast<std::int32_t>(load_be32(p + f::batch_length));
  if (batch_length < batch_length_min_v2) return ErrorCode::corrupt_message;
  std::size_t bytes = std::size_t(batch_length) + record_batch_log_overhead_bytes;
  if (bytes > available) return ErrorCode::corrupt_message;
  if (static_cast<std::int8_t>(p[f::magic]) != 2) return ErrorCode::corrupt_message;
  if (compute_record_batch_crc(p, bytes) != load_be32(p + f::crc)) return ErrorCode::corrupt_message;
  *batch_bytes = bytes;
  return ErrorCode::none;
}

bool read_varlong(std::span<const std::byte> bytes, std::size_t* pos, std::int64_t* value) {
  std::uint64_t raw = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*pos >= bytes.size()) return false;
    std::uint8_t b = byte_at(bytes, (*pos)++);
    raw |= std::uint64_t(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *value = static_cast<std::int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
      return true;
    }
  }
  return false;  // more than 10 bytes
}

bool read_varint(std::span<const std::byte> bytes, std::size_t* pos, std::int32_t* value) {
  std::uint32_t raw = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (*pos >= bytes.size()) return false;
    std::uint8_t b = byte_at(bytes, (*pos)++);
    raw |= std::uint32_t(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *value = static_cast<std::int32_t>((raw >> 1) ^ (~(raw & 1) + 1));
      return true;
    }
  }
  return false;  // more than 5 bytes
}

Result<std::span<const std::byte>> batch_record_area(std::span<const std::byte> batch, std::vector<std::byte>* storage,
                                                     std::size_t output_bytes_max) {
  SLUICE_ASSERT(batch.size() >= record_batch_header_bytes, "bytes=%zu", batch.size());
  const int codec = static_cast<int>(load_be16(batch.data() + f::attributes) & 7);
  auto payload = batch.subspan(record_batch_header_bytes);
  if (codec == 0) return payload;
  auto decompressed = decompress_records(codec, payload, output_bytes_max);
  if (!decompressed.is_ok()) return decompressed.status();
  *storage = std::move(decompressed).value();
  return std::span<const std::byte>(*storage);
}

namespace {
// A client's batch may carry any base timestamp and deltas: add as Java does, wrapping around,
// instead of overflowing (undefined behaviour in C++).
std::int64_t add_wrapping(std::int64_t base, std::int64_t delta) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(delta));
}
}  // namespace

RecordSearch find_record_at_or_after(const RecordBatchHeader& header, std::span<const std::byte> records,
                                     std::int64_t ts, RecordOffsetTimestamp* out) {
  SLUICE_ASSERT(out != nullptr);
  const bool log_append_time = header.timestamp_type() == timestamp_type_log_append_time;
  bool found = false;
  bool ok = walk_records(records, header.record_count, [&](std::int32_t offset_delta, std::int64_t timestamp_delta) {
    std::int64_t timestamp = log_append_time ? header.max_timestamp : add_wrapping(header.base_timestamp, timestamp_delta);
    if (found || timestamp < ts) return;
    *out = {add_wrapping(header.base_offset, offset_delta), timestamp};
    found = true;
  });
  if (!ok) return RecordSearch::malformed;
  return found ? RecordSearch::found : RecordSearch::not_found;
}

RecordSearch find_max_timestamp_record(const RecordBatchHeader& header, std::span<const std::byte> records,
                                       RecordOffsetTimestamp* out) {
  SLUICE_ASSERT(out != nullptr);
  const bool log_append_time = header.timestamp_type() == timestamp_type_log_append_time;
  bool found = false;
  bool ok = walk_records(records, header.record_count, [&](std::int32_t offset_delta, std::int64_t timestamp_delta) {
    std::int64_t timestamp = log_append_time ? header.max_timestamp : add_wrapping(header.base_timestamp, timestamp_delta);
    if (found || timestamp != header.max_timestamp) return;
    *out = {add_wrapping(header.base_offset, offset_delta), timestamp};
    found = true;
  });
  if (!ok) return RecordSearch::malformed;
  return found ? RecordSearch::found : RecordSearch::not_found;
}

std::optional<RecordOffsetTimestamp> find_record_at_or_after(std::span<const std::byte> batch, std::int64_t ts) {
  SLUICE_ASSERT(batch.size() >= record_batch_header_bytes, "bytes=%zu", batch.size());
  const RecordBatchHeader header = parse_record_batch_header(batch.data());
  std::vector<std::byte> storage;
  auto records = batch_record_area(batch, &storage, decompressed_records_bytes_max);
  RecordOffsetTimestamp found;
  RecordSearch search = RecordSearch::malformed;
  if (records.is_ok()) search = find_record_at_or_after(header, records.value(), ts, &found);
  if (search == RecordSearch::found) return found;
  if (search == RecordSearch::not_found) return std::nullopt;
  // Unreadable records: batch granularity.
  if (header.max_timestamp >= ts) return RecordOffsetTimestamp{header.base_offset, header.max_timestamp};
  return std::nullopt;
}

RecordOffsetTimestamp find_max_timestamp_record(std::span<const std::byte> batch) {
  SLUICE_ASSERT(batch.size() >= record_batch_header_bytes, "bytes=%zu", batch.size());
  const RecordBatchHeader header = parse_record_batch_header(batch.data());
  std::vector<std::byte> storage;
  auto records = batch_record_area(batch, &storage, decompressed_records_bytes_max);
  RecordOffsetTimestamp found;
  RecordSearch search = RecordSearch::malformed;
  if (records.is_ok()) search = find_max_timestamp_record(header, records.value(), &found);
  if (search == RecordSearch::found) return found;
  // No record carries the header's max timestamp, or the records are unreadable: the batch's last
  // offset, as Kafka before 3.8 answered.
  return RecordOffsetTimestamp{header.last_offset(), header.max_timestamp};
}

}  // namespace sluice
