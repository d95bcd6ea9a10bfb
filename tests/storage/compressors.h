// Test helper: compresses bytes the way Kafka's clients do (gzip stream, xerial-framed or raw
// snappy, LZ4 frame, zstd frame with or without a content size) using the libraries' compressors
// directly, and builds RecordBatch v2 bytes whose records are really compressed, so tests can
// check the broker's decompression without a Kafka client.
#pragma once

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "base/crc32c.h"
#include "base/endian.h"
#include "batch_builder.h"

namespace sluice::test {

inline std::vector<std::byte> gzip_compress(const std::vector<std::byte>& in) {
  z_stream s{};
  if (deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  std::vector<std::byte> out(deflateBound(&s, static_cast<uLong>(in.size())) + 64);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&s, Z_FINISH);
  deflateEnd(&s);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(s.total_out);
  return out;
}

inline std::vector<std::byte> snappy_raw_compress(const std::byte* in, std::size_t bytes) {
  std::size_t out_bytes = snappy_max_compressed_length(bytes);
  std::vector<std::byte> out(out_bytes);
  if (snappy_compress(reinterpret_cast<const char*>(in), bytes, reinterpret_cast<char*>(out.data()), &out_bytes) !=
      SNAPPY_OK)
    throw std::runtime_error("snappy_compress");
  out.resize(out_bytes);
  return out;
}

// snappy-java's SnappyOutputStream: magic, version 1, compatible version 1, then blocks of at most
// block_bytes input, each as a big-endian i32 length and a raw snappy block.
inline std::vector<std::byte> snappy_xerial_compress(const std::vector<std::byte>& in, std::size_t block_bytes = 32768) {
  const unsigned char header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  std::vector<std::byte> out(reinterpret_cast<const std::byte*>(header), reinterpret_cast<const std::byte*>(header) + 16);
  for (std::size_t pos = 0; pos < in.size(); pos += block_bytes) {
    auto block = snappy_raw_compress(in.data() + pos, std::min(block_bytes, in.size() - pos));
    std::byte length[4];
    store_be32(length, static_cast<std::uint32_t>(block.size()));
    out.insert(out.end(), length, length + 4);
    out.insert(out.end(), block.begin(), block.end());
  }
  return out;
}

inline std::vector<std::byte> lz4_frame_compress(const std::vector<std::byte>& in) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;  // Kafka's KafkaLZ4BlockOutputStream default
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  std::vector<std::byte> out(LZ4F_compressFrameBound(in.size(), &prefs));
  std::size_t bytes = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(bytes)) throw std::runtime_error("LZ4F_compressFrame");
  out.resize(bytes);
  return out;
}

// with_content_size = false writes frames as zstd-jni's stream does: no content size.
inline std::vector<std::byte> zstd_compress(const std::vector<std::byte>& in, bool with_content_size) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, with_content_size ? 1 : 0);
  std::vector<std::byte> out(ZSTD_compressBound(in.size()) + 64);
  std::size_t bytes = ZSTD_compress2(cctx, out.data(), out.size(), in.data(), in.size());
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(bytes)) throw std::runtime_error("ZSTD_compress2");
  out.resize(bytes);
  return out;
}

inline std::vector<std::byte> compress_for_codec(int codec, const std::vector<std::byte>& in) {
  switch (codec) {
    case 1: return gzip_compress(in);
    case 2: return snappy_xerial_compress(in);
    case 3: return lz4_frame_compress(in);
    case 4: return zstd_compress(in, false);
    default: throw std::runtime_error("codec");
  }
}

// The record area of records with these timestamp deltas (offset deltas 0..n-1).
inline std::vector<std::byte> build_records(const std::vector<std::int64_t>& timestamp_deltas, int value_bytes) {
  std::vector<std::byte> records;
  for (std::size_t i = 0; i < timestamp_deltas.size(); ++i) {
    auto record = build_record(static_cast<int>(i), timestamp_deltas[i], value_bytes);
    records.insert(records.end(), record.begin(), record.end());
  }
  return records;
}

// A batch whose record i has timestamp base_timestamp + timestamp_deltas[i], compressed with codec
// (0: none), maxTimestamp the largest of them, and a correct CRC. Base offset 0.
inline std::vector<std::byte> build_compressed_batch(int codec, std::int64_t base_timestamp,
                                                     const std::vector<std::int64_t>& timestamp_deltas,
                                                     int value_bytes = 20) {
  auto records = build_records(timestamp_deltas, value_bytes);
  auto payload = codec == 0 ? records : compress_for_codec(codec, records);
  std::vector<std::byte> batch(61 + payload.size());
  std::byte* p = batch.data();
  const int count = static_cast<int>(timestamp_deltas.size());
  const std::int64_t max_delta = *std::max_element(timestamp_deltas.begin(), timestamp_deltas.end());
  store_be64(p + 0, 0);
  store_be32(p + 8, static_cast<std::uint32_t>(batch.size() - 12));
  store_be32(p + 12, static_cast<std::uint32_t>(-1));
  p[16] = std::byte{2};
  store_be16(p + 21, static_cast<std::uint16_t>(codec));
  store_be32(p + 23, static_cast<std::uint32_t>(count - 1));
  store_be64(p + 27, static_cast<std::uint64_t>(base_timestamp));
  store_be64(p + 35, static_cast<std::uint64_t>(base_timestamp + max_delta));
  store_be64(p + 43, static_cast<std::uint64_t>(-1));
  store_be16(p + 51, static_cast<std::uint16_t>(-1));
  store_be32(p + 53, static_cast<std::uint32_t>(-1));
  store_be32(p + 57, static_cast<std::uint32_t>(count));
  std::copy(payload.begin(), payload.end(), batch.begin() + 61);
  store_be32(p + 17, crc32c(p + 21, batch.size() - 21));
  return batch;
}

}  // namespace sluice::test
