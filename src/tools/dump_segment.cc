// dump-log for .log segment files: one line per batch in Kafka's DumpLogSegments format, records
// in deep mode, then the tail, the problems found and a summary.
#include <zlib.h>

#include <cinttypes>

#include "base/crc32c.h"
#include "base/endian.h"
#include "protocol/compression.h"
#include "tools/dump_internal.h"

namespace sluice::tools::dump {
namespace {

namespace fs = std::filesystem;

// At most this many problems are kept per file; the rest are counted.
constexpr std::size_t findings_max = 1000;
constexpr std::size_t crc_chunk_bytes = 1 << 20;

struct SegmentWalk {
  std::uint64_t position = 0;
  std::uint64_t batch_count = 0;
  std::uint64_t record_count = 0;
  std::uint64_t invalid_batch_count = 0;
  std::int64_t first_offset = -1;
  std::int64_t last_offset = -1;  // of the previous batch
  RecordOffsets record_offsets;
  std::vector<std::string> problems;
  std::uint64_t problems_dropped = 0;

  void problem(std::string text) {
    if (problems.size() < findings_max) problems.push_back(std::move(text));
    else ++problems_dropped;
  }
};

// CRC-32C over [from, to) of the file, read in chunks so a large batch needs no large buffer.
Result<std::uint32_t> crc32c_of_range(const ReadOnlyFile& file, std::uint64_t from, std::uint64_t to) {
  std::uint32_t crc = 0;
  std::vector<std::byte> chunk;
  for (std::uint64_t at = from; at < to;) {
    auto bytes = static_cast<std::size_t>(std::min<std::uint64_t>(crc_chunk_bytes, to - at));
    if (Status s = file.read(at, bytes, &chunk); !s.is_ok()) return s;
    crc = crc32c(chunk.data(), bytes, crc);
    at += bytes;
  }
  return crc;
}

void print_v2_line(Context& ctx, const RecordBatchHeader& h, std::uint64_t position, std::uint64_t bytes, bool valid) {
  std::string horizon = h.has_delete_horizon() ? "OptionalLong[" + std::to_string(h.base_timestamp) + "]"
                                               : "OptionalLong.empty";
  std::fprintf(ctx.out,
               "baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %d baseSequence: %d lastSequence: %d"
               " producerId: %" PRId64 " producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %s"
               " isControl: %s deleteHorizonMs: %s position: %" PRIu64 " %s: %" PRId64 " size: %" PRIu64
               " magic: %d compresscodec: %s crc: %u isvalid: %s\n",
               h.base_offset, last_offset_of(h), h.record_count, h.base_sequence,
               sequence_at(h.base_sequence, h.last_offset_delta), h.producer_id, h.producer_epoch,
               h.partition_leader_epoch, h.is_transactional() ? "true" : "false", h.is_control() ? "true" : "false",
               horizon.c_str(), position, timestamp_type_name(h), h.max_timestamp, bytes, h.magic,
               codec_name(h.compression()).c_str(), h.crc, valid ? "true" : "false");
}

// Checks of one v2 batch against the file and the batch before it; Kafka's tool checks only
// the CRC, these are ours.
void check_v2_batch(SegmentWalk& walk, const RecordBatchHeader& h, std::optional<std::int64_t> segment_base) {
  const std::string at = "batch at position " + std::to_string(walk.position);
  if (h.last_offset_delta < 0) walk.problem(at + " has lastOffsetDelta " + std::to_string(h.last_offset_delta));
  if (h.record_count < 0) walk.problem(at + " has count " + std::to_string(h.record_count));
  if (h.compression() > static_cast<int>(Compression::zstd))
    walk.problem(at + " has unknown compression codec " + std::to_string(h.compression()));
  if (walk.batch_count == 0 && segment_base && h.base_offset < *segment_base)
    walk.problem(at + " has baseOffset " + std::to_string(h.base_offset) + " below the segment's base offset " +
                 std::to_string(*segment_base));
  if (walk.batch_count > 0 && h.base_offset <= walk.last_offset)
    walk.problem(at + " has baseOffset " + std::to_string(h.base_offset) + " not above the previous lastOffset " +
                 std::to_string(walk.last_offset));
}

// One v2 batch: its line, its records in deep mode; returns false on an I/O error.
bool dump_v2_batch(Context& ctx, const ReadOnlyFile& file, SegmentWalk& walk, const BatchAt& at,
                   std::optional<std::int64_t> segment_base) {
  const RecordBatchHeader& h = at.header;
  auto crc = crc32c_of_range(file, walk.position + record_batch_crc_start, walk.position + at.bytes);
  if (!crc.is_ok()) return std::fprintf(ctx.err, "%s\n", crc.status().to_string().c_str()), false;
  const bool valid = crc.value() == h.crc;
  print_v2_line(ctx, h, walk.position, at.bytes, valid);
  if (!valid) {
    ++walk.invalid_batch_count;
    walk.problem("batch at position " + std::to_string(walk.position) + " fails its CRC (stored " +
                 std::to_string(h.crc) + ", computed " + std::to_string(crc.value()) + ")");
  }
  check_v2_batch(walk, h, segment_base);
  if (ctx.options.deep_iteration) {
    std::vector<std::byte> batch;
    if (at.bytes > decompressed_records_bytes_limit) {
      walk.problem("batch at position " + std::to_string(walk.position) + " is too large to decode");
    } else if (Status s = file.read(walk.position, static_cast<std::size_t>(at.bytes), &batch); !s.is_ok()) {
      return std::fprintf(ctx.err, "%s\n", s.to_string().c_str()), false;
    } else if (!print_batch_records(ctx, batch, h, &walk.record_offsets)) {
      walk.problem("records of the batch at position " + std::to_string(walk.position) + " do not decode");
    }
  }
  if (walk.first_offset < 0) walk.first_offset = h.base_offset;
  walk.last_offset = last_offset_of(h);
  walk.record_count += h.record_count > 0 ? static_cast<std::uint64_t>(h.record_count) : 0;
  return true;
}

// A magic 0/1 message set entry: offset i64, size i32, crc u32 (CRC-32 of magic..end), magic i8,
// attributes i8, timestamp i64 (v1 only), key, value. Printed as Kafka prints legacy batches.
bool dump_legacy_entry(Context& ctx, const ReadOnlyFile& file, SegmentWalk& walk, const BatchAt& at) {
  std::vector<std::byte> entry;
  if (Status s = file.read(walk.position, static_cast<std::size_t>(at.bytes), &entry); !s.is_ok())
    return std::fprintf(ctx.err, "%s\n", s.to_string().c_str()), false;
  const auto offset = static_cast<std::int64_t>(load_be64(entry.data()));
  const std::uint32_t stored = load_be32(entry.data() + 12);
  const auto magic = static_cast<int>(entry[16]);
  const auto attributes = static_cast<std::uint8_t>(entry[17]);
  const std::int64_t timestamp = magic == 1 ? static_cast<std::int64_t>(load_be64(entry.data() + 18)) : -1;
  const char* type = magic == 0 ? "NoTimestampType" : (attributes & 8) ? "LogAppendTime" : "CreateTime";
  const auto computed = static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(entry.data() + 16), static_cast<uInt>(entry.size() - 16)));
  std::fprintf(ctx.out, "offset: %" PRId64 " position: %" PRIu64 " %s: %" PRId64 " size: %" PRIu64
               " magic: %d compresscodec: %s crc: %u isvalid: %s\n",
               offset, walk.position, type, timestamp, at.bytes, magic, codec_name(attributes & 7).c_str(), stored,
               computed == stored ? "true" : "false");
  if (computed != stored) {
    ++walk.invalid_batch_count;
    walk.problem("message at position " + std::to_string(walk.position) + " fails its CRC");
  }
  if (ctx.options.deep_iteration) std::fprintf(ctx.out, "| (records of magic %d messages are not decoded)\n", magic);
  if (walk.first_offset < 0) walk.first_offset = offset;
  walk.last_offset = offset;
  ++walk.record_count;
  return true;
}

void print_findings(Context& ctx, const fs::path& path, const SegmentWalk& walk) {
  const RecordOffsets& offsets = walk.record_offsets;
  if (!offsets.non_consecutive.empty()) {
    std::fprintf(ctx.err, "Non-consecutive offsets in %s\n", fs::absolute(path).c_str());
    for (const auto& [first, second] : offsets.non_consecutive)
      std::fprintf(ctx.err, "  %" PRId64 " is followed by %" PRId64 "\n", first, second);
    if (offsets.non_consecutive_dropped > 0)
      std::fprintf(ctx.err, "  ... and %" PRIu64 " more\n", offsets.non_consecutive_dropped);
  }
  if (!walk.problems.empty()) {
    std::fprintf(ctx.err, "Found problems in %s\n", fs::absolute(path).c_str());
    for (const auto& text : walk.problems) std::fprintf(ctx.err, "  %s\n", text.c_str());
    if (walk.problems_dropped > 0) std::fprintf(ctx.err, "  ... and %" PRIu64 " more\n", walk.problems_dropped);
  }
}

// Walks the batches from position 0; returns false on an I/O error. Stops at the end, at
// --max-bytes, or at bytes that are not a batch (reported as Kafka's "invalid bytes").
bool walk_batches(Context& ctx, const fs::path& path, const ReadOnlyFile& file, SegmentWalk& walk) {
  const auto segment_base = base_offset_of(path);
  for (;;) {
    auto at = batch_at(file, walk.position);
    if (!at.is_ok()) return std::fprintf(ctx.err, "%s\n", at.status().to_string().c_str()), false;
    const BatchAt& batch = at.value();
    if (batch.shape == BatchShape::v2 || batch.shape == BatchShape::legacy) {
      if (walk.position + batch.bytes > ctx.options.log_bytes_max) {
        std::fprintf(ctx.out, "Stopped at position %" PRIu64 ": --max-bytes %" PRIu64 " reached\n", walk.position,
                     ctx.options.log_bytes_max);
        return true;
      }
      bool ok = batch.shape == BatchShape::v2 ? dump_v2_batch(ctx, file, walk, batch, segment_base)
                                               : dump_legacy_entry(ctx, file, walk, batch);
      if (!ok) return false;
      ++walk.batch_count;
      walk.position += batch.bytes;
      continue;
    }
    if (batch.shape == BatchShape::end && batch.why.empty()) return true;
    const std::uint64_t left = file.size() - walk.position;
    std::fprintf(ctx.out, "Found %" PRIu64 " invalid bytes at the end of %s (position %" PRIu64 ": %s)\n", left,
                 path.filename().c_str(), walk.position, batch.why.c_str());
    walk.problem(std::to_string(left) + " invalid bytes from position " + std::to_string(walk.position) + ": " +
                 batch.why);
    return true;
  }
}

}  // namespace

void dump_log_segment(Context& ctx, const fs::path& path) {
  auto file = ReadOnlyFile::open(path);
  if (!file.is_ok()) {
    std::fprintf(ctx.err, "%s\n", file.status().to_string().c_str());
    return ctx.unreadable();
  }
  if (auto base = base_offset_of(path)) std::fprintf(ctx.out, "Log starting offset: %" PRId64 "\n", *base);
  SegmentWalk walk;
  if (!walk_batches(ctx, path, file.value(), walk)) ctx.unreadable();
  std::fprintf(ctx.out,
               "Summary: batches: %" PRIu64 " records: %" PRIu64 " firstOffset: %" PRId64 " lastOffset: %" PRId64
               " validBytes: %" PRIu64 " fileBytes: %" PRIu64 " invalidBatches: %" PRIu64 "\n",
               walk.batch_count, walk.record_count, walk.first_offset, walk.batch_count ? walk.last_offset : -1,
               walk.position, file.value().size(), walk.invalid_batch_count);
  if (walk.record_offsets.non_increasing_count > 0)
    walk.problem(std::to_string(walk.record_offsets.non_increasing_count) +
                 " records have an offset at or below the offset before them");
  print_findings(ctx, path, walk);
  if (!walk.problems.empty()) ctx.problem();
}

}  // namespace sluice::tools::dump
