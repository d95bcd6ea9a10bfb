#include "storage/cleaner_records.h"

#include <cstring>

#include "base/crc32c.h"
#include "base/endian.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"

namespace sluice::storage::cleaner_io {

namespace {

std::size_t varlong_bytes(std::int64_t value) {
  std::uint64_t zigzag = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  std::size_t bytes = 1;
  while (zigzag >= 0x80) zigzag >>= 7, ++bytes;
  return bytes;
}

void put_varlong(std::vector<std::byte>& out, std::int64_t value) {
  std::uint64_t zigzag = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  while (zigzag >= 0x80) {
    out.push_back(static_cast<std::byte>((zigzag & 0x7f) | 0x80));
    zigzag >>= 7;
  }
  out.push_back(static_cast<std::byte>(zigzag));
}

// Appends the record with a new timestamp delta; everything else is the original bytes (a zig-zag
// varint and varlong encode an int32 alike, so the offset delta is written with put_varlong).

}  // namespace

bool next_record(std::span<const std::byte> area, std::size_t* position, RecordFields* out) {
  std::int32_t length = 0;
  if (!read_varint(area, position, &length) || length < 1) return false;
  if (static_cast<std::size_t>(length) > area.size() - *position) return false;
  auto record = area.subspan(*position, static_cast<std::size_t>(length));
  *position += static_cast<std::size_t>(length);
  std::size_t at = 1;
  out->attributes = record[0];
  if (!read_varlong(record, &at, &out->timestamp_delta) || !read_varint(record, &at, &out->offset_delta)) return false;
  const std::size_t rest_start = at;
  std::int32_t key_bytes = 0, value_bytes = 0, header_count = 0;
  if (!read_varint(record, &at, &key_bytes) || key_bytes < -1) return false;
  out->has_key = key_bytes >= 0;
  if (key_bytes > 0) {
    if (static_cast<std::size_t>(key_bytes) > record.size() - at) return false;
    out->key = record.subspan(at, static_cast<std::size_t>(key_bytes));
    at += static_cast<std::size_t>(key_bytes);
  } else {
    out->key = {};
  }
  if (!read_varint(record, &at, &value_bytes) || value_bytes < -1) return false;
  out->has_value = value_bytes >= 0;
  if (value_bytes > 0) {
    if (static_cast<std::size_t>(value_bytes) > record.size() - at) return false;
    at += static_cast<std::size_t>(value_bytes);
  }
  if (!read_varint(record, &at, &header_count) || header_count < 0) return false;
  out->rest = record.subspan(rest_start);
  return true;
}

void encode_record(std::vector<std::byte>& out, const RecordFields& record, std::int64_t timestamp_delta) {
  const std::size_t body = 1 + varlong_bytes(timestamp_delta) + varlong_bytes(record.offset_delta) + record.rest.size();
  put_varlong(out, static_cast<std::int64_t>(body));
  out.push_back(record.attributes);
  put_varlong(out, timestamp_delta);
  put_varlong(out, record.offset_delta);
  out.insert(out.end(), record.rest.begin(), record.rest.end());
}

// The 61-byte header of a batch built by the cleaner, CRC left for finish_batch.
void write_header(std::byte* p, const RecordBatchHeader& h, std::size_t batch_bytes) {
  namespace f = record_batch_field;
  store_be64(p + f::base_offset, static_cast<std::uint64_t>(h.base_offset));
  store_be32(p + f::batch_length, static_cast<std::uint32_t>(batch_bytes - record_batch_log_overhead_bytes));
  store_be32(p + f::partition_leader_epoch, static_cast<std::uint32_t>(h.partition_leader_epoch));
  p[f::magic] = std::byte{2};
  store_be16(p + f::attributes, static_cast<std::uint16_t>(h.attributes));
  store_be32(p + f::last_offset_delta, static_cast<std::uint32_t>(h.last_offset_delta));
  store_be64(p + f::base_timestamp, static_cast<std::uint64_t>(h.base_timestamp));
  store_be64(p + f::max_timestamp, static_cast<std::uint64_t>(h.max_timestamp));
  store_be64(p + f::producer_id, static_cast<std::uint64_t>(h.producer_id));
  store_be16(p + f::producer_epoch, static_cast<std::uint16_t>(h.producer_epoch));
  store_be32(p + f::base_sequence, static_cast<std::uint32_t>(h.base_sequence));
  store_be32(p + f::record_count, static_cast<std::uint32_t>(h.record_count));
  store_be32(p + f::crc, compute_record_batch_crc(p, batch_bytes));
}

// Kafka's DefaultRecordBatch.writeEmptyHeader: the batch's offsets, producer fields and max
// timestamp, no records, no compression, no base timestamp.
std::vector<std::byte> empty_batch(const RecordBatchHeader& original) {
  RecordBatchHeader h = original;
  h.attributes = static_cast<std::int16_t>(original.attributes & ~(attribute_compression_mask | attribute_delete_horizon));
  h.base_timestamp = -1;
  h.record_count = 0;
  std::vector<std::byte> batch(record_batch_header_bytes);
  write_header(batch.data(), h, batch.size());
  return batch;
}

}  // namespace sluice::storage::cleaner_io
