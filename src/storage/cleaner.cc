#include "storage/cleaner.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/assert.h"
#include "base/clock.h"
#include "base/crc32c.h"
#include "base/endian.h"
#include "base/log.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"
#include "storage/file_io.h"
#include "storage/cleaner_records.h"
#include "storage/segment.h"

namespace sluice::storage {

using namespace cleaner_io;


// ---------------------------------------------------------------- the cleanable range

namespace {

std::size_t floor_index(const std::vector<std::shared_ptr<Segment>>& list, std::int64_t offset) {
  auto it = std::upper_bound(list.begin(), list.end(), offset,
                             [](std::int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
  return it == list.begin() ? 0 : static_cast<std::size_t>(it - list.begin() - 1);
}

std::int64_t largest_timestamp(const Segment& segment) {
  std::int64_t largest = segment.max_timestamp().timestamp;
  return largest >= 0 ? largest : segment.created_ms();  // Kafka falls back to lastModified
}

struct Range {
  CleanableRange info;
  std::size_t dirty_index = 0, uncleanable_index = 0;  // segment indexes in the snapshot
};

Range compute_range(const Log& log, const SegmentList& snapshot, std::int64_t first_dirty, std::int64_t now_ms,
                    std::int64_t min_lag_ms, std::int64_t max_lag_ms, bool durable_only) {
  const auto& list = snapshot.segments;
  SLUICE_ASSERT(!list.empty());
  Range range;
  range.info.first_dirty_offset = first_dirty;
  range.info.first_uncleanable_offset = first_dirty;
  const std::size_t active = list.size() - 1;
  std::int64_t bound = list[active]->base_offset();
  bound = std::min(bound, log.high_watermark());
  if (durable_only) bound = std::min(bound, log.recovery_point());
  const std::size_t dirty = std::min(floor_index(list, first_dirty), active);
  std::int64_t earliest_first_batch = INT64_MAX;
  for (std::size_t i = dirty; i < active; ++i) {
    const Segment& segment = *list[i];
    if (segment.first_batch_timestamp() >= 0)
      earliest_first_batch = std::min(earliest_first_batch, segment.first_batch_timestamp());
    if (min_lag_ms > 0 && segment.base_offset() < bound && largest_timestamp(segment) > now_ms - min_lag_ms)
      bound = std::min(bound, segment.base_offset());
  }
  // Whole segments only: round the bound down to the base of the segment holding it.
  std::size_t uncleanable = std::min(floor_index(list, bound), active);
  if (list[uncleanable]->base_offset() > bound) uncleanable = 0;
  range.dirty_index = dirty;
  range.uncleanable_index = std::max(uncleanable, dirty);
  for (std::size_t i = 0; i < dirty; ++i) range.info.clean_bytes += list[i]->committed_bytes();
  for (std::size_t i = dirty; i < range.uncleanable_index; ++i) range.info.dirty_bytes += list[i]->committed_bytes();
  if (range.uncleanable_index > dirty)
    range.info.first_uncleanable_offset = list[range.uncleanable_index]->base_offset();
  const std::uint64_t total = range.info.clean_bytes + range.info.dirty_bytes;
  range.info.dirty_ratio = total == 0 ? 0 : double(range.info.dirty_bytes) / double(total);
  if (max_lag_ms > 0 && max_lag_ms < INT64_MAX && earliest_first_batch != INT64_MAX)
    range.info.compaction_delay_ms = now_ms - max_lag_ms - earliest_first_batch;
  return range;
}

}  // namespace

std::int64_t first_dirty_offset(const Log& log, std::optional<std::int64_t> checkpointed) {
  const std::int64_t start = log.log_start_offset();
  if (!checkpointed || *checkpointed < start || *checkpointed > log.log_end_offset()) return start;
  return *checkpointed;
}

CleanableRange cleanable_range(const Log& log, std::int64_t first_dirty, std::int64_t now_ms,
                               std::int64_t min_compaction_lag_ms, std::int64_t max_compaction_lag_ms,
                               bool durable_only) {
  auto snapshot = log.segments();
  return compute_range(log, *snapshot, first_dirty, now_ms, min_compaction_lag_ms, max_compaction_lag_ms,
                       durable_only)
      .info;
}

std::optional<std::size_t> choose_log_to_clean(std::span<const CleanCandidate> candidates, std::int64_t now_ms,
                                               bool durable_only) {
  std::optional<std::size_t> best;
  double best_ratio = -1;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const CleanCandidate& c = candidates[i];
    CleanableRange range = cleanable_range(*c.log, c.first_dirty_offset, now_ms, c.min_compaction_lag_ms,
                                           c.max_compaction_lag_ms, durable_only);
    if (range.dirty_bytes == 0) continue;
    const bool must = range.compaction_delay_ms > 0;
    if (!must && !(range.dirty_ratio > c.min_cleanable_dirty_ratio)) continue;
    if (range.dirty_ratio > best_ratio) best_ratio = range.dirty_ratio, best = i;
  }
  return best;
}

Result<OffsetCheckpoint> read_cleaner_checkpoint(const std::filesystem::path& log_dir) {
  return read_offset_checkpoint(log_dir / cleaner_offset_checkpoint_file);
}

Status write_cleaner_checkpoint(const std::filesystem::path& log_dir, const OffsetCheckpoint& offsets) {
  return write_offset_checkpoint(log_dir / cleaner_offset_checkpoint_file, offsets);
}

// ---------------------------------------------------------------- CleanPlan

CleanPlan& CleanPlan::operator=(CleanPlan&& other) noexcept {
  if (this != &other) {
    discard();
    dir = std::move(other.dir);
    groups = std::move(other.groups);
    first_dirty_offset_next = other.first_dirty_offset_next;
    stats = other.stats;
    suffix = other.suffix;
    other.groups.clear();
  }
  return *this;
}

void CleanPlan::discard() {
  for (const auto& group : groups) {
    for (const char* kind : {".log", ".index", ".timeindex"}) {
      auto path = dir / (segment_file_name(group.segment->base_offset(), kind) + suffix);
      if (file_io().unlink(path.c_str()) != 0 && errno != ENOENT)
        LOG_WARN("storage.cleaner_unlink_failed", "path=%s errno=%d", path.c_str(), errno);
    }
  }
  groups.clear();
}

// ---------------------------------------------------------------- Cleaner

namespace {

// The state of one prepare: the request, the map, the output being written, the stats.
class CleanRun {
 public:
  CleanRun(const CleanRequest& request, const CleanerConfig& config, OffsetMap& map, Throttler* throttler,
           std::vector<std::byte>* read_buffer, CleanStats* stats)
      : request_(request), config_(config), map_(map), throttler_(throttler), read_buffer_(read_buffer),
        stats_(stats) {}

  // Fills the map from the dirty segments [dirty_index, uncleanable_index).
  Status build_map(const std::vector<std::shared_ptr<Segment>>& list, std::size_t dirty_index,
                   std::size_t uncleanable_index, std::int64_t first_dirty);
  // Rewrites the segments of one group into `out`.
  Status clean_group(const std::vector<std::shared_ptr<Segment>>& group, Segment& out);

 private:
  Status cancelled() const {
    if (request_.cancel != nullptr && request_.cancel->load(std::memory_order_relaxed))
      return Status::from_errno(ECANCELED, "clean cancelled");
    return Status::ok();
  }
  // The reader's next batch, unless the clean was cancelled (an error then).
  Result<bool> next_batch(BatchReader& reader, RecordBatchHeader* header, std::span<const std::byte>* batch) const {
    if (Status s = cancelled(); !s.is_ok()) return s;
    return reader.next(header, batch);
  }
  Result<std::span<const std::byte>> record_area(const RecordBatchHeader& header, std::span<const std::byte> batch);
  // Returns true when the map filled up inside this batch.
  Result<bool> map_batch(const RecordBatchHeader& header, std::span<const std::byte> batch, std::int64_t first_dirty);
  Status clean_batch(const RecordBatchHeader& header, std::span<const std::byte> batch, bool last_of_group, Segment& out);
  bool keep_record(const RecordBatchHeader& header, const RecordFields& record, bool* tombstone);
  bool retain_empty(const RecordBatchHeader& header, bool last_of_group) const;
  Status write(std::span<const std::byte> batch, Segment& out);

  const CleanRequest& request_;
  const CleanerConfig& config_;
  OffsetMap& map_;
  Throttler* throttler_;
  std::vector<std::byte>* read_buffer_;
  CleanStats* stats_;
  std::vector<std::byte> decompressed_;
  std::vector<std::byte> area_;  // records of a batch being rebuilt
  std::vector<std::byte> built_;
  std::vector<RecordFields> records_;
};

Result<std::span<const std::byte>> CleanRun::record_area(const RecordBatchHeader& header,
                                                         std::span<const std::byte> batch) {
  auto payload = batch.subspan(record_batch_header_bytes);
  if (header.compression() == 0) return payload;
  auto decompressed = decompress_records(header.compression(), payload, decompressed_records_bytes_max);
  if (!decompressed.is_ok()) return decompressed.status();
  decompressed_ = std::move(decompressed).value();
  return std::span<const std::byte>(decompressed_);
}

Result<bool> CleanRun::map_batch(const RecordBatchHeader& header, std::span<const std::byte> batch,
                                 std::int64_t first_dirty) {
  if (header.is_control()) {
    stats_->map_records_read += static_cast<std::uint64_t>(std::max(header.record_count, 0));
    map_.update_latest_offset(header.last_offset());
    return false;
  }
  auto area = record_area(header, batch);
  if (!area.is_ok()) return area.status();
  std::size_t position = 0;
  RecordFields record;
  for (std::int32_t i = 0; i < header.record_count; ++i) {
    if (!next_record(area.value(), &position, &record))
      return Status::error("cleaner: malformed records in batch at offset " + std::to_string(header.base_offset));
    const std::int64_t offset = header.base_offset + record.offset_delta;
    if (record.has_key && offset >= first_dirty) {
      if (map_.full()) return true;
      map_.put(record.key, offset);
    }
    ++stats_->map_records_read;
  }
  map_.update_latest_offset(header.last_offset());
  return false;
}

Status CleanRun::build_map(const std::vector<std::shared_ptr<Segment>>& list, std::size_t dirty_index,
                           std::size_t uncleanable_index, std::int64_t first_dirty) {
  for (std::size_t i = dirty_index; i < uncleanable_index; ++i) {
    const Segment& segment = *list[i];
    const std::int64_t next_start = list[i + 1]->base_offset();
    BatchReader reader(segment, segment.offset_index().lookup(first_dirty).position, read_buffer_,
                       config_.io_buffer_bytes, throttler_);
    RecordBatchHeader header;
    std::span<const std::byte> batch;
    for (;;) {
      auto more = next_batch(reader, &header, &batch);
      if (!more.is_ok()) return more.status();
      if (!more.value()) break;
      if (header.last_offset() < first_dirty) continue;
      auto filled = map_batch(header, batch, first_dirty);
      if (!filled.is_ok()) return filled.status();
      if (filled.value()) {
        stats_->map_bytes_read += reader.bytes_read();
        return Status::ok();
      }
    }
    stats_->map_bytes_read += reader.bytes_read();
    // A gap at the end of a segment (compacted away) is covered too.
    map_.update_latest_offset(next_start - 1);
  }
  return Status::ok();
}

bool CleanRun::keep_record(const RecordBatchHeader& header, const RecordFields& record, bool* tombstone) {
  // Kafka's Cleaner.shouldRetainRecord.
  const std::int64_t offset = header.base_offset + record.offset_delta;
  *tombstone = !record.has_value;
  if (offset > map_.latest_offset()) return true;
  if (!record.has_key) {
    ++stats_->null_key_records;
    return false;
  }
  if (offset < map_.get(record.key)) return false;
  if (record.has_value) return true;
  const bool horizon_passed = header.has_delete_horizon() && request_.now_ms >= header.base_timestamp;
  if (horizon_passed) ++stats_->tombstones_removed;
  return !horizon_passed;
}

bool CleanRun::retain_empty(const RecordBatchHeader& header, bool last_of_group) const {
  if (last_of_group) return true;
  if (header.producer_id < 0) return false;
  auto it = request_.producer_last_offsets.find(header.producer_id);
  return it != request_.producer_last_offsets.end() && it->second == header.last_offset();
}

Status CleanRun::write(std::span<const std::byte> batch, Segment& out) {
  RecordBatchHeader header = parse_record_batch_header(batch.data());
  // The facts recovery checks, checked before the bytes join a segment.
  SLUICE_ASSERT(header.batch_bytes() == static_cast<std::int64_t>(batch.size()), "batch_length=%d size=%zu",
                header.batch_length, batch.size());
  SLUICE_ASSERT(compute_record_batch_crc(batch.data(), batch.size()) == header.crc, "base_offset=%lld",
                (long long)header.base_offset);
  if (Status s = out.append(batch, header); !s.is_ok()) return s;
  stats_->bytes_written += batch.size();
  if (throttler_ != nullptr) throttler_->maybe_throttle(batch.size());
  return Status::ok();
}

Status CleanRun::clean_batch(const RecordBatchHeader& header, std::span<const std::byte> batch, bool last_of_group,
                             Segment& out) {
  ++stats_->batches_read;
  if (header.is_control()) {  // kept as it is (see cleaner.h)
    stats_->records_read += static_cast<std::uint64_t>(std::max(header.record_count, 0));
    stats_->records_kept += static_cast<std::uint64_t>(std::max(header.record_count, 0));
    ++stats_->batches_copied;
    return write(batch, out);
  }
  auto area = record_area(header, batch);
  if (!area.is_ok()) return area.status();
  records_.clear();
  std::size_t position = 0;
  bool kept_tombstone = false;
  RecordFields record;
  for (std::int32_t i = 0; i < header.record_count; ++i) {
    if (!next_record(area.value(), &position, &record))
      return Status::error("cleaner: malformed records in batch at offset " + std::to_string(header.base_offset));
    bool tombstone = false;
    if (!keep_record(header, record, &tombstone)) continue;
    kept_tombstone |= tombstone;
    records_.push_back(record);
  }
  if (position != area.value().size())
    return Status::error("cleaner: bytes after the records of batch at offset " + std::to_string(header.base_offset));
  stats_->records_read += static_cast<std::uint64_t>(header.record_count);
  stats_->records_kept += records_.size();
  if (records_.empty()) {
    if (!retain_empty(header, last_of_group)) return Status::ok();
    ++stats_->batches_emptied;
    built_ = empty_batch(header);
    return write(built_, out);
  }
  // KIP-534: the first clean that keeps a tombstone stamps its batch with the delete horizon.
  const bool set_horizon = kept_tombstone && !header.has_delete_horizon();
  if (records_.size() == static_cast<std::size_t>(header.record_count) && !set_horizon) {
    ++stats_->batches_copied;
    return write(batch, out);
  }
  const bool log_append_time = header.timestamp_type() == timestamp_type_log_append_time;
  auto timestamp_of = [&](const RecordFields& r) {
    return log_append_time ? header.max_timestamp : header.base_timestamp + r.timestamp_delta;
  };
  RecordBatchHeader rebuilt = header;
  std::int64_t horizon = -1;
  if (set_horizon) horizon = request_.now_ms + request_.delete_retention_ms;
  else if (header.has_delete_horizon()) horizon = header.base_timestamp;
  rebuilt.base_timestamp = horizon >= 0 ? horizon : timestamp_of(records_.front());
  rebuilt.max_timestamp = -1;
  area_.clear();
  for (const RecordFields& r : records_) {
    const std::int64_t timestamp = timestamp_of(r);
    rebuilt.max_timestamp = std::max(rebuilt.max_timestamp, timestamp);
    encode_record(area_, r, timestamp - rebuilt.base_timestamp);
  }
  if (log_append_time) rebuilt.max_timestamp = header.max_timestamp;
  rebuilt.record_count = static_cast<std::int32_t>(records_.size());
  rebuilt.attributes = static_cast<std::int16_t>((header.attributes & ~attribute_delete_horizon) |
                                                 (horizon >= 0 ? attribute_delete_horizon : 0));
  std::span<const std::byte> payload = area_;
  std::vector<std::byte> compressed;
  if (header.compression() != 0) {
    auto result = compress_records(header.compression(), area_);
    if (!result.is_ok()) return result.status();
    compressed = std::move(result).value();
    payload = compressed;
  }
  built_.resize(record_batch_header_bytes + payload.size());
  std::memcpy(built_.data() + record_batch_header_bytes, payload.data(), payload.size());
  write_header(built_.data(), rebuilt, built_.size());
  ++stats_->batches_rebuilt;
  return write(built_, out);
}

Status CleanRun::clean_group(const std::vector<std::shared_ptr<Segment>>& group, Segment& out) {
  for (std::size_t i = 0; i < group.size(); ++i) {
    BatchReader reader(*group[i], 0, read_buffer_, config_.io_buffer_bytes, throttler_);
    RecordBatchHeader header;
    std::span<const std::byte> batch;
    for (;;) {
      auto more = next_batch(reader, &header, &batch);
      if (!more.is_ok()) return more.status();
      if (!more.value()) break;
      const bool last_of_group = i + 1 == group.size() && reader.at_end();
      if (Status s = clean_batch(header, batch, last_of_group, out); !s.is_ok()) return s;
    }
    stats_->bytes_read += reader.bytes_read();
  }
  if (Status s = out.seal(); !s.is_ok()) return s;
  return out.flush();
}

// Kafka's groupSegmentsBySize over the segments [0, end_index).
std::vector<std::vector<std::shared_ptr<Segment>>> group_segments(const std::vector<std::shared_ptr<Segment>>& list,
                                                                  std::size_t end_index, const CleanRequest& request,
                                                                  std::int64_t first_uncleanable) {
  std::vector<std::vector<std::shared_ptr<Segment>>> groups;
  auto index_bytes = [](const Segment& s, bool time) {
    return std::uint64_t{time ? s.time_index().file().entry_count() * TimeIndex::entry_bytes
                              : s.offset_index().file().entry_count() * OffsetIndex::entry_bytes};
  };
  std::size_t i = 0;
  while (i < end_index) {
    std::vector<std::shared_ptr<Segment>> group{list[i]};
    std::uint64_t log_bytes = list[i]->committed_bytes();
    std::uint64_t offset_index_bytes = index_bytes(*list[i], false), time_index_bytes = index_bytes(*list[i], true);
    ++i;
    while (i < end_index) {
      const Segment& next = *list[i];
      // The next segment's last offset, estimated by the base of the one after it.
      const std::int64_t next_last = (i + 1 < list.size() ? list[i + 1]->base_offset() : first_uncleanable) - 1;
      if (log_bytes + next.committed_bytes() > request.segment_bytes) break;
      if (offset_index_bytes + index_bytes(next, false) > request.index_bytes_max) break;
      if (time_index_bytes + index_bytes(next, true) > request.index_bytes_max) break;
      if (next.committed_bytes() != 0 && next_last - group.front()->base_offset() > INT32_MAX) break;
      log_bytes += next.committed_bytes();
      offset_index_bytes += index_bytes(next, false);
      time_index_bytes += index_bytes(next, true);
      group.push_back(list[i]);
      ++i;
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

void unlink_cleaned_leftovers(const std::filesystem::path& dir, std::int64_t base) {
  for (const char* kind : {".log", ".index", ".timeindex"}) {
    // Only .cleaned: a .swap file belongs to a swap, which runs on the owner thread.
    auto path = dir / (segment_file_name(base, kind) + ".cleaned");
    (void)file_io().unlink(path.c_str());
  }
}

}  // namespace

Cleaner::Cleaner(const CleanerConfig& config, Throttler* throttler)
    : config_(config), throttler_(throttler), map_(config.dedupe_buffer_bytes, config.dedupe_load_factor) {
  SLUICE_ASSERT(config.io_buffer_bytes >= record_batch_header_bytes, "io_buffer_bytes=%zu", config.io_buffer_bytes);
}

Result<CleanPlan> Cleaner::prepare(const Log& log, const CleanRequest& request) {
  const std::int64_t started_ns = monotonic_ns();
  const std::int64_t slept_before = throttler_ != nullptr ? throttler_->slept_ns() : 0;
  CleanPlan plan;
  plan.dir = log.dir();
  auto snapshot = log.segments();
  const auto& list = snapshot->segments;
  const std::int64_t first_dirty = first_dirty_offset(log, request.first_dirty_offset);
  Range range = compute_range(log, *snapshot, first_dirty, request.now_ms, request.min_compaction_lag_ms, 0,
                              request.durable_only);
  plan.first_dirty_offset_next = first_dirty;
  if (range.uncleanable_index <= range.dirty_index) return plan;

  std::vector<std::byte> read_buffer;
  CleanRun run(request, config_, map_, throttler_, &read_buffer, &plan.stats);
  map_.clear();
  // The map's memory goes back when this clean ends, whichever way it ends.
  struct ReleaseMap {
    OffsetMap& map;
    ~ReleaseMap() { map.clear(); }
  } release_map{map_};
  if (Status s = run.build_map(list, range.dirty_index, range.uncleanable_index, first_dirty); !s.is_ok()) return s;
  plan.stats.map_utilization = map_.utilization();
  plan.stats.map_duration_ns = monotonic_ns() - started_ns;
  const std::int64_t end_offset = map_.latest_offset() + 1;
  if (end_offset <= first_dirty)
    return Status::error("cleaner: the dedupe buffer cannot hold the keys of the first dirty batch of " +
                         log.dir().string());
  plan.first_dirty_offset_next = end_offset;

  // Segments from the log start through the one holding the map's end; all sealed.
  std::size_t end_index = 0;
  while (end_index < list.size() && list[end_index]->base_offset() < end_offset) ++end_index;
  SLUICE_ASSERT(end_index <= range.uncleanable_index, "end_index=%zu uncleanable_index=%zu", end_index,
                range.uncleanable_index);
  LogConfig out_config;
  out_config.segment_bytes = request.segment_bytes;
  out_config.index_interval_bytes = request.index_interval_bytes;
  out_config.index_bytes_max = request.index_bytes_max;
  for (auto& group : group_segments(list, end_index, request, range.info.first_uncleanable_offset)) {
    const std::int64_t base = group.front()->base_offset();
    unlink_cleaned_leftovers(plan.dir, base);
    auto segment = Segment::create(plan.dir, base, out_config, group.back()->created_ms(), ".cleaned");
    if (!segment.is_ok()) return segment.status();
    plan.groups.push_back(CleanedGroup{std::move(group), std::move(segment).value()});
    CleanedGroup& added = plan.groups.back();
    if (Status s = run.clean_group(added.replaced, *added.segment); !s.is_ok()) return s;
  }
  plan.stats.duration_ns = monotonic_ns() - started_ns;
  plan.stats.throttled_ns = (throttler_ != nullptr ? throttler_->slept_ns() : 0) - slept_before;
  LOG_INFO("storage.cleaner_prepared",
           "dir=%s groups=%zu first_dirty=%lld end=%lld read_bytes=%llu written_bytes=%llu records=%llu kept=%llu "
           "ms=%lld",
           plan.dir.c_str(), plan.groups.size(), (long long)first_dirty, (long long)end_offset,
           (unsigned long long)plan.stats.bytes_read, (unsigned long long)plan.stats.bytes_written,
           (unsigned long long)plan.stats.records_read, (unsigned long long)plan.stats.records_kept,
           (long long)(plan.stats.duration_ns / 1000000));
  return plan;
}

}  // namespace sluice::storage
