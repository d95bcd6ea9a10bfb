// One segment of a partition log: <base>.log, <base>.index, <base>.timeindex.
// Threads: the partition's owner thread appends, recovers, seals, flushes; any thread reads
// committed_bytes(), the indexes and max_timestamp(). Bytes below committed_bytes() are whole
// batches and never change (until the segment is deleted).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>

#include "base/status.h"
#include "protocol/record_batch.h"
#include "storage/index.h"
#include "storage/log.h"
#include "storage/segment_file.h"

namespace sluice::storage {

std::string segment_file_name(std::int64_t base_offset, const char* suffix);  // "%020lld<suffix>"

class Segment {
 public:
  // A new, empty, active segment. Fails if <base>.log exists and is not empty. file_suffix is
  // appended to the three file names (the log cleaner writes <base>.log.cleaned etc. and renames
  // them later; remove_files always uses the final names).
  static Result<std::shared_ptr<Segment>> create(const std::filesystem::path& dir, std::int64_t base_offset,
                                                 const LogConfig& config, std::int64_t now_ms,
                                                 const char* file_suffix = "");
  // An existing segment (its .log must exist; missing indexes are created empty, and `*index_ok`
  // says whether both indexes passed the sanity check; if not the caller recovers it).
  static Result<std::shared_ptr<Segment>> open(const std::filesystem::path& dir, std::int64_t base_offset,
                                               const LogConfig& config, bool* index_ok);
  ~Segment() = default;

  std::int64_t base_offset() const { return base_offset_; }
  const std::shared_ptr<SegmentFile>& file() const { return file_; }
  std::uint64_t committed_bytes() const { return committed_bytes_.load(std::memory_order_acquire); }
  // Owner: the file's size as this segment left it (past committed_bytes() only after a failed
  // write that could not be cut back).
  std::uint64_t file_bytes_written() const { return file_bytes_written_; }
  const OffsetIndex& offset_index() const { return *offset_index_; }
  const TimeIndex& time_index() const { return *time_index_; }
  // Whether an index cannot take another entry (counting an index that grows at the first append
  // at the capacity it will then have).
  bool index_full() const;
  // Largest batch max timestamp and the last offset of that batch; {-1, base} when none. Any thread.
  TimestampOffset max_timestamp() const;
  // First batch's max timestamp (-1 when empty or none) and creation time: for time-based roll.
  std::int64_t first_batch_timestamp() const { return first_batch_timestamp_; }
  std::int64_t created_ms() const { return created_ms_; }

  // Owner. Requires: a whole, checked batch with its final base offset; fits in u32 positions.
  // On a failed write, cuts the file back to committed_bytes() (file_bytes_written() tells
  // whether that worked) and returns the write's error.
  Status append(std::span<const std::byte> batch, const RecordBatchHeader& header);

  struct RecoverResult {
    std::int64_t next_offset;  // last offset + 1 of the last valid batch, or base offset
    bool truncated;            // bytes after the last valid batch were cut off
  };
  // Owner, no readers: scans the whole .log, checks every batch, rebuilds both indexes, truncates
  // the file after the last valid batch. on_batch sees every valid header (leader epochs).
  Result<RecoverResult> recover(std::int64_t expected_base_offset,
                                const std::function<void(const RecordBatchHeader&)>& on_batch);
  // Owner: next offset from the last index entry and a scan of the tail (clean open);
  // *end_position is where the last whole batch ends (== committed_bytes() unless the tail is torn).
  Result<std::int64_t> read_next_offset(std::uint64_t* end_position) const;

  // Owner: the segment becomes the active one (after open of the last segment). Its index files
  // grow to their preallocated size at its first append, so an idle partition's start and clean
  // stop touch neither file.
  void make_active() { indexes_grow_at_append_ = true; }
  // Owner: the index files now have their final names in `dir` (a cleaned segment after its swap).
  void index_files_renamed(const std::filesystem::path& dir);
  Status seal();         // Owner: final time index entry, trim indexes, drop log preallocation.
  Status flush();        // Owner: fdatasync log and both indexes.
  // Owner: unlinks the three files (open fds stay valid for readers).
  Status remove_files();

 private:
  Segment(std::filesystem::path dir, std::int64_t base_offset, const LogConfig& config);
  void set_max_timestamp(std::int64_t timestamp, std::int64_t offset);
  Status preallocate(std::uint64_t end);
  Status grow_indexes();  // the make_active() step deferred to the first append
  void index_batch(const RecordBatchHeader& header, std::uint64_t position, std::uint64_t bytes);

  std::filesystem::path dir_;
  std::int64_t base_offset_;
  LogConfig config_;
  std::shared_ptr<SegmentFile> file_;
  std::unique_ptr<OffsetIndex> offset_index_;
  std::unique_ptr<TimeIndex> time_index_;
  std::atomic<std::uint64_t> committed_bytes_{0};
  std::atomic<std::uint64_t> max_timestamp_sequence_{0};  // seqlock over the two fields below
  std::atomic<std::int64_t> max_timestamp_{-1};
  std::atomic<std::int64_t> max_timestamp_offset_{0};
  // Owner-only state.
  std::uint64_t preallocated_bytes_ = 0;
  std::uint64_t file_bytes_written_ = 0;
  bool indexes_grow_at_append_ = false;
  std::uint64_t bytes_since_index_entry_ = 0;
  std::int64_t first_batch_timestamp_ = -1;
  std::int64_t created_ms_ = 0;
};

// Sequential reader of batch headers in [position, end) of a segment file, through a small
// buffer (only headers are looked at). Any thread.
class BatchHeaderScanner {
 public:
  BatchHeaderScanner(int fd, std::uint64_t position, std::uint64_t end) : fd_(fd), position_(position), end_(end) {}
  // true and the header + its position, false at the end (or at a header that does not fit /
  // is insane: scanning stops). I/O errors come back as a failed Result.
  Result<bool> next(RecordBatchHeader* header, std::uint64_t* position);
  std::uint64_t position() const { return position_; }

 private:
  int fd_;
  std::uint64_t position_, end_;
  std::uint64_t buffer_position_ = 0;
  std::size_t buffer_bytes_ = 0;
  std::byte buffer_[4096];
};

// pread until `bytes` are read or EOF; returns bytes read.
Result<std::size_t> pread_full(int fd, std::byte* out, std::size_t bytes, std::uint64_t position);
Status pwrite_full(int fd, const std::byte* data, std::size_t bytes, std::uint64_t position);
// Opens `path` (O_RDONLY | open_flags), fsyncs and closes it.
Status fsync_path(const std::filesystem::path& path, int open_flags = 0);
Status fsync_dir(const std::filesystem::path& dir);  // fsync_path with O_DIRECTORY

}  // namespace sluice::storage
