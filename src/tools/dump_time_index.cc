// dump-log for .timeindex files: entries, and Kafka's checks against the .log (the batch whose
// last offset is the entry's offset must exist and its largest record timestamp must be the
// entry's timestamp; timestamps must increase), or the broker's sanity check.
#include <cinttypes>

#include "base/endian.h"
#include "tools/dump_index.h"

namespace sluice::tools::dump {
namespace {

namespace fs = std::filesystem;

// Where to start scanning the log for the batch holding `offset`: the largest offset index
// entry at or below it (Kafka's index.lookup), else the start of the file.
std::uint64_t lookup_position(const std::optional<IndexFileBytes>& offset_index, std::size_t used, std::int64_t offset) {
  std::uint64_t position = 0;
  if (!offset_index) return 0;
  for (std::size_t i = 0; i < used; ++i) {
    OffsetEntry e = offset_entry(*offset_index, i);
    if (e.offset > offset) break;
    position = e.position;
  }
  return position;
}

struct FoundBatch {
  std::uint64_t position = 0;
  BatchAt at;
  std::int64_t last_offset = -1;  // -1: no batch with last offset >= the target
};

// Kafka's `batches.find(_.lastOffset >= entry.offset)` from `position`: scans batch headers
// (a bounded number: the file ends) until one ends at or after the target offset.
Result<FoundBatch> find_batch(const ReadOnlyFile& log, std::uint64_t position, std::int64_t offset) {
  FoundBatch found;
  while (position < log.size()) {
    auto at = batch_at(log, position);
    if (!at.is_ok()) return at.status();
    if (at.value().shape != BatchShape::v2 && at.value().shape != BatchShape::legacy) break;
    std::int64_t last = -1;
    if (at.value().shape == BatchShape::v2) {
      last = last_offset_of(at.value().header);
    } else {
      std::vector<std::byte> head;
      if (Status s = log.read(position, 8, &head); !s.is_ok()) return s;
      last = static_cast<std::int64_t>(load_be64(head.data()));
    }
    if (last >= offset) return FoundBatch{position, at.value(), last};
    position += at.value().bytes;
  }
  return found;
}

struct TimeChecks {
  IndexFindings mismatches, out_of_order, not_found;
};

// Checks one entry against the batch that holds its offset.
void check_entry(const Context& ctx, const ReadOnlyFile& log, const FoundBatch& found, const TimeEntry& e,
                 TimeChecks* checks) {
  if (found.last_offset != e.offset) {
    checks->not_found.add("Indexed offset: " + std::to_string(e.offset) +
                          ", found log offset: " + std::to_string(found.last_offset));
    return;
  }
  if (found.at.shape != BatchShape::v2) return;  // magic 0/1 records are not decoded
  if (found.at.bytes > ctx.options.message_bytes_max) {
    checks->mismatches.add("Index timestamp: " + std::to_string(e.timestamp) + ", log timestamp: unknown (batch of " +
                           std::to_string(found.at.bytes) + " bytes exceeds --max-message-size)");
    return;
  }
  std::vector<std::byte> batch;
  std::string why;
  std::optional<std::int64_t> max;
  if (Status s = log.read(found.position, static_cast<std::size_t>(found.at.bytes), &batch); !s.is_ok()) why = s.to_string();
  else max = batch_max_record_timestamp(batch, &why);
  if (!max) checks->mismatches.add("Index timestamp: " + std::to_string(e.timestamp) + ", log timestamp: unknown (" + why + ")");
  else if (*max != e.timestamp)
    checks->mismatches.add("Index timestamp: " + std::to_string(e.timestamp) + ", log timestamp: " + std::to_string(*max));
}

// Finds the batch of entry e, scanning from `start` (or from the previous entry's batch when that
// is later), and checks the entry against it; *previous becomes that batch.
void check_against_log(Context& ctx, const ReadOnlyFile& log, const TimeEntry& e, std::uint64_t start,
                       FoundBatch* previous, TimeChecks* checks) {
  if (previous->last_offset >= 0 && e.offset >= previous->last_offset) start = std::max(start, previous->position);
  start = std::min(start, log.size());
  auto found = find_batch(log, start, e.offset);
  if (found.is_ok() && found.value().last_offset < 0 && start > 0)
    found = find_batch(log, 0, e.offset);  // a bad offset index entry: scan from the start
  if (!found.is_ok()) {
    std::fprintf(ctx.err, "%s\n", found.status().to_string().c_str());
    return ctx.unreadable();
  }
  check_entry(ctx, log, found.value(), e, checks);
  if (found.value().last_offset >= 0) *previous = found.value();
}

}  // namespace

void dump_time_index(Context& ctx, const fs::path& path) {
  auto index = load_index(ctx, path, time_entry_bytes);
  if (!index) return;
  if (index->bytes.empty()) return (void)std::fprintf(ctx.out, "%s is empty.\n", path.c_str());
  if (ctx.options.index_sanity_check) return (void)run_sanity_check(ctx, path, time_index_insanity(*index));
  const std::size_t used = check_layout(ctx, path, *index, 8);
  auto log = open_log_for(ctx, path);
  // The offset index only speeds up the scan; without it (or with garbage in it) the scan starts
  // at the previous entry's batch or at 0 and finds the same batches.
  std::optional<IndexFileBytes> offset_index;
  if (auto bytes = read_file_bytes(sibling(path, ".index")); bytes.is_ok())
    offset_index = IndexFileBytes{std::move(bytes).value(), index->base_offset, offset_entry_bytes};
  const std::size_t offset_used = offset_index ? offset_index->entry_count() : 0;
  TimeChecks checks;
  std::int64_t previous_timestamp = -1;  // RecordBatch.NO_TIMESTAMP
  FoundBatch previous;                   // the batch of the previous entry: a later offset is at or after it
  for (std::size_t i = 0; i < used; ++i) {
    const TimeEntry e = time_entry(*index, i);
    if (log) {
      const std::uint64_t start = lookup_position(offset_index, offset_used, e.offset);
      check_against_log(ctx, *log, e, start, &previous, &checks);
    }
    if (previous_timestamp >= e.timestamp)
      checks.out_of_order.add("Index timestamp: " + std::to_string(e.timestamp) +
                              ", Previously indexed timestamp: " + std::to_string(previous_timestamp));
    if (!ctx.options.verify_index_only)
      std::fprintf(ctx.out, "timestamp: %" PRId64 " offset: %" PRId64 "\n", e.timestamp, e.offset);
    previous_timestamp = e.timestamp;
  }
  print_section(ctx, "Found timestamp mismatch in :", path, checks.mismatches);
  print_section(ctx, "Found out of order timestamp in :", path, checks.out_of_order);
  print_section(ctx, "The following indexed offsets are not found in the log: ", path, checks.not_found);
}

}  // namespace sluice::tools::dump
