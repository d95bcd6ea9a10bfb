// Internals of dump-log shared by its index dumpers (dump_index.cc, dump_time_index.cc).
// Threads: single-threaded, as the tool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tools/dump_internal.h"

namespace sluice::tools::dump {

inline constexpr std::size_t offset_entry_bytes = 8;   // relative offset u32, position u32
inline constexpr std::size_t time_entry_bytes = 12;    // timestamp i64, relative offset u32

// An index file's bytes and its base offset (from its name).
struct IndexFileBytes {
  std::vector<std::byte> bytes;
  std::int64_t base_offset = 0;
  std::size_t entry_bytes = 0;
  std::size_t entry_count() const { return bytes.size() / entry_bytes; }
  std::size_t trailing_bytes() const { return bytes.size() % entry_bytes; }
  const std::byte* entry(std::size_t i) const { return bytes.data() + i * entry_bytes; }
};
struct OffsetEntry {
  std::int64_t offset;
  std::uint32_t position;
};
struct TimeEntry {
  std::int64_t timestamp;
  std::int64_t offset;
};

// Findings of one index file, printed to err at its end in Kafka's words (at most 1000 kept).
struct IndexFindings {
  std::vector<std::string> lines;
  void add(std::string line) {
    if (lines.size() < 1000) lines.push_back(std::move(line));
  }
};

// The file, or nullopt after reporting it unreadable.
std::optional<IndexFileBytes> load_index(Context& ctx, const std::filesystem::path& path, std::size_t entry_bytes);
// Requires: i < index.entry_count().
OffsetEntry offset_entry(const IndexFileBytes& index, std::size_t i);
TimeEntry time_entry(const IndexFileBytes& index, std::size_t i);
// Reports trailing bytes and the zero tail; returns the number of entries in use.
// offset_field: where the relative offset sits in an entry.
std::size_t check_layout(Context& ctx, const std::filesystem::path& path, const IndexFileBytes& index,
                         std::size_t offset_field);
// "<title><absolute path>" then the lines, to err; raises a problem. Nothing when empty.
void print_section(Context& ctx, const char* title, const std::filesystem::path& path, const IndexFindings& findings);
// The .log beside an index, or nullopt after reporting why (unreadable only with --verify-index-only).
std::optional<ReadOnlyFile> open_log_for(Context& ctx, const std::filesystem::path& index_path);
// The last offset of the valid batch starting at position, or -1 with *why.
std::int64_t last_offset_at(const Context& ctx, const ReadOnlyFile& log, std::uint64_t position, std::string* why);
// Prints "<path> passed sanity check." or "... failed sanity check: <why>" (a problem).
bool run_sanity_check(Context& ctx, const std::filesystem::path& path, const std::string& why);
// storage::TimeIndex::sane over every entry of the file: "" or why not.
std::string time_index_insanity(const IndexFileBytes& index);

}  // namespace sluice::tools::dump
