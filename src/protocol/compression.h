// Decompression of the records of a compressed RecordBatch v2 (the bytes after the 61-byte header),
// for the few read paths that must look inside a batch, as Kafka does: ListOffsets by timestamp,
// ListOffsets -3 (max timestamp) and log compaction; and compression, for log compaction only (the
// cleaner rebuilds a batch with its original codec). Never used on the produce or fetch paths:
// batches are stored and served exactly as produced. Pure functions; any thread may call.
//
// Codecs (attributes & 7), as Kafka's clients write them:
//   1 gzip   a gzip stream (several members are accepted, like java.util.zip.GZIPInputStream)
//   2 snappy xerial snappy-java framing ("\x82SNAPPY\0", version, compatible version, then
//            big-endian length-prefixed raw snappy blocks), or one raw snappy block without the
//            magic, as librdkafka accepts
//   3 lz4    LZ4 frame format (magic 2 batches only: not old Kafka's broken header checksum)
//   4 zstd   zstd frames, decoded by streaming (frames may omit the content size)
// The output never grows past output_bytes_max: a payload that decompresses to more fails cleanly,
// as does any truncated or malformed input.
#pragma once

#include <climits>
#include <cstddef>
#include <span>
#include <vector>

#include "base/status.h"

namespace sluice {

// The default bound for one batch's decompressed records on the ListOffsets path.
inline constexpr std::size_t decompressed_records_bytes_max = 64 * 1024 * 1024;
// The largest bound a caller may ask for (keeps output_bytes_max + 1 far from overflow).
inline constexpr std::size_t decompressed_records_bytes_limit = std::size_t{1} << 30;

// Requires: codec in 1..4 (others fail), output_bytes_max <= decompressed_records_bytes_limit.
// Returns the decompressed bytes, or a failed Status naming the codec and the problem.
Result<std::vector<std::byte>> decompress_records(int codec, std::span<const std::byte> payload,
                                                  std::size_t output_bytes_max);

// compress_records' default level: the codec's default in Kafka 3.8+ (what its log cleaner uses
// when it rebuilds a batch): gzip 6 (Deflater.DEFAULT_COMPRESSION), lz4 9 (LZ4 HC), zstd 3.
inline constexpr int compression_level_default = INT_MIN;

// Compresses a record area as Kafka's clients and its log cleaner write it, so any Kafka consumer
// reads the result and decompress_records round-trips it:
//   1 gzip   one gzip member (RFC 1952), deflate at `level` (1..9)
//   2 snappy xerial snappy-java stream: the 16-byte header (magic, version 1, compatible version 1),
//            then the input in 32 KiB blocks (SnappyOutputStream's default), each a big-endian i32
//            length and a raw snappy block; `level` is ignored
//   3 lz4    one LZ4 frame as Kafka's Lz4BlockOutputStream: 64 KiB independent blocks, no block or
//            content checksum, no content size; `level` 0..2 fast, 3..12 HC
//   4 zstd   one zstd frame at `level`
// Requires: codec in 1..4 (others fail). Empty input gives a valid empty stream of the codec.
// Fails only when a library call fails (out of memory) or the input is over 2 GiB.
Result<std::vector<std::byte>> compress_records(int codec, std::span<const std::byte> records,
                                                int level = compression_level_default);

}  // namespace sluice
