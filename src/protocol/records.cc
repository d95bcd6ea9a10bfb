#include "protocol/records.h"

#include <cstring>

#include "base/assert.h"
#include "base/endian.h"
#include "protocol/record_batch.h"

namespace sluice::protocol {
namespace {

void put_varlong(std::vector<std::byte>& out, std::int64_t value) {
  std::uint64_t zigzag = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  while (zigzag >= 0x80) {
    out.push_back(static_cast<std::byte>((zigzag & 0x7f) | 0x80));
    zigzag >>= 7;
  }
  out.push_back(static_cast<std::byte>(zigzag));
}

void put_bytes(std::vector<std::byte>& out, const std::vector<std::byte>& bytes) {
  std::size_t at = out.size();
  out.resize(at + bytes.size());
  if (!bytes.empty()) std::memcpy(out.data() + at, bytes.data(), bytes.size());
}

}  // namespace

std::vector<std::byte> build_record_batch(const std::vector<RecordToWrite>& records, std::int64_t timestamp_ms) {
  SLUICE_ASSERT(!records.empty());
  std::vector<std::byte> batch(record_batch_header_bytes);
  std::vector<std::byte> record;
  for (std::size_t i = 0; i < records.size(); ++i) {
    record.clear();
    record.push_back(std::byte{0});  // attributes
    put_varlong(record, 0);          // timestamp delta
    put_varlong(record, static_cast<std::int64_t>(i));
    put_varlong(record, static_cast<std::int64_t>(records[i].key.size()));
    put_bytes(record, records[i].key);
    if (records[i].value) {
      put_varlong(record, static_cast<std::int64_t>(records[i].value->size()));
      put_bytes(record, *records[i].value);
    } else {
      put_varlong(record, -1);
    }
    put_varlong(record, 0);  // no headers
    put_varlong(batch, static_cast<std::int64_t>(record.size()));
    put_bytes(batch, record);
  }
  std::byte* p = batch.data();
  store_be64(p + 0, 0);
  store_be32(p + 8, static_cast<std::uint32_t>(batch.size() - 12));
  store_be32(p + 12, 0);
  p[16] = std::byte{2};
  store_be16(p + 21, 0);
  store_be32(p + 23, static_cast<std::uint32_t>(records.size() - 1));
  store_be64(p + 27, static_cast<std::uint64_t>(timestamp_ms));
  store_be64(p + 35, static_cast<std::uint64_t>(timestamp_ms));
  store_be64(p + 43, static_cast<std::uint64_t>(-1));  // no producer id
  store_be16(p + 51, static_cast<std::uint16_t>(-1));
  store_be32(p + 53, static_cast<std::uint32_t>(-1));
  store_be32(p + 57, static_cast<std::uint32_t>(records.size()));
  store_be32(p + 17, compute_record_batch_crc(p, batch.size()));
  return batch;
}

bool parse_records(std::span<const std::byte> area, std::int32_t record_count,
                   const std::function<void(const RecordView&)>& visit) {
  std::size_t position = 0;
  for (std::int32_t i = 0; i < record_count; ++i) {
    std::int32_t length = 0;
    if (!read_varint(area, &position, &length) || length < 1) return false;
    if (static_cast<std::size_t>(length) > area.size() - position) return false;
    auto record = area.subspan(position, static_cast<std::size_t>(length));
    position += static_cast<std::size_t>(length);
    std::size_t at = 1;  // attributes
    RecordView view;
    std::int32_t key_bytes = 0, value_bytes = 0, header_count = 0;
    if (!read_varlong(record, &at, &view.timestamp_delta) || !read_varint(record, &at, &view.offset_delta)) return false;
    if (!read_varint(record, &at, &key_bytes) || key_bytes < -1) return false;
    if (key_bytes >= 0) {
      if (static_cast<std::size_t>(key_bytes) > record.size() - at) return false;
      view.key = record.subspan(at, static_cast<std::size_t>(key_bytes));
      at += static_cast<std::size_t>(key_bytes);
    }
    if (!read_varint(record, &at, &value_bytes) || value_bytes < -1) return false;
    if (value_bytes >= 0) {
      if (static_cast<std::size_t>(value_bytes) > record.size() - at) return false;
      view.value = record.subspan(at, static_cast<std::size_t>(value_bytes));
      at += static_cast<std::size_t>(value_bytes);
    }
    if (!read_varint(record, &at, &header_count) || header_count < 0) return false;
    visit(view);
  }
  return position == area.size();
}

}  // namespace sluice::protocol
