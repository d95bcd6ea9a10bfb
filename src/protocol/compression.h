// Decompression of the records of a compressed RecordBatch v2 (the bytes after the 61-byte header),
// for the few read paths that must look inside a batch, as Kafka does: ListOffsets by timestamp and
// ListOffsets -3 (max timestamp). Never used on the produce or fetch paths: batches are stored and
// served exactly as produced. Pure functions; any thread may call.
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

}  // namespace sluice
