#include "protocol/codec.h"

#include <algorithm>

namespace sluice::protocol {

std::size_t Writer::wire_bytes() const {
  std::size_t total = buffer_.size();
  for (const auto& file : files_) total += file.bytes;
  return total;
}

std::uint64_t Reader::get_uvarint() {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (!need(1)) return 0;
    auto byte = static_cast<std::uint8_t>(data_[position_++]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  fail();  // more than ten bytes: not a varint
  return 0;
}

void Encoder::write_length(std::int64_t length, LengthKind kind) {
  SLUICE_ASSERT(length >= 0);
  if (flexible_) return writer_.put_uvarint(static_cast<std::uint64_t>(length) + 1);
  if (kind == LengthKind::string16) {
    SLUICE_ASSERT(length <= INT16_MAX, "string of %lld bytes", static_cast<long long>(length));
    return writer_.put_i16(static_cast<std::int16_t>(length));
  }
  SLUICE_ASSERT(length <= INT32_MAX);
  writer_.put_i32(static_cast<std::int32_t>(length));
}

void Encoder::write_null(LengthKind kind) {
  if (flexible_) return writer_.put_uvarint(0);
  if (kind == LengthKind::string16) return writer_.put_i16(-1);
  writer_.put_i32(-1);
}

void Encoder::write(const Records& v) {
  if (v.is_null) return write_null(LengthKind::int32);
  write_length(static_cast<std::int64_t>(v.size()), LengthKind::int32);
  if (v.file_fd >= 0) {
    writer_.add_file(v.file_fd, v.file_position, v.file_bytes, v.file_owner);
  } else {
    writer_.put_bytes(v.bytes.data(), v.bytes.size());
  }
}

void Encoder::write_tags(std::vector<TaggedBytes>& tags) {
  std::sort(tags.begin(), tags.end(), [](const auto& a, const auto& b) { return a.tag < b.tag; });
  writer_.put_uvarint(tags.size());
  for (const auto& tagged : tags) {
    writer_.put_uvarint(tagged.tag);
    writer_.put_uvarint(tagged.bytes.size());
    writer_.put_bytes(tagged.bytes.data(), tagged.bytes.size());
  }
}

namespace {
// Compact lengths are uvarint n+1. Any value above 2^31 is invalid anyway; clamping before the
// subtraction keeps a hostile 64-bit value from overflowing int64.
std::int64_t compact_length(std::uint64_t encoded) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(encoded, std::uint64_t{1} << 40)) - 1;
}
}  // namespace

std::int64_t Decoder::read_length() {
  std::int64_t length = flexible_ ? compact_length(reader_.get_uvarint()) : reader_.get_i32();
  if (length < -1 || length > INT32_MAX) {
    reader_.fail();
    return -1;
  }
  return length;
}

std::int64_t Decoder::read_string_length() {
  std::int64_t length = flexible_ ? compact_length(reader_.get_uvarint()) : reader_.get_i16();
  if (length < -1 || length > INT16_MAX) {
    reader_.fail();
    return -1;
  }
  return length;
}

void Decoder::read(std::string& v) {
  std::int64_t length = read_string_length();
  if (length < 0) {
    // Null where a string is required. Kafka rejects it; we read it as empty and let the handler
    // judge the empty name (it is never a valid topic).
    v.clear();
    return;
  }
  auto span = reader_.get_span(static_cast<std::size_t>(length));
  v.assign(reinterpret_cast<const char*>(span.data()), span.size());
}

void Decoder::read(std::optional<std::string>& v) {
  std::int64_t length = read_string_length();
  if (length < 0) {
    v.reset();
    return;
  }
  auto span = reader_.get_span(static_cast<std::size_t>(length));
  v.emplace(reinterpret_cast<const char*>(span.data()), span.size());
}

void Decoder::read(std::vector<std::byte>& v) {
  std::int64_t length = read_length();
  if (length < 0) {
    v.clear();
    return;
  }
  auto span = reader_.get_span(static_cast<std::size_t>(length));
  v.assign(span.begin(), span.end());
}

void Decoder::read(Records& v) {
  std::int64_t length = read_length();
  if (length < 0) {
    v = Records{};
    return;
  }
  v.is_null = false;
  v.bytes = reader_.get_span(static_cast<std::size_t>(length));
}

void Decoder::read_tags(std::vector<TagSlot>& slots) {
  std::uint64_t count = reader_.get_uvarint();
  if (count > reader_.remaining()) return reader_.fail();
  for (std::uint64_t i = 0; i < count && reader_.ok(); ++i) {
    std::uint64_t tag = reader_.get_uvarint();
    std::uint64_t bytes = reader_.get_uvarint();
    if (!reader_.need(bytes)) return;
    auto slot = std::find_if(slots.begin(), slots.end(), [&](const TagSlot& s) { return s.tag == tag; });
    if (slot == slots.end()) {
      reader_.skip(bytes);  // an unknown tag: skipping it is the point of tagged fields
      continue;
    }
    Reader sub(reader_.cursor(), bytes);
    Decoder decoder(sub, version_, flexible_);
    slot->decode(decoder, slot->target);
    if (!sub.ok()) return reader_.fail();
    reader_.skip(bytes);
  }
}

}  // namespace sluice::protocol
