// Log compaction (cleanup.policy=compact): Kafka's LogCleaner / Cleaner, rewritten for our Log.
//
// What a clean does (Kafka semantics). The cleanable range of a log is [first dirty offset, first
// uncleanable offset): the first dirty offset comes from the cleaner-offset-checkpoint; the first
// uncleanable offset is the base of the segment holding the lowest of the active segment's base,
// the high watermark, the recovery point (only durable data is compacted, see CleanRequest) and
// the first dirty segment whose largest timestamp is newer than now - min.compaction.lag.ms. The
// active segment is never touched.
//   1. Map: every keyed record of the dirty range goes into an OffsetMap (key digest -> latest
//      offset), bounded by the dedupe buffer; when it fills, the clean stops at the last whole
//      batch mapped (Kafka's rule) and the rest stays dirty for the next clean.
//   2. Rewrite: the segments from the log start up to the map's end are grouped (Kafka's
//      groupSegmentsBySize: each group's log bytes <= segment.bytes, index bytes <=
//      segment.index.bytes, offsets within 2^31) and each group is written into one new segment
//      <base>.log.cleaned (+ .index.cleaned, .timeindex.cleaned), then synced.
//   3. Swap (owner thread, Log::swap_cleaned): .cleaned -> .swap, fsync dir, unlink the replaced
//      segments, .swap -> final names, fsync dir, publish the new segment list.
//
// Record rules (Kafka's Cleaner.shouldRetainRecord and MemoryRecords.filterTo):
// - A record is kept when its offset >= the map's entry for its key (absent: -1), or when it lies
//   past the map's end. Records with a null key cannot be produced to a compacted topic (Kafka
//   rejects them); the cleaner drops them, as Kafka's does, and counts them (null_key_records).
// - Tombstones (null value) follow KIP-534's delete horizon (magic 2), not the legacy
//   last-modified rule: the first clean that keeps a tombstone rewrites its batch with the
//   delete-horizon flag (attributes bit 6) and baseTimestamp = now + delete.retention.ms; a later
//   clean drops the tombstone once now >= that horizon. So a tombstone lives at least
//   delete.retention.ms after the clean that first saw it as the latest of its key.
// - A batch whose records all stay (and that needs no horizon) is copied byte for byte. Otherwise
//   the kept records go into a new batch with the original base offset, lastOffsetDelta (so the
//   producer's last sequence stays, Kafka's overrideLastOffset), partition leader epoch, producer
//   id/epoch, base sequence, attributes and codec (compress_records); offsets keep their gaps,
//   timestamps are kept (baseTimestamp = first kept record's, or the delete horizon), maxTimestamp
//   is recomputed (LogAppendTime batches keep theirs), and the CRC is recomputed.
// - A batch left with no record is dropped, except (Kafka's BatchRetention.RETAIN_EMPTY) its header
//   is kept as an empty batch (recordCount 0, no compression) when it is the last batch of an
//   idempotent producer that is still in the producer state (CleanRequest::producer_last_offsets),
//   or when it is the last batch of a group. Kafka keeps the last batch of the cleaning round so
//   the last offset is not lost; we keep the last of every group, which also makes every cleaned
//   segment end at the same offset as the segments it replaces, so that completing an interrupted
//   swap at open (which deletes the old segments inside the swap file's offset range) never leaves
//   an old segment behind.
// - Control batches are kept as they are (Sluice has no transactions; Kafka drops markers once
//   their transaction's data is gone).
//
// Threads. prepare runs on the cleaner's thread: it reads sealed segments (immutable, readable
// from any thread through the Log's segment snapshot) and writes the new segment files; it never
// changes the Log. Log::swap_cleaned runs on the Log's owner thread. A CleanPlan travels from the
// cleaner thread to the owner thread as a message; whoever drops a plan that was not swapped
// deletes its files. A Cleaner (its offset map and buffers) is used by one thread at a time.
// The broker loop, per compacted log (see Log::swap_cleaned for the owner half):
//   owner:   request = {..., producer_last_offsets = log.producer_last_offsets()}  -> cleaner
//   cleaner: plan = cleaner.prepare(log, request)                                   -> owner
//   owner:   log.swap_cleaned(plan); on success checkpoint plan.first_dirty_offset_next
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "storage/log.h"
#include "storage/log_dir.h"

namespace sluice::storage {

class Segment;

// ---------------------------------------------------------------- Throttler

// Time for the throttler; tests inject a fake one. Implementations must be thread-safe.
class ThrottleClock {
 public:
  virtual ~ThrottleClock() = default;
  virtual std::int64_t now_ns() = 0;
  virtual void sleep_ns(std::int64_t ns) = 0;
};
ThrottleClock& system_throttle_clock();  // CLOCK_MONOTONIC and nanosleep

// Kafka's Throttler for log.cleaner.io.max.bytes.per.second: callers report the bytes they read
// or wrote; once per check interval (300 ms, Kafka's) the observed rate is compared with the
// desired one and the caller sleeps long enough to bring the period's rate down to it.
// Thread-safe: the cleaner threads of a broker share one (Kafka's limit is per broker).
class Throttler {
 public:
  static constexpr std::int64_t check_interval_ns_default = 300'000'000;
  // bytes_per_second_max <= 0 means no limit. `clock` must outlive the throttler.
  explicit Throttler(double bytes_per_second_max, ThrottleClock& clock = system_throttle_clock(),
                     std::int64_t check_interval_ns = check_interval_ns_default);
  void maybe_throttle(std::uint64_t bytes);
  void set_rate(double bytes_per_second_max);
  std::int64_t slept_ns() const;  // total time slept, for the stats

 private:
  mutable std::mutex mutex_;
  double rate_max_;
  ThrottleClock& clock_;
  std::int64_t check_interval_ns_;
  std::int64_t period_start_ns_;
  std::uint64_t observed_bytes_ = 0;
  std::int64_t slept_ns_ = 0;
};

// ---------------------------------------------------------------- OffsetMap

// Kafka's SkimpyOffsetMap: key -> latest offset in a fixed memory budget (the dedupe buffer).
// Keys are stored as a 128-bit digest (MurmurHash3 x64-128; Kafka stores a 128-bit MD5), compared
// by digest only, as Kafka does: two keys with the same 128-bit digest would count as one.
// Open addressing with linear probing, 24 bytes per slot. One thread at a time.
// Unlike Kafka's, which takes the whole buffer at start, the table starts small and doubles (up to
// the budget) as keys come, and clear() gives the memory back: a broker whose compacted topics
// have few keys never holds 128 MiB for them. Full still means the budget's slots x load factor.
class OffsetMap {
 public:
  static constexpr std::size_t slot_bytes = 24;
  static constexpr std::size_t initial_slots = 4096;
  // Requires: memory_bytes / slot_bytes * load_factor >= 1, 0 < load_factor <= 1.
  OffsetMap(std::size_t memory_bytes, double load_factor);
  // Forgets every key and shrinks back to the initial table.
  void clear();
  // Kafka stops mapping at slots * load factor entries (log.cleaner.io.buffer.load.factor).
  bool full() const { return size_ >= size_max_; }
  // Requires: !full(). Stores offset as the key's latest (callers visit offsets in order).
  void put(std::span<const std::byte> key, std::int64_t offset);
  // The key's offset, -1 when absent.
  std::int64_t get(std::span<const std::byte> key) const;
  std::size_t size() const { return size_; }
  // Slots in the table now (grows to slot_count_max()).
  std::size_t slot_count() const { return slots_.size(); }
  std::size_t slot_count_max() const { return slot_count_max_; }
  // Share of the budget's slots in use (Kafka's "buffer utilization").
  double utilization() const { return double(size_) / double(slot_count_max_); }
  // The last offset the map covers (Kafka's latestOffset): -1 when nothing was mapped.
  std::int64_t latest_offset() const { return latest_offset_; }
  void update_latest_offset(std::int64_t offset) { latest_offset_ = std::max(latest_offset_, offset); }

 private:
  struct Slot {
    std::uint64_t digest_high, digest_low;
    std::int64_t offset;  // -1: empty
  };
  static_assert(sizeof(Slot) == slot_bytes);
  std::size_t find_slot(std::uint64_t high, std::uint64_t low) const;
  // Entries the current table takes before it grows (or, at the budget, before full()).
  std::size_t grow_at() const;
  void grow();

  std::vector<Slot> slots_;
  double load_factor_;
  std::size_t slot_count_max_ = 0;
  std::size_t size_ = 0;
  std::size_t size_max_ = 0;
  std::int64_t latest_offset_ = -1;
};

// ---------------------------------------------------------------- one clean

// Broker-wide settings of a cleaner thread.
struct CleanerConfig {
  std::size_t dedupe_buffer_bytes = 128 << 20;  // log.cleaner.dedupe.buffer.size / log.cleaner.threads
  double dedupe_load_factor = 0.9;              // log.cleaner.io.buffer.load.factor
  std::size_t io_buffer_bytes = 1 << 20;        // log.cleaner.io.buffer.size (read chunk; grows per batch)
};

// One clean of one log; built on the owner thread (producer_last_offsets is owner-only state).
struct CleanRequest {
  std::int64_t first_dirty_offset = 0;  // clamped with first_dirty_offset(); see there
  std::int64_t now_ms = 0;              // wall clock: horizons and compaction lags
  std::int64_t delete_retention_ms = 86'400'000;  // delete.retention.ms
  std::int64_t min_compaction_lag_ms = 0;         // min.compaction.lag.ms
  std::uint64_t segment_bytes = 1 << 30;          // segment.bytes: group size limit
  std::uint32_t index_bytes_max = 10 << 20;       // segment.index.bytes
  std::uint32_t index_interval_bytes = 4096;      // index.interval.bytes
  // Only data below the recovery point (flushed) is compacted, so a power cut can never lose a
  // record that made an older one removable. Kafka flushes each segment at roll, so there this
  // is nearly the same bound; set false to compact up to the high watermark like Kafka.
  bool durable_only = true;
  // Log::producer_last_offsets(): producer id -> last offset of its last batch.
  std::unordered_map<std::int64_t, std::int64_t> producer_last_offsets;
  // Set (any thread) to stop a prepare in flight: it returns ECANCELED at the next batch and
  // deletes its files. May be null. Kafka's checkDone (the partition was deleted, moved, paused).
  const std::atomic<bool>* cancel = nullptr;
};

struct CleanStats {
  std::uint64_t map_bytes_read = 0, map_records_read = 0;
  std::uint64_t bytes_read = 0, bytes_written = 0;  // rewrite phase: segments read / new files
  std::uint64_t records_read = 0, records_kept = 0;
  std::uint64_t batches_read = 0, batches_copied = 0, batches_rebuilt = 0, batches_emptied = 0;
  std::uint64_t null_key_records = 0;    // dropped (see the header)
  std::uint64_t tombstones_removed = 0;  // latest of their key but past their delete horizon
  std::int64_t map_duration_ns = 0, duration_ns = 0, throttled_ns = 0;
  double map_utilization = 0;
  // Rewrite throughput: bytes read per second of the whole clean.
  double read_bytes_per_second() const { return duration_ns > 0 ? double(bytes_read) * 1e9 / double(duration_ns) : 0; }
};

// One group: the segments it replaces (by identity) and the new segment, whose files are named
// <base>.log.cleaned / .index.cleaned / .timeindex.cleaned until the swap renames them.
struct CleanedGroup {
  std::vector<std::shared_ptr<Segment>> replaced;
  std::shared_ptr<Segment> segment;
};

// The result of prepare. Move-only; dropping a plan that was not swapped deletes its files.
class CleanPlan {
 public:
  CleanPlan() = default;
  CleanPlan(CleanPlan&&) noexcept = default;
  CleanPlan& operator=(CleanPlan&& other) noexcept;
  CleanPlan(const CleanPlan&) = delete;
  CleanPlan& operator=(const CleanPlan&) = delete;
  ~CleanPlan() { discard(); }

  bool empty() const { return groups.empty(); }
  // Unlinks the new files (.cleaned or .swap, whatever they are named now) and empties the plan.
  void discard();

  std::filesystem::path dir;
  std::vector<CleanedGroup> groups;
  // The cleaner-offset-checkpoint value once the plan is swapped (Kafka's endOffset).
  std::int64_t first_dirty_offset_next = 0;
  CleanStats stats;
  const char* suffix = ".cleaned";  // the new files' current suffix (swap_cleaned moves it)
};

class Cleaner {
 public:
  // `throttler` may be null (no limit) and must outlive the cleaner.
  Cleaner(const CleanerConfig& config, Throttler* throttler);

  // Cleaner thread (any thread but the owner's is fine too). Computes the cleanable range of
  // `log`, builds the offset map, writes and syncs the new segments. Never changes `log`.
  // Returns an empty plan when nothing is cleanable. Fails on I/O errors, on a batch that does not
  // decompress or parse (Kafka marks such a partition uncleanable), or ECANCELED; no file is left.
  // Requires: `log` stays open until prepare returns (the broker cancels prepare before closing or
  // deleting a log).
  Result<CleanPlan> prepare(const Log& log, const CleanRequest& request);

 private:
  CleanerConfig config_;
  Throttler* throttler_;
  OffsetMap map_;
};

// ---------------------------------------------------------------- choosing a log

// Kafka's LogCleanerManager.cleanableOffsets: the checkpointed offset (nullopt: none) when it lies
// within [log start, log end], else the log start offset. Any thread.
std::int64_t first_dirty_offset(const Log& log, std::optional<std::int64_t> checkpointed);

struct CleanableRange {
  std::int64_t first_dirty_offset = 0;
  std::int64_t first_uncleanable_offset = 0;  // a segment base; == first dirty: nothing to do
  std::uint64_t clean_bytes = 0;   // sealed segments below the first dirty segment
  std::uint64_t dirty_bytes = 0;   // segments in [first dirty segment, first uncleanable)
  double dirty_ratio = 0;          // dirty / (clean + dirty), 0 when both are 0
  // now - max.compaction.lag.ms - the earliest first-batch timestamp of the dirty segments;
  // > 0: the log must be cleaned now whatever its ratio (KIP-354).
  std::int64_t compaction_delay_ms = 0;
};

// Any thread: the range and sizes prepare would work on (same bounds).
CleanableRange cleanable_range(const Log& log, std::int64_t first_dirty, std::int64_t now_ms,
                               std::int64_t min_compaction_lag_ms, std::int64_t max_compaction_lag_ms,
                               bool durable_only = true);

struct CleanCandidate {
  const Log* log;
  std::int64_t first_dirty_offset;      // first_dirty_offset(log, checkpoint)
  double min_cleanable_dirty_ratio;     // min.cleanable.dirty.ratio
  std::int64_t min_compaction_lag_ms;   // min.compaction.lag.ms
  std::int64_t max_compaction_lag_ms;   // max.compaction.lag.ms (INT64_MAX: none)
};

// Kafka's grabFilthiestCompactedLog: among the candidates whose dirty ratio is above their
// min.cleanable.dirty.ratio, or that have dirty bytes and a positive compaction delay, the one with
// the highest ratio; nullopt when none. Any thread.
std::optional<std::size_t> choose_log_to_clean(std::span<const CleanCandidate> candidates, std::int64_t now_ms,
                                               bool durable_only = true);

// cleaner-offset-checkpoint in the log dir root (log_dir.h's offset checkpoint format): each
// compacted partition's first dirty offset. One writer (the cleaner manager).
Result<OffsetCheckpoint> read_cleaner_checkpoint(const std::filesystem::path& log_dir);
Status write_cleaner_checkpoint(const std::filesystem::path& log_dir, const OffsetCheckpoint& offsets);

}  // namespace sluice::storage
