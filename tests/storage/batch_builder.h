// Test helper: builds RecordBatch v2 bytes field by field (uncompressed records with a correct
// CRC, or an opaque "compressed" payload), so tests need no Kafka client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/crc32c.h"
#include "base/endian.h"

namespace sluice::test {

struct BatchSpec {
  int record_count = 1;
  std::int64_t base_timestamp = 1000;
  std::int64_t timestamp_step = 1;  // record i has base_timestamp + i * timestamp_step
  int value_bytes = 10;
  std::int16_t attributes = 0;      // compression in bits 0-2; a compressed payload is opaque bytes
  std::int64_t producer_id = -1;
};

inline void put_varlong(std::vector<std::byte>& out, std::int64_t value) {
  std::uint64_t raw = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  while (raw >= 0x80) {
    out.push_back(static_cast<std::byte>((raw & 0x7f) | 0x80));
    raw >>= 7;
  }
  out.push_back(static_cast<std::byte>(raw));
}

inline std::vector<std::byte> build_record(int offset_delta, std::int64_t timestamp_delta, int value_bytes) {
  std::vector<std::byte> body;
  body.push_back(std::byte{0});  // attributes
  put_varlong(body, timestamp_delta);
  put_varlong(body, offset_delta);
  put_varlong(body, -1);  // null key
  put_varlong(body, value_bytes);
  for (int i = 0; i < value_bytes; ++i) body.push_back(static_cast<std::byte>('a' + (offset_delta + i) % 26));
  put_varlong(body, 0);  // no headers
  std::vector<std::byte> record;
  put_varlong(record, static_cast<std::int64_t>(body.size()));
  record.insert(record.end(), body.begin(), body.end());
  return record;
}

inline std::vector<std::byte> build_batch(const BatchSpec& spec) {
  std::vector<std::byte> records;
  bool compressed = (spec.attributes & 7) != 0;
  for (int i = 0; i < spec.record_count; ++i) {
    auto record = build_record(i, i * spec.timestamp_step, spec.value_bytes);
    records.insert(records.end(), record.begin(), record.end());
  }
  if (compressed) {  // opaque stand-in for compressed data: never looked into
    records.assign(records.size() / 2 + 1, std::byte{0x5a});
  }
  std::vector<std::byte> batch(61 + records.size());
  std::byte* p = batch.data();
  std::int64_t max_delta = spec.record_count > 0 ? (spec.record_count - 1) * spec.timestamp_step : 0;
  if (max_delta < 0) max_delta = 0;
  store_be64(p + 0, 0);
  store_be32(p + 8, static_cast<std::uint32_t>(batch.size() - 12));
  store_be32(p + 12, static_cast<std::uint32_t>(-1));
  p[16] = std::byte{2};
  store_be16(p + 21, static_cast<std::uint16_t>(spec.attributes));
  store_be32(p + 23, static_cast<std::uint32_t>(spec.record_count - 1));
  store_be64(p + 27, static_cast<std::uint64_t>(spec.base_timestamp));
  store_be64(p + 35, static_cast<std::uint64_t>(spec.base_timestamp + max_delta));
  store_be64(p + 43, static_cast<std::uint64_t>(spec.producer_id));
  store_be16(p + 51, static_cast<std::uint16_t>(-1));
  store_be32(p + 53, static_cast<std::uint32_t>(-1));
  store_be32(p + 57, static_cast<std::uint32_t>(spec.record_count));
  std::copy(records.begin(), records.end(), batch.begin() + 61);
  store_be32(p + 17, crc32c(p + 21, batch.size() - 21));
  return batch;
}

inline void fix_crc(std::vector<std::byte>& batch) {
  store_be32(batch.data() + 17, crc32c(batch.data() + 21, batch.size() - 21));
}

}  // namespace sluice::test
