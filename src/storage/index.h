// Kafka's sparse segment indexes, memory-mapped like Kafka's:
//   .index      8-byte entries: relative offset u32 BE, file position u32 BE
//   .timeindex 12-byte entries: timestamp i64 BE, relative offset u32 BE
// While a segment is active its index files are preallocated (sparse) to index_bytes_max rounded
// down to a multiple of the entry size; on roll/close they are trimmed to their entries.
// An index keeps no fd open: the mapping holds the file, and the rare calls that need an fd
// (resize, fsync) open it by path for the call. A broker's open files are then one per segment
// (its .log), which is what lets 10,000 partitions fit a 20,000-file limit.
//
// Threads: the segment's owner thread appends; any thread may look up. An entry is written to the
// mapping before the entry count is stored (release); readers load the count (acquire) and read
// only entries below it, and entries below the count never change while readers exist.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "base/status.h"
#include "storage/file_io.h"

namespace sluice::storage {

// A file of fixed-size entries, mapped shared. Owns its mapping; holds no fd between calls.
class IndexFile {
 public:
  // Opens or creates path. active: size the file to capacity_bytes (rounded down to entries) so
  // appends can follow; otherwise the file keeps its size. Entries are taken from the file size
  // (the caller validates them and may reset()).
  static Result<std::unique_ptr<IndexFile>> open(const std::filesystem::path& path,
                                                 std::uint32_t entry_bytes,
                                                 std::uint32_t capacity_bytes, bool active);
  ~IndexFile();
  IndexFile(const IndexFile&) = delete;
  IndexFile& operator=(const IndexFile&) = delete;

  std::uint32_t entry_count() const { return entry_count_.load(std::memory_order_acquire); }
  std::uint32_t entry_count_max() const { return entry_count_max_; }
  bool full() const { return entry_count() >= entry_count_max_; }
  const std::byte* entry(std::uint32_t index) const { return base_ + std::size_t{index} * entry_bytes_; }
  // Owner. Requires: !full(). Writes the entry, then publishes the count.
  void append(const std::byte* entry_bytes);
  // Owner, no concurrent readers (open/recovery): drop entries from `count` on.
  void truncate_entries(std::uint32_t count);
  // Owner: grow the file to its capacity (becoming active) / shrink it to its entries (no call when
  // the file already has exactly its entries: an index that never became active).
  Status make_active(std::uint32_t capacity_bytes);
  Status trim();
  // Whether make_active(capacity_bytes) would leave the file full.
  bool full_at(std::uint32_t capacity_bytes) const { return entry_count() >= capacity_bytes / entry_bytes_; }
  Status sync();
  const std::filesystem::path& path() const { return path_; }
  // Any thread: a new fd of the file (invalid, with errno logged, if it cannot be opened), for a
  // sync that runs elsewhere.
  UniqueFd open_fd() const;
  // Owner: the file was renamed to `path` (the cleaner's .cleaned -> final step).
  void set_path(std::filesystem::path path) { path_ = std::move(path); }

 private:
  IndexFile(std::filesystem::path path, std::uint32_t entry_bytes) : path_(std::move(path)), entry_bytes_(entry_bytes) {}
  Status map(int fd, std::size_t bytes);
  // Opens the file for the call of `use` (the fd closes after); an open failure is the result.
  Status with_fd(const std::function<Status(int)>& use) const;
  // Sizes the file to `bytes` through a fresh fd; maps up to `map_bytes` (0: no new mapping).
  Status resize(std::size_t bytes, std::size_t map_bytes);

  std::filesystem::path path_;
  std::uint32_t entry_bytes_;
  std::byte* base_ = nullptr;
  std::size_t mapped_bytes_ = 0;
  std::uint64_t file_bytes_ = 0;  // the file's size as this object last saw or set it
  std::uint32_t entry_count_max_ = 0;
  std::atomic<std::uint32_t> entry_count_{0};
};

struct OffsetPosition {
  std::int64_t offset;
  std::uint32_t position;
};
struct TimestampOffset {
  std::int64_t timestamp;
  std::int64_t offset;
};

class OffsetIndex {
 public:
  static Result<std::unique_ptr<OffsetIndex>> open(const std::filesystem::path& path,
                                                   std::int64_t base_offset,
                                                   std::uint32_t index_bytes_max, bool active);
  static constexpr std::uint32_t entry_bytes = 8;
  // Owner. Requires: !full(), offset > last entry's offset, position > last entry's position.
  void append(std::int64_t offset, std::uint32_t position);
  OffsetPosition entry(std::uint32_t index) const;
  // Largest entry with offset <= target, or {base_offset, 0}. Any thread.
  OffsetPosition lookup(std::int64_t target) const;
  // Largest entry with position <= position_max and offset < offset_bound, or nullopt. Any thread.
  std::optional<OffsetPosition> lookup_bounded(std::uint64_t position_max, std::int64_t offset_bound) const;
  // True if entries are strictly increasing and within [0, log_bytes). Owner at open.
  bool sane(std::uint64_t log_bytes) const;
  IndexFile& file() { return *file_; }
  const IndexFile& file() const { return *file_; }
  std::int64_t base_offset() const { return base_offset_; }

 private:
  OffsetIndex(std::unique_ptr<IndexFile> file, std::int64_t base) : file_(std::move(file)), base_offset_(base) {}
  std::unique_ptr<IndexFile> file_;
  std::int64_t base_offset_;
};

class TimeIndex {
 public:
  static Result<std::unique_ptr<TimeIndex>> open(const std::filesystem::path& path,
                                                 std::int64_t base_offset,
                                                 std::uint32_t index_bytes_max, bool active);
  static constexpr std::uint32_t entry_bytes = 12;
  // Owner. Kafka's maybeAppend: appends only when timestamp > the last entry's timestamp (-1 when
  // empty). skip_full_check: the final entry on roll/close, written only if there is room.
  void maybe_append(std::int64_t timestamp, std::int64_t offset, bool skip_full_check = false);
  TimestampOffset entry(std::uint32_t index) const;
  std::optional<TimestampOffset> last_entry() const;
  // Largest entry with timestamp <= target, or {-1, base_offset}. Any thread.
  TimestampOffset lookup(std::int64_t target) const;
  bool sane() const;
  IndexFile& file() { return *file_; }
  const IndexFile& file() const { return *file_; }

 private:
  TimeIndex(std::unique_ptr<IndexFile> file, std::int64_t base) : file_(std::move(file)), base_offset_(base) {}
  std::unique_ptr<IndexFile> file_;
  std::int64_t base_offset_;
};

}  // namespace sluice::storage
