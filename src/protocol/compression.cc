#include "protocol/compression.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include "base/assert.h"
#include "base/endian.h"

namespace sluice {
namespace {

constexpr std::size_t output_bytes_initial = 16 * 1024;

// The output of one decompression: a buffer that grows by doubling, up to limit + 1 bytes, so a
// payload that expands past the limit is seen as soon as it produces one byte too many.
class Output {
 public:
  Output(std::size_t limit, std::size_t hint) : limit_(limit) {
    bytes_.resize(std::min(std::max(hint, output_bytes_initial), limit_ + 1));
  }
  // Makes room for at least one more byte; false when the output already exceeds the limit.
  bool reserve_room() {
    if (used_ < bytes_.size()) return true;
    if (used_ > limit_) return false;
    bytes_.resize(std::min(bytes_.size() * 2, limit_ + 1));
    return true;
  }
  // Makes room for exactly `bytes` more; false when that would pass the limit.
  bool reserve_exact(std::size_t bytes) {
    if (bytes > limit_ || used_ > limit_ - bytes) return false;
    if (room() < bytes) bytes_.resize(std::max(used_ + bytes, std::min(bytes_.size() * 2, limit_)));
    return true;
  }
  std::byte* tail() { return bytes_.data() + used_; }
  std::size_t room() const { return bytes_.size() - used_; }
  void produced(std::size_t bytes) {
    SLUICE_ASSERT(bytes <= room(), "bytes=%zu room=%zu", bytes, room());
    used_ += bytes;
  }
  bool over_limit() const { return used_ > limit_; }
  std::vector<std::byte> take() && {
    bytes_.resize(used_);
    return std::move(bytes_);
  }

 private:
  std::size_t limit_;
  std::size_t used_ = 0;
  std::vector<std::byte> bytes_;
};

Status too_large(const char* codec, std::size_t limit) {
  return Status::error(std::string(codec) + ": decompressed records exceed " + std::to_string(limit) + " bytes");
}

Status malformed(const char* codec, const std::string& why) {
  return Status::error(std::string(codec) + ": " + why);
}

bool is_gzip_member(const z_stream& stream) {
  return stream.avail_in >= 2 && stream.next_in[0] == 0x1f && stream.next_in[1] == 0x8b;
}

Result<std::vector<std::byte>> gunzip(std::span<const std::byte> payload, std::size_t limit) {
  if (payload.size() > UINT_MAX) return malformed("gzip", "payload too large");
  z_stream stream{};
  // 15 + 32: a 32 KiB window, and zlib detects the gzip (or zlib) header itself.
  if (inflateInit2(&stream, 15 + 32) != Z_OK) return malformed("gzip", "inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, inflateEnd);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(payload.data()));
  stream.avail_in = static_cast<uInt>(payload.size());
  Output out(limit, payload.size() * 4);
  for (;;) {
    if (!out.reserve_room()) return too_large("gzip", limit);
    const std::size_t room = std::min<std::size_t>(out.room(), UINT_MAX);
    stream.next_out = reinterpret_cast<Bytef*>(out.tail());
    stream.avail_out = static_cast<uInt>(room);
    int rc = inflate(&stream, Z_NO_FLUSH);
    out.produced(room - stream.avail_out);
    if (out.over_limit()) return too_large("gzip", limit);
    if (rc == Z_OK) continue;
    if (rc != Z_STREAM_END) return malformed("gzip", stream.avail_in == 0 ? "truncated stream" : "corrupt stream");
    // Like GZIPInputStream: another member may follow; anything else after the end is ignored.
    if (!is_gzip_member(stream)) break;
    if (inflateReset(&stream) != Z_OK) return malformed("gzip", "inflateReset failed");
  }
  return std::move(out).take();
}

// The xerial snappy-java stream header: magic, then version and compatible version (i32 BE each).
constexpr unsigned char xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr std::size_t xerial_header_bytes = 16;
constexpr std::size_t xerial_block_length_bytes = 4;

// One raw snappy block appended to *out.
Status unsnappy_block(std::span<const std::byte> block, Output* out, std::size_t limit) {
  const char* data = reinterpret_cast<const char*>(block.data());
  std::size_t bytes = 0;
  if (snappy_uncompressed_length(data, block.size(), &bytes) != SNAPPY_OK) return malformed("snappy", "bad block header");
  if (!out->reserve_exact(bytes)) return too_large("snappy", limit);
  std::size_t written = bytes;
  // snappy checks every copy against the declared length, so hostile blocks fail here.
  if (snappy_uncompress(data, block.size(), reinterpret_cast<char*>(out->tail()), &written) != SNAPPY_OK ||
      written != bytes)
    return malformed("snappy", "corrupt block");
  out->produced(written);
  return Status::ok();
}

bool has_xerial_header(std::span<const std::byte> payload) {
  return payload.size() >= xerial_header_bytes && std::memcmp(payload.data(), xerial_magic, sizeof xerial_magic) == 0;
}

Result<std::vector<std::byte>> unsnappy(std::span<const std::byte> payload, std::size_t limit) {
  Output out(limit, 0);
  if (!has_xerial_header(payload)) {
    if (Status s = unsnappy_block(payload, &out, limit); !s.is_ok()) return s;
    return std::move(out).take();
  }
  // The version fields are not checked, as in snappy-java and librdkafka.
  std::size_t pos = xerial_header_bytes;
  while (pos < payload.size()) {
    if (payload.size() - pos < xerial_block_length_bytes) return malformed("snappy", "truncated block length");
    std::size_t block_bytes = load_be32(payload.data() + pos);
    pos += xerial_block_length_bytes;
    if (block_bytes > payload.size() - pos) return malformed("snappy", "truncated block");
    if (Status s = unsnappy_block(payload.subspan(pos, block_bytes), &out, limit); !s.is_ok()) return s;
    pos += block_bytes;
  }
  return std::move(out).take();
}

Result<std::vector<std::byte>> unlz4(std::span<const std::byte> payload, std::size_t limit) {
  LZ4F_dctx* context = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&context, LZ4F_VERSION))) return malformed("lz4", "no context");
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> guard(context, LZ4F_freeDecompressionContext);
  Output out(limit, payload.size() * 4);
  std::size_t pos = 0;
  for (;;) {
    if (!out.reserve_room()) return too_large("lz4", limit);
    std::size_t dst_bytes = out.room();
    std::size_t src_bytes = payload.size() - pos;
    std::size_t hint = LZ4F_decompress(context, out.tail(), &dst_bytes, payload.data() + pos, &src_bytes, nullptr);
    if (LZ4F_isError(hint)) return malformed("lz4", LZ4F_getErrorName(hint));
    pos += src_bytes;
    out.produced(dst_bytes);
    if (out.over_limit()) return too_large("lz4", limit);
    if (hint == 0 && pos == payload.size()) break;  // the last frame ended with the payload
    if (hint != 0 && src_bytes == 0 && dst_bytes == 0) return malformed("lz4", "truncated frame");
    // Otherwise: more output is pending, more input follows, or another frame starts at pos.
  }
  return std::move(out).take();
}

Result<std::vector<std::byte>> unzstd(std::span<const std::byte> payload, std::size_t limit) {
  // Streaming, since Kafka's zstd-jni writes frames without a content size. The decoder's window
  // is bounded by zstd's default windowLogMax (2^27 bytes), whatever a frame header claims.
  std::unique_ptr<ZSTD_DCtx, std::size_t (*)(ZSTD_DCtx*)> context(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!context) return malformed("zstd", "no context");
  ZSTD_inBuffer in{payload.data(), payload.size(), 0};
  Output out(limit, payload.size() * 4);
  for (;;) {
    if (!out.reserve_room()) return too_large("zstd", limit);
    ZSTD_outBuffer buffer{out.tail(), out.room(), 0};
    std::size_t hint = ZSTD_decompressStream(context.get(), &buffer, &in);
    if (ZSTD_isError(hint)) return malformed("zstd", ZSTD_getErrorName(hint));
    out.produced(buffer.pos);
    if (out.over_limit()) return too_large("zstd", limit);
    if (hint == 0 && in.pos == in.size) break;  // the last frame ended with the payload
    // Room left in the output and no input left: the frame is cut short.
    if (hint != 0 && in.pos == in.size && buffer.pos < buffer.size) return malformed("zstd", "truncated frame");
  }
  return std::move(out).take();
}

}  // namespace

Result<std::vector<std::byte>> decompress_records(int codec, std::span<const std::byte> payload,
                                                  std::size_t output_bytes_max) {
  SLUICE_ASSERT(output_bytes_max <= decompressed_records_bytes_limit, "output_bytes_max=%zu", output_bytes_max);
  switch (codec) {
    case 1: return gunzip(payload, output_bytes_max);
    case 2: return unsnappy(payload, output_bytes_max);
    case 3: return unlz4(payload, output_bytes_max);
    case 4: return unzstd(payload, output_bytes_max);
    default: return Status::error("unknown compression codec " + std::to_string(codec));
  }
}

// ---------------------------------------------------------------- compression (log cleaner)

namespace {

constexpr std::size_t snappy_xerial_block_bytes = 32 * 1024;  // snappy-java's default block size
constexpr std::size_t compress_input_bytes_max = std::size_t{INT_MAX};

Result<std::vector<std::byte>> gzip(std::span<const std::byte> in, int level) {
  if (level == compression_level_default) level = 6;
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return malformed("gzip", "deflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, deflateEnd);
  std::vector<std::byte> out(deflateBound(&stream, static_cast<uLong>(in.size())));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  stream.avail_in = static_cast<uInt>(in.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  // deflateBound promises room for the whole stream, so one Z_FINISH call ends it.
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) return malformed("gzip", "deflate did not finish");
  out.resize(stream.total_out);
  return out;
}

Result<std::vector<std::byte>> snappy_xerial(std::span<const std::byte> in) {
  static constexpr unsigned char header[xerial_header_bytes] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                                                               0,    0,   0,   1,   0,   0,   0,   1};
  std::size_t blocks = (in.size() + snappy_xerial_block_bytes - 1) / snappy_xerial_block_bytes;
  std::vector<std::byte> out(xerial_header_bytes +
                             blocks * (xerial_block_length_bytes + snappy_max_compressed_length(snappy_xerial_block_bytes)));
  std::memcpy(out.data(), header, sizeof header);
  std::size_t used = xerial_header_bytes;
  for (std::size_t pos = 0; pos < in.size(); pos += snappy_xerial_block_bytes) {
    std::size_t chunk = std::min(snappy_xerial_block_bytes, in.size() - pos);
    std::size_t bytes = snappy_max_compressed_length(chunk);
    char* block = reinterpret_cast<char*>(out.data() + used + xerial_block_length_bytes);
    if (snappy_compress(reinterpret_cast<const char*>(in.data() + pos), chunk, block, &bytes) != SNAPPY_OK)
      return malformed("snappy", "compress failed");
    store_be32(out.data() + used, static_cast<std::uint32_t>(bytes));
    used += xerial_block_length_bytes + bytes;
  }
  out.resize(used);
  return out;
}

Result<std::vector<std::byte>> lz4_frame(std::span<const std::byte> in, int level) {
  if (level == compression_level_default) level = 9;
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.compressionLevel = level;
  std::vector<std::byte> out(LZ4F_compressFrameBound(in.size(), &prefs));
  std::size_t bytes = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(bytes)) return malformed("lz4", LZ4F_getErrorName(bytes));
  out.resize(bytes);
  return out;
}

Result<std::vector<std::byte>> zstd_frame(std::span<const std::byte> in, int level) {
  if (level == compression_level_default) level = 3;
  std::vector<std::byte> out(ZSTD_compressBound(in.size()));
  std::size_t bytes = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
  if (ZSTD_isError(bytes)) return malformed("zstd", ZSTD_getErrorName(bytes));
  out.resize(bytes);
  return out;
}

}  // namespace

Result<std::vector<std::byte>> compress_records(int codec, std::span<const std::byte> records, int level) {
  if (records.size() > compress_input_bytes_max) return Status::error("compress: input over 2 GiB");
  switch (codec) {
    case 1: return gzip(records, level);
    case 2: return snappy_xerial(records);
    case 3: return lz4_frame(records, level);
    case 4: return zstd_frame(records, level);
    default: return Status::error("unknown compression codec " + std::to_string(codec));
  }
}

}  // namespace sluice
