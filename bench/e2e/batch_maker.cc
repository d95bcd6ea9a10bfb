#include "batch_maker.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"
#include "perf_options.h"
#include "protocol/record_batch.h"

namespace sluice::perf {
namespace {

namespace field = sluice::record_batch_field;

void put_varint(std::vector<std::byte>& out, std::int64_t value) {
  auto v = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
}

std::size_t varint_size(std::int64_t value) {
  auto v = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  std::size_t bytes = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++bytes;
  }
  return bytes;
}

// Reads a zigzag varint at p (bounded by end); false when it runs off the end.
bool get_varint(const std::byte*& p, const std::byte* end, std::int64_t* value) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    auto byte = static_cast<std::uint8_t>(*p++);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
      return true;
    }
  }
  return false;
}

constexpr char stamp_marker[4] = {'s', 'p', 'r', 'f'};

}  // namespace

BatchMaker::BatchMaker(const BatchShape& shape, std::uint64_t seed) : shape_(shape), state_(seed | 1) {
  SLUICE_ASSERT(shape.record_count >= 1);
  SLUICE_ASSERT(shape.value_bytes >= 0 && shape.key_bytes >= 0);
  SLUICE_ASSERT(shape.partitions >= 1);
  if (shape_.key_bytes > 0 && shape_.key_space < shape_.partitions) shape_.key_space = shape_.partitions;
  int pool_count = shape.compression == 0 ? 1 : 8;
  for (int i = 0; i < pool_count; ++i) pool_.push_back(build(shape.compression != 0));
}

std::uint64_t BatchMaker::random() {  // xorshift64*
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 0x2545F4914F6CDD1DULL;
}

void BatchMaker::fill_letters(std::byte* p, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; i += 16) {
    std::uint64_t r = random();
    for (std::size_t j = i; j < bytes && j < i + 16; ++j, r >>= 4)
      p[j] = static_cast<std::byte>('a' + (r & 15));
  }
}

std::uint64_t BatchMaker::payload_bytes() const {
  return static_cast<std::uint64_t>(shape_.record_count) *
         static_cast<std::uint64_t>(shape_.value_bytes + shape_.key_bytes);
}

std::size_t BatchMaker::batch_bytes_max() const {
  std::size_t bytes = 0;
  for (const auto& batch : pool_) bytes = std::max(bytes, batch.size());
  return bytes;
}

// Lays out header + records; keys get a random id of partition 0 (rewritten per send when
// uncompressed). When compress, the record area is replaced by its compressed form.
std::vector<std::byte> BatchMaker::build(bool compress) {
  std::vector<std::byte> batch(record_batch_header_bytes);
  key_positions_.clear();
  for (int i = 0; i < shape_.record_count; ++i) {
    std::int64_t key_length = shape_.key_bytes > 0 ? shape_.key_bytes : -1;
    std::size_t body = 1 + varint_size(0) + varint_size(i) + varint_size(key_length) +
                       static_cast<std::size_t>(shape_.key_bytes) + varint_size(shape_.value_bytes) +
                       static_cast<std::size_t>(shape_.value_bytes) + varint_size(0);
    put_varint(batch, static_cast<std::int64_t>(body));
    batch.push_back(std::byte{0});  // record attributes
    put_varint(batch, 0);           // timestamp delta
    put_varint(batch, i);           // offset delta
    put_varint(batch, key_length);
    key_positions_.push_back(batch.size());
    batch.resize(batch.size() + static_cast<std::size_t>(shape_.key_bytes));
    put_varint(batch, shape_.value_bytes);
    if (i == 0) first_value_position_ = batch.size();
    std::size_t value_position = batch.size();
    batch.resize(batch.size() + static_cast<std::size_t>(shape_.value_bytes));
    fill_letters(batch.data() + value_position, static_cast<std::size_t>(shape_.value_bytes));
    put_varint(batch, 0);  // headers
  }
  write_keys(batch, 0);
  std::int16_t attributes = 0;
  if (compress) {
    std::vector<std::byte> packed = compress_records(
        shape_.compression, std::span<const std::byte>(batch).subspan(record_batch_header_bytes));
    batch.resize(record_batch_header_bytes);
    batch.insert(batch.end(), packed.begin(), packed.end());
    attributes = static_cast<std::int16_t>(shape_.compression);
  }
  std::byte* h = batch.data();
  store_be64(h + field::base_offset, 0);
  store_be32(h + field::batch_length, static_cast<std::uint32_t>(batch.size() - record_batch_log_overhead_bytes));
  store_be32(h + field::partition_leader_epoch, static_cast<std::uint32_t>(-1));
  h[field::magic] = std::byte{2};
  store_be16(h + field::attributes, static_cast<std::uint16_t>(attributes));
  store_be32(h + field::last_offset_delta, static_cast<std::uint32_t>(shape_.record_count - 1));
  store_be64(h + field::producer_id, static_cast<std::uint64_t>(-1));
  store_be16(h + field::producer_epoch, static_cast<std::uint16_t>(-1));
  store_be32(h + field::base_sequence, static_cast<std::uint32_t>(-1));
  store_be32(h + field::record_count, static_cast<std::uint32_t>(shape_.record_count));
  return batch;
}

void BatchMaker::write_keys(std::vector<std::byte>& batch, std::uint32_t partition) {
  if (shape_.key_bytes <= 0) return;
  std::uint32_t keys_per_partition = shape_.key_space / shape_.partitions;
  for (std::size_t position : key_positions_) {
    std::uint64_t key = partition + shape_.partitions * (random() % keys_per_partition);
    // A fixed-width decimal key ("000000042"), padded on the left.
    std::byte* p = batch.data() + position;
    for (int i = shape_.key_bytes - 1; i >= 0; --i, key /= 10) p[i] = static_cast<std::byte>('0' + key % 10);
  }
}

std::span<const std::byte> BatchMaker::next(std::uint32_t partition, std::int64_t stamp_ns, std::int64_t wall_ms) {
  std::vector<std::byte>& batch = pool_[pool_next_];
  pool_next_ = (pool_next_ + 1) % pool_.size();
  if (shape_.compression == 0) {
    write_keys(batch, partition);
    if (carries_stamp()) {
      std::memcpy(batch.data() + first_value_position_, stamp_marker, 4);
      std::memcpy(batch.data() + first_value_position_ + 4, &stamp_ns, 8);
    }
  }
  store_be64(batch.data() + field::base_timestamp, static_cast<std::uint64_t>(wall_ms));
  store_be64(batch.data() + field::max_timestamp, static_cast<std::uint64_t>(wall_ms));
  store_be32(batch.data() + field::crc, compute_record_batch_crc(batch.data(), batch.size()));
  return batch;
}

bool read_stamp(std::span<const std::byte> batch, std::int64_t* stamp_ns) {
  if (batch.size() < record_batch_header_bytes) return false;
  if ((load_be16(batch.data() + field::attributes) & 7) != 0) return false;
  const std::byte* p = batch.data() + record_batch_header_bytes;
  const std::byte* end = batch.data() + batch.size();
  std::int64_t length, delta, key_length, value_length;
  if (!get_varint(p, end, &length) || p >= end) return false;
  ++p;  // record attributes
  if (!get_varint(p, end, &delta) || !get_varint(p, end, &delta) || !get_varint(p, end, &key_length)) return false;
  if (key_length > 0) p += key_length;
  if (p > end || !get_varint(p, end, &value_length)) return false;
  if (value_length < static_cast<std::int64_t>(stamp_bytes) || end - p < value_length) return false;
  if (std::memcmp(p, stamp_marker, 4) != 0) return false;
  std::memcpy(stamp_ns, p + 4, 8);
  return true;
}

std::vector<std::byte> compress_records(int codec, std::span<const std::byte> area) {
  std::vector<std::byte> out;
  std::size_t written = 0;
  if (codec == 1) {
    z_stream stream{};
    if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      fail("gzip: deflateInit2 failed");
    out.resize(deflateBound(&stream, area.size()) + 32);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(area.data()));
    stream.avail_in = static_cast<uInt>(area.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    if (deflate(&stream, Z_FINISH) != Z_STREAM_END) fail("gzip: deflate did not finish");
    written = stream.total_out;
    deflateEnd(&stream);
  } else if (codec == 2) {
    std::size_t length = snappy_max_compressed_length(area.size());
    out.resize(length);
    if (snappy_compress(reinterpret_cast<const char*>(area.data()), area.size(), reinterpret_cast<char*>(out.data()),
                        &length) != SNAPPY_OK)
      fail("snappy: compress failed");
    written = length;
  } else if (codec == 3) {
    out.resize(LZ4F_compressFrameBound(area.size(), nullptr));
    written = LZ4F_compressFrame(out.data(), out.size(), area.data(), area.size(), nullptr);
    if (LZ4F_isError(written)) fail("lz4: %s", LZ4F_getErrorName(written));
  } else if (codec == 4) {
    out.resize(ZSTD_compressBound(area.size()));
    written = ZSTD_compress(out.data(), out.size(), area.data(), area.size(), 3);
    if (ZSTD_isError(written)) fail("zstd: %s", ZSTD_getErrorName(written));
  } else {
    fail("unknown compression codec %d", codec);
  }
  out.resize(written);
  return out;
}

}  // namespace sluice::perf
