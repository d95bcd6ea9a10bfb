// dump-log for .index and .timeindex files: entries, Kafka's verification against the .log
// beside them, and the sanity check the broker runs when it opens a segment.
//
// Kafka's index semantics (LogSegment.append, which storage/segment.cc follows): an offset index
// entry is (last offset of a batch - base offset, position of that batch); a time index entry is
// (the segment's max timestamp so far, the last offset of the batch that holds it). So an offset
// entry must point at the start of a valid batch whose last offset is the entry's offset, and a
// time entry's offset must be the last offset of a batch whose largest record timestamp is the
// entry's timestamp. Entries increase. An index of an active (or uncleanly stopped) segment is
// preallocated: its tail is zero entries, where Kafka's tool stops, and so do we.
#include <cinttypes>

#include "base/endian.h"
#include "tools/dump_index.h"

namespace sluice::tools::dump {

namespace fs = std::filesystem;

std::optional<IndexFileBytes> load_index(Context& ctx, const fs::path& path, std::size_t entry_bytes) {
  auto bytes = read_file_bytes(path);
  if (!bytes.is_ok()) {
    std::fprintf(ctx.err, "%s\n", bytes.status().to_string().c_str());
    ctx.unreadable();
    return std::nullopt;
  }
  IndexFileBytes index{std::move(bytes).value(), 0, entry_bytes};
  if (auto base = base_offset_of(path)) index.base_offset = *base;
  else std::fprintf(ctx.err, "%s: no base offset in the file name; using 0\n", path.c_str());
  return index;
}

OffsetEntry offset_entry(const IndexFileBytes& index, std::size_t i) {
  const std::byte* p = index.entry(i);
  return {add_wrapping(index.base_offset, load_be32(p)), load_be32(p + 4)};
}
TimeEntry time_entry(const IndexFileBytes& index, std::size_t i) {
  const std::byte* p = index.entry(i);
  return {static_cast<std::int64_t>(load_be64(p)), add_wrapping(index.base_offset, load_be32(p + 8))};
}

namespace {

// The number of entries before the zero tail: Kafka stops at the first entry after the first
// whose relative offset is 0. *garbage is set when an entry after that point is not all zeros.
std::size_t used_entries(const IndexFileBytes& index, std::size_t offset_field, bool* garbage) {
  *garbage = false;
  const std::size_t count = index.entry_count();
  std::size_t used = count;
  for (std::size_t i = 1; i < count; ++i)
    if (load_be32(index.entry(i) + offset_field) == 0) {
      used = i;
      break;
    }
  for (std::size_t i = used; i < count && !*garbage; ++i)
    for (std::size_t b = 0; b < index.entry_bytes; ++b)
      if (index.entry(i)[b] != std::byte{0}) *garbage = true;
  return used;
}

}  // namespace

void print_section(Context& ctx, const char* title, const fs::path& path, const IndexFindings& findings) {
  if (findings.lines.empty()) return;
  std::fprintf(ctx.err, "%s%s\n", title, fs::absolute(path).c_str());
  for (const auto& line : findings.lines) std::fprintf(ctx.err, "  %s\n", line.c_str());
  ctx.problem();
}

// The tail and size checks common to both index kinds; returns the number of entries to read.
std::size_t check_layout(Context& ctx, const fs::path& path, const IndexFileBytes& index, std::size_t offset_field) {
  if (index.trailing_bytes() != 0) {
    std::fprintf(ctx.err, "%s: %zu trailing bytes are not a whole entry\n", path.c_str(), index.trailing_bytes());
    ctx.problem();
  }
  bool garbage = false;
  std::size_t used = used_entries(index, offset_field, &garbage);
  if (garbage) {
    std::fprintf(ctx.err, "%s: entry %zu has relative offset 0 but later entries are not zero\n", path.c_str(), used);
    ctx.problem();
  } else if (used < index.entry_count() && !ctx.options.verify_index_only) {
    std::fprintf(ctx.out, "Entries from %zu on are zero (unused preallocated space): %zu entries\n", used,
                 index.entry_count() - used);
  }
  return used;
}

// Opens the .log beside an index for verification; nullopt (reported) if it cannot.
std::optional<ReadOnlyFile> open_log_for(Context& ctx, const fs::path& index_path) {
  fs::path log_path = sibling(index_path, ".log");
  auto log = ReadOnlyFile::open(log_path);
  if (log.is_ok()) return std::move(log).value();
  std::fprintf(ctx.err, "Cannot verify against %s: %s\n", log_path.c_str(), log.status().to_string().c_str());
  if (ctx.options.verify_index_only) ctx.unreadable();
  return std::nullopt;
}

// The last offset of the batch starting at `position`, or -1 with *why. The batch must be whole,
// within --max-message-size and pass its CRC (a position inside a batch almost never does).
std::int64_t last_offset_at(const Context& ctx, const ReadOnlyFile& log, std::uint64_t position, std::string* why) {
  if (position >= log.size()) return *why = "position is at or past the end of the log", -1;
  auto at = batch_at(log, position);
  if (!at.is_ok()) return *why = at.status().to_string(), -1;
  const BatchAt& batch = at.value();
  if (batch.shape != BatchShape::v2 && batch.shape != BatchShape::legacy)
    return *why = "no batch starts there" + (batch.why.empty() ? "" : ": " + batch.why), -1;
  if (batch.bytes > ctx.options.message_bytes_max)
    return *why = "the batch there (" + std::to_string(batch.bytes) + " bytes) exceeds --max-message-size", -1;
  std::vector<std::byte> bytes;
  if (Status s = log.read(position, static_cast<std::size_t>(batch.bytes), &bytes); !s.is_ok())
    return *why = s.to_string(), -1;
  if (batch.shape == BatchShape::legacy) return static_cast<std::int64_t>(load_be64(bytes.data()));
  std::size_t checked = 0;
  if (check_batch_on_disk(bytes.data(), bytes.size(), &checked) != ErrorCode::none)
    return *why = "no valid batch starts there (CRC)", -1;
  return last_offset_of(batch.header);
}


bool run_sanity_check(Context& ctx, const fs::path& path, const std::string& why) {
  if (why.empty()) std::fprintf(ctx.out, "%s passed sanity check.\n", path.c_str());
  else std::fprintf(ctx.out, "%s failed sanity check: %s\n", path.c_str(), why.c_str());
  if (!why.empty()) ctx.problem();
  return why.empty();
}

namespace {

// storage::OffsetIndex::sane, over every entry of the file as the broker counts them.
std::string offset_index_insanity(const IndexFileBytes& index, std::optional<std::uint64_t> log_bytes) {
  if (index.trailing_bytes() != 0) return "size is not a multiple of 8";
  for (std::size_t i = 0; i < index.entry_count(); ++i) {
    OffsetEntry e = offset_entry(index, i);
    const std::string at = "entry " + std::to_string(i) + " (offset " + std::to_string(e.offset) + " position " +
                           std::to_string(e.position) + ")";
    if (log_bytes && e.position >= *log_bytes) return at + " points past the log's " + std::to_string(*log_bytes) + " bytes";
    if (i == 0 && e.position == 0) return at + ": the first batch never gets an entry";
    if (i == 0) continue;
    OffsetEntry previous = offset_entry(index, i - 1);
    if (e.offset <= previous.offset || e.position <= previous.position) return at + " does not increase";
  }
  return "";
}

}  // namespace

// storage::TimeIndex::sane.
std::string time_index_insanity(const IndexFileBytes& index) {
  if (index.trailing_bytes() != 0) return "size is not a multiple of 12";
  for (std::size_t i = 1; i < index.entry_count(); ++i) {
    TimeEntry previous = time_entry(index, i - 1), e = time_entry(index, i);
    if (e.timestamp <= previous.timestamp || e.offset < previous.offset)
      return "entry " + std::to_string(i) + " (timestamp " + std::to_string(e.timestamp) + " offset " +
             std::to_string(e.offset) + ") does not increase";
  }
  if (index.entry_count() > 0 && time_entry(index, 0).offset < index.base_offset) return "first offset below the base offset";
  return "";
}


void dump_offset_index(Context& ctx, const fs::path& path) {
  auto index = load_index(ctx, path, offset_entry_bytes);
  if (!index) return;
  if (index->bytes.empty()) return (void)std::fprintf(ctx.out, "%s is empty.\n", path.c_str());
  if (ctx.options.index_sanity_check) {
    auto log = ReadOnlyFile::open(sibling(path, ".log"));
    std::optional<std::uint64_t> log_bytes;
    if (log.is_ok()) log_bytes = log.value().size();
    run_sanity_check(ctx, path, offset_index_insanity(*index, log_bytes));
    return;
  }
  const std::size_t used = check_layout(ctx, path, *index, 0);
  auto log = open_log_for(ctx, path);
  IndexFindings mismatches, non_increasing;
  for (std::size_t i = 0; i < used; ++i) {
    OffsetEntry e = offset_entry(*index, i);
    if (i > 0) {
      OffsetEntry previous = offset_entry(*index, i - 1);
      if (e.offset <= previous.offset || e.position <= previous.position)
        non_increasing.add("Index offset: " + std::to_string(e.offset) + ", position: " + std::to_string(e.position) +
                           " after offset: " + std::to_string(previous.offset) +
                           ", position: " + std::to_string(previous.position));
    }
    if (log) {
      std::string why;
      std::int64_t log_offset = last_offset_at(ctx, *log, e.position, &why);
      if (log_offset != e.offset)
        mismatches.add("Index offset: " + std::to_string(e.offset) + ", log offset: " + std::to_string(log_offset) +
                       (why.empty() ? "" : " (position " + std::to_string(e.position) + ": " + why + ")"));
    }
    if (!ctx.options.verify_index_only)
      std::fprintf(ctx.out, "offset: %" PRId64 " position: %u\n", e.offset, e.position);
  }
  print_section(ctx, "Mismatches in :", path, mismatches);
  print_section(ctx, "Found non-increasing entries in :", path, non_increasing);
}

}  // namespace sluice::tools::dump
