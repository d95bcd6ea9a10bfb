// The log of one partition: a list of segments (<base offset>.log/.index/.timeindex), Kafka's
// on-disk layout byte for byte.
//
// Threads: exactly one owner thread (the partition's I/O thread) calls append, set_high_watermark,
// flush and close. read, offset_for_timestamp, max_timestamp_offset, the offset getters and
// end_offset_for_epoch may be called from any thread concurrently with append: the owner publishes
// the segment list as an immutable snapshot (swapped under a tiny mutex on roll; readers copy the
// pointer) and each segment's committed size, index entry count
// and the end offset / high watermark as atomics stored (release) after the bytes they cover are
// written, so a reader never sees a partially written batch.
// Invariant: log_start_offset <= high_watermark <= log_end_offset; recovery_point <= log_end_offset.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error_code.h"
#include "base/status.h"
#include "storage/file_io.h"
#include "storage/producer_state.h"
#include "storage/segment_file.h"

namespace sluice::storage {

class Segment;
class CleanPlan;

struct LogConfig {
  std::uint64_t segment_bytes = 1 << 30;              // roll when the next batch would exceed it
  // Roll when the batch's max timestamp is more than segment_ms after the active segment's first
  // batch's (Kafka's rule; by wall clock since creation when the first batch has no timestamp).
  std::int64_t segment_ms = 7 * 24 * 3600 * 1000LL;
  std::uint32_t index_interval_bytes = 4096;
  std::uint32_t index_bytes_max = 10 * 1024 * 1024;
  std::uint32_t preallocate_step_bytes = 4 * 1024 * 1024;
  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

struct AppendInfo {
  std::int64_t base_offset;
  std::int64_t last_offset;
  std::int64_t log_start_offset;
  bool rolled;  // the batch started a new segment
};

// One file range of a segment to send with sendfile/splice; `file` keeps the fd open while in use.
struct FileRange {
  std::shared_ptr<const SegmentFile> file;
  int fd;
  std::uint64_t position;
  std::uint32_t bytes;
};

struct ReadResult {
  ErrorCode error;                 // none, offset_out_of_range, or kafka_storage_error (EIO)
  std::optional<FileRange> range;  // absent when nothing to return
  std::int64_t high_watermark, log_start_offset, log_end_offset;
};

// The files a flush must sync so that everything below end_offset survives a crash. Built by the
// owner (Log::plan_flush), synced anywhere (Flusher: io_uring, off the owner thread), then handed
// back to Log::flush_done on the owner thread. Holding the segments keeps their .log fds open;
// an index file keeps no fd (see IndexFile), so the plan opens it and holds that fd.
struct FlushPlan {
  struct Target {
    std::shared_ptr<Segment> segment;  // keeps a .log fd below open
    int fd;                            // -1 when the index file could not be opened
    bool data_only;                    // fdatasync for .log files, fsync for the mmapped indexes
    UniqueFd owned;                    // an index file's fd, opened for this plan
  };
  std::int64_t end_offset = 0;
  std::int64_t active_base_offset = 0;  // the active segment when planned
  std::vector<Target> targets;
  bool directory = false;               // the log directory must be fsynced too (a new segment)
};

// A range of the active segment to start writing back (sync_file_range), see take_writeback.
struct WritebackRange {
  std::shared_ptr<Segment> segment;
  int fd;
  std::uint64_t position;
  std::uint32_t bytes;
};

struct EpochEntry {
  std::int32_t epoch;
  std::int64_t start_offset;
  friend bool operator==(const EpochEntry&, const EpochEntry&) = default;
};

// Immutable list of segments, ordered by base offset; published by the owner on every change.
struct SegmentList {
  std::vector<std::shared_ptr<Segment>> segments;
};

class Log {
 public:
  // Opens (or creates) the partition directory. If !clean_shutdown, scans from the segment holding
  // recovery_point, validates each batch (check_batch_on_disk), truncates the torn tail to the last
  // whole batch, rebuilds indexes for the scanned range. Always leaves correct indexes. Loads the
  // leader-epoch-checkpoint (dropping entries at or past the log end). Starts with
  // log_start_offset = first segment's base and high_watermark = log_end_offset.
  static Result<std::unique_ptr<Log>> open(std::filesystem::path dir, const LogConfig& config,
                                           std::int64_t recovery_point, bool clean_shutdown);
  ~Log();  // Releases fds and mappings; writes nothing (use close first for a clean stop).
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Owner thread only. Requires: batch validated (validate_record_batches), leader_epoch >= 0 or
  // -1 for none. Assigns the base offset and the partition leader epoch in place, rolls if needed
  // (size, time, full index, relative offset overflow), appends the same bytes at the tail, adds
  // sparse index/time index entries, then publishes the new end offset.
  Result<AppendInfo> append(std::span<std::byte> batch, std::int32_t leader_epoch,
                            std::int64_t now_ms);

  // Any thread: whole batches starting at the batch that contains `offset`, up to max_bytes (at
  // least one whole batch when min_one_batch, even if larger), only batches below the high
  // watermark, from one segment. offset == log end -> empty range, none. offset < log start or
  // > log end -> offset_out_of_range.
  ReadResult read(std::int64_t offset, std::uint32_t max_bytes, bool min_one_batch) const;

  // Any thread. ListOffsets by timestamp: {offset, timestamp} of the first record with timestamp
  // >= ts, below the high watermark. Reads (and decompresses, if compressed) only the candidate
  // batch found through the time index; a batch whose records cannot be read is answered at batch
  // granularity (its base offset and max timestamp).
  std::optional<std::pair<std::int64_t, std::int64_t>> offset_for_timestamp(std::int64_t ts) const;
  // Any thread. ListOffsets -3 (Kafka 3.8+): {offset, timestamp} of the first record carrying the
  // largest timestamp, in the first batch with the largest max timestamp (that batch's last offset
  // if its records cannot be read).
  std::optional<std::pair<std::int64_t, std::int64_t>> max_timestamp_offset() const;

  std::int64_t log_start_offset() const { return log_start_offset_.load(std::memory_order_acquire); }
  std::int64_t log_end_offset() const { return log_end_offset_.load(std::memory_order_acquire); }
  std::int64_t high_watermark() const { return high_watermark_.load(std::memory_order_acquire); }
  std::int64_t recovery_point() const { return recovery_point_.load(std::memory_order_acquire); }
  // Owner. Requires: log_start_offset <= hwm <= log_end_offset.
  void set_high_watermark(std::int64_t hwm);

  // Owner: fdatasync the segments written since the last flush (+ their indexes), then advances
  // the recovery point to the end offset seen at the start of the flush. Blocks the caller.
  Status flush();

  // Owner. The asynchronous flush, in two halves around the syncs (see FlushPlan): the .log file
  // of every segment written since the last flush, the indexes of the sealed ones among them, and
  // the directory when a segment was created. The active segment's indexes are left out: recovery
  // after a crash rebuilds the indexes of the segment holding the recovery point.
  FlushPlan plan_flush();
  // Owner: the plan's syncs all succeeded; the recovery point (the durable point) moves to its end.
  void flush_done(const FlushPlan& plan);
  // Owner: the plan's syncs failed; nothing below is known durable. Marks the log offline.
  void flush_failed(const FlushPlan& plan);
  // Owner: once `window_bytes` or more of the active segment were written since the last call
  // that returned a range, the range to start writing back; nullopt otherwise.
  std::optional<WritebackRange> take_writeback(std::uint32_t window_bytes);

  // Any thread. A log goes offline after an I/O error that leaves its state unknown (a failed
  // sync, a write that failed and could not be undone); appends are refused, reads answer
  // KAFKA_STORAGE_ERROR, until a restart recovers it.
  bool offline() const { return offline_.load(std::memory_order_acquire); }
  void set_offline(const char* reason);
  // Owner: appends the final time index entry, trims the active index files to their entries and
  // gives back the log's preallocated blocks; when clean, then flushes everything and writes the
  // producer snapshot <log end>.snapshot (removing older ones). No append after. An offline log
  // is only sealed, and a clean close of it fails (so no clean-shutdown marker is written).
  // With Durability::by_caller nothing is fsynced and the recovery point stays where it
  // was: the caller syncs the file system, then calls mark_durable_to_end().
  Status close(bool clean, Durability durability = Durability::now);
  // After close(true, by_caller) and a successful syncfs of the log's file system begun
  // after it: the recovery point moves to the log end (what the checkpoint then records).
  void mark_durable_to_end();

  // Owner. Kafka's delete retention: removes whole segments from the front of the log that lie
  // wholly below the log start offset, whose largest timestamp is more than retention_ms before
  // now_ms (-1: no time limit), or that must go to keep the log within retention_bytes (-1: no
  // size limit). Never the active segment, never one with offsets at or past the high watermark.
  // The log start offset moves to the first remaining segment when that is higher. Readers in
  // flight keep a removed segment's files open until they finish. Returns how many went.
  Result<std::size_t> delete_retained_segments(std::int64_t retention_ms, std::int64_t retention_bytes,
                                               std::int64_t now_ms);
  // Owner. DeleteRecords: moves the log start offset forward. Requires: log start < offset <= high
  // watermark. Whole segments below it go at the next delete_retained_segments.
  void advance_log_start_offset(std::int64_t offset);
  // Owner, at open: the log start offset from the checkpoint (kept when between the first
  // segment's base and the log end).
  void restore_log_start_offset(std::int64_t offset);
  // Owner: new settings (an altered topic config); segments created from now on use them, the
  // active one keeps its own.
  void set_config(const LogConfig& config) { config_ = config; }

  // Owner. Log compaction's second half (storage/cleaner.h; defined in log_clean.cc): swaps in
  // the segments a Cleaner::prepare wrote. Each group whose replaced segments are all still in
  // the log, in place, is swapped; a group of which retention or DeleteRecords removed a segment
  // meanwhile is dropped with its files (as is the whole plan when the log is offline). Steps, as
  // Kafka's replaceSegments: new files .cleaned -> .swap, fsync dir; unlink the replaced segments'
  // files; .swap -> final names; fsync dir; publish the new segment list. Readers in flight keep
  // the replaced segments' files open. After a failure past the first unlink the log goes offline;
  // Log::open completes the swap. Cost on the owner thread: a few renames/unlinks and two
  // directory fsyncs. Returns how many groups were swapped; the plan is empty afterwards.
  // Requires: plan.dir == dir().
  Result<std::size_t> swap_cleaned(CleanPlan& plan);
  // Owner: producer id -> last offset of its last batch, for CleanRequest::producer_last_offsets.
  std::unordered_map<std::int64_t, std::int64_t> producer_last_offsets() const;

  // Any thread: bytes of all segments (the size retention.bytes limits).
  std::uint64_t size_bytes() const;

  // Any thread. Kafka's OffsetForLeaderEpoch answer: {epoch, end offset}, (-1, -1) when unknown.
  std::pair<std::int32_t, std::int64_t> end_offset_for_epoch(std::int32_t epoch) const;
  std::vector<EpochEntry> epoch_entries() const;

  // Owner thread only: the idempotent-producer table. Log::open rebuilds it from the latest
  // <offset>.snapshot at or below the log end (Kafka's format, written by close(clean)) and the
  // batch headers after it; the produce path checks and updates it around append.
  ProducerStateTable& producer_state() { return producer_state_; }

  // Any thread: the current immutable segment snapshot (tests, dump, retention).
  std::shared_ptr<const SegmentList> segments() const {
    std::lock_guard lock(segments_mutex_);
    return segments_;
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  Log(std::filesystem::path dir, const LogConfig& config);
  // Adds the offsets of the snapshot files it lists to *snapshots (for rebuild_producer_state).
  Status load_segments(std::int64_t recovery_point, bool clean_shutdown, std::vector<std::int64_t>* snapshots);
  // At open, before the segments are listed (log_clean.cc): deletes *.cleaned files and completes
  // an interrupted swap: for each <base>.log.swap, deletes the segment files whose base lies in
  // [base, the swap segment's next offset), then renames every *.swap file to its final name.
  static Status finish_interrupted_clean(const std::filesystem::path& dir);
  Status roll(std::int64_t base_offset, std::int64_t now_ms);
  bool should_roll(const Segment& active, std::uint32_t batch_bytes, std::int64_t last_offset,
                   std::int64_t max_timestamp, std::int64_t now_ms) const;
  void publish(std::vector<std::shared_ptr<Segment>> list);
  Status assign_epoch(std::int32_t epoch, std::int64_t start_offset);
  // `snapshots`: the offsets of the directory's snapshot files, as load_segments listed them.
  Status rebuild_producer_state(std::vector<std::int64_t> snapshots);
  std::int64_t load_producer_snapshot(std::vector<std::int64_t> offsets);
  // Writes <offset>.snapshot; removes every other snapshot when `only`, all but the newest other.
  Status write_producer_snapshot(std::int64_t offset, bool only, Durability durability = Durability::now);

  std::filesystem::path dir_;
  LogConfig config_;
  // The snapshot pointer. A mutex held only to copy or swap one shared_ptr: libstdc++ 12's
  // std::atomic<std::shared_ptr> draws ThreadSanitizer reports, and this costs the same.
  mutable std::mutex segments_mutex_;
  std::shared_ptr<const SegmentList> segments_;
  std::atomic<std::int64_t> log_start_offset_{0};
  std::atomic<std::int64_t> log_end_offset_{0};
  std::atomic<std::int64_t> high_watermark_{0};
  std::atomic<std::int64_t> recovery_point_{0};
  std::int64_t unflushed_base_offset_ = 0;  // owner: base offset of the first unflushed segment
  bool directory_dirty_ = true;              // owner: segment files created since the last flush
  std::int64_t writeback_base_offset_ = -1;  // owner: segment of writeback_position_
  std::uint64_t writeback_position_ = 0;     // owner: written back (started) up to here
  std::atomic<bool> offline_{false};

  mutable std::mutex epochs_mutex_;  // guards epochs_; taken only when the epoch changes
  std::vector<EpochEntry> epochs_;
  std::atomic<std::int32_t> latest_epoch_{-1};

  ProducerStateTable producer_state_;  // owner
  // Owner: the producer snapshot known to be on disk as the only one, and the CRC-32C of its
  // bytes (set when loaded or written at a clean close; a roll's snapshot clears it).
  struct SnapshotOnDisk {
    std::int64_t offset;
    std::uint32_t crc;
  };
  std::optional<SnapshotOnDisk> snapshot_on_disk_;
};

}  // namespace sluice::storage
