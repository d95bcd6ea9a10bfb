#include "storage/log.h"

#include <algorithm>
#include <system_error>

#include "base/assert.h"
#include "base/clock.h"
#include "base/crc32c.h"
#include "base/log.h"
#include "protocol/record_batch.h"
#include "storage/log_dir.h"
#include "storage/segment.h"

namespace sluice::storage {
namespace {

// Parses "<20 digits>.log"; nullopt otherwise.
std::optional<std::int64_t> parse_segment_name(const std::string& name, const char* suffix) {
  std::string_view view(name);
  std::string_view tail(suffix);
  if (view.size() != 20 + tail.size() || view.substr(20) != tail) return std::nullopt;
  std::int64_t value = 0;
  for (char c : view.substr(0, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Index of the segment whose range holds `offset`: the last with base_offset <= offset.
std::optional<std::size_t> floor_segment(const SegmentList& list, std::int64_t offset) {
  auto it = std::upper_bound(list.segments.begin(), list.segments.end(), offset,
                             [](std::int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
  if (it == list.segments.begin()) return std::nullopt;
  return static_cast<std::size_t>(it - list.segments.begin() - 1);
}

// The whole batch at `position` of a segment (header already scanned); nullopt on a read error.
std::optional<std::vector<std::byte>> read_batch(const Segment& segment, const RecordBatchHeader& header,
                                                 std::uint64_t position) {
  SLUICE_ASSERT(header.batch_bytes() >= static_cast<std::int64_t>(record_batch_header_bytes), "batch_length=%d",
                header.batch_length);
  std::vector<std::byte> batch(static_cast<std::size_t>(header.batch_bytes()));
  auto got = pread_full(segment.file()->fd(), batch.data(), batch.size(), position);
  if (!got.is_ok()) {
    LOG_ERROR("storage.read_failed", "path=%s %s", segment.file()->path().c_str(), got.status().to_string().c_str());
    return std::nullopt;
  }
  if (got.value() != batch.size()) return std::nullopt;
  return batch;
}

}  // namespace

Log::Log(std::filesystem::path dir, const LogConfig& config) : dir_(std::move(dir)), config_(config) {}

Log::~Log() = default;

Result<std::unique_ptr<Log>> Log::open(std::filesystem::path dir, const LogConfig& config,
                                       std::int64_t recovery_point, bool clean_shutdown) {
  SLUICE_ASSERT(config.index_bytes_max >= 12, "index_bytes_max=%u", config.index_bytes_max);
  SLUICE_ASSERT(config.segment_bytes >= record_batch_header_bytes, "segment_bytes=%llu",
                (unsigned long long)config.segment_bytes);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::from_errno(ec.value(), "create " + dir.string());
  std::unique_ptr<Log> log(new Log(std::move(dir), config));
  std::vector<std::int64_t> snapshots;
  if (Status s = log->load_segments(recovery_point, clean_shutdown, &snapshots); !s.is_ok()) return s;
  if (Status s = log->rebuild_producer_state(std::move(snapshots)); !s.is_ok()) return s;
  return log;
}

Status Log::load_segments(std::int64_t recovery_point, bool clean_shutdown, std::vector<std::int64_t>* snapshots) {
  // One listing of the directory serves the whole open (10,000 partitions start in about a second,
  // so each listing is a measurable share); a second one only after an interrupted clean was
  // finished.
  auto names = list_file_names(dir_);
  if (!names.is_ok()) return names.status();
  if (std::any_of(names.value().begin(), names.value().end(),
                  [](const std::string& n) { return ends_with(n, ".cleaned") || ends_with(n, ".swap"); })) {
    if (Status s = finish_interrupted_clean(dir_); !s.is_ok()) return s;
    names = list_file_names(dir_);
    if (!names.is_ok()) return names.status();
  }
  std::vector<std::int64_t> bases;
  bool has_epoch_checkpoint = false;
  std::error_code ec;
  for (const std::string& name : names.value()) {
    if (ends_with(name, ".deleted") || ends_with(name, ".cleaned") || ends_with(name, ".tmp")) {
      std::filesystem::remove(dir_ / name, ec);  // leftovers of an interrupted delete/clean/write
      continue;
    }
    if (ends_with(name, ".swap")) {
      LOG_WARN("storage.swap_file_ignored", "path=%s", (dir_ / name).c_str());
      continue;
    }
    if (name == leader_epoch_checkpoint_file) has_epoch_checkpoint = true;
    if (auto base = parse_segment_name(name, ".log")) bases.push_back(*base);
    if (auto offset = parse_segment_name(name, ".snapshot")) snapshots->push_back(*offset);
  }
  std::sort(bases.begin(), bases.end());

  auto epochs = has_epoch_checkpoint ? read_leader_epoch_checkpoint(dir_ / leader_epoch_checkpoint_file)
                                     : Result<std::vector<EpochEntry>>(std::vector<EpochEntry>{});
  if (!epochs.is_ok()) return epochs.status();
  epochs_ = std::move(epochs).value();
  auto epochs_before = epochs_;
  auto on_batch = [this](const RecordBatchHeader& header) {
    // As Kafka's recovery: a batch of a newer leader epoch starts that epoch.
    std::int32_t epoch = header.partition_leader_epoch;
    if (epoch >= 0 && (epochs_.empty() || epoch > epochs_.back().epoch)) epochs_.push_back({epoch, header.base_offset});
  };

  std::vector<std::shared_ptr<Segment>> list;
  std::int64_t log_end_offset = 0;
  if (bases.empty()) {
    auto segment = Segment::create(dir_, 0, config_, wall_ms());
    if (!segment.is_ok()) return segment.status();
    list.push_back(std::move(segment).value());
  } else {
    std::vector<bool> index_ok(bases.size());
    for (std::size_t i = 0; i < bases.size(); ++i) {
      bool ok = false;
      auto segment = Segment::open(dir_, bases[i], config_, &ok);
      if (!segment.is_ok()) return segment.status();
      list.push_back(std::move(segment).value());
      index_ok[i] = ok;
    }
    std::size_t recover_from = list.size();
    if (!clean_shutdown) {
      recover_from = 0;
      for (std::size_t i = 0; i < list.size(); ++i)
        if (list[i]->base_offset() <= recovery_point) recover_from = i;
    }
    std::optional<std::int64_t> last_next_offset;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i < recover_from && index_ok[i]) continue;
      if (i < recover_from) LOG_WARN("storage.index_rebuild", "path=%s", list[i]->file()->path().c_str());
      auto recovered = list[i]->recover(list[i]->base_offset(), on_batch);
      if (!recovered.is_ok()) return recovered.status();
      if (i + 1 == list.size()) last_next_offset = recovered.value().next_offset;
      bool is_last = i + 1 == list.size();
      if (recovered.value().truncated) {
        LOG_WARN("storage.truncated_torn_tail", "path=%s bytes=%llu", list[i]->file()->path().c_str(),
                 (unsigned long long)list[i]->committed_bytes());
        // Kafka drops every segment after the one with invalid bytes.
        for (std::size_t j = i + 1; j < list.size(); ++j)
          if (Status s = list[j]->remove_files(); !s.is_ok()) return s;
        list.resize(i + 1);
        last_next_offset = recovered.value().next_offset;
        is_last = true;
      }
      if (!is_last)
        if (Status s = list[i]->seal(); !s.is_ok()) return s;
      if (is_last) break;
    }
    if (last_next_offset) {
      log_end_offset = *last_next_offset;
    } else {
      std::uint64_t end_position = 0;
      auto next = list.back()->read_next_offset(&end_position);
      if (!next.is_ok()) return next.status();
      log_end_offset = next.value();
      if (end_position != list.back()->committed_bytes()) {
        // A "clean" log with a torn tail (e.g. a marker left by another tool): recover it anyway.
        LOG_WARN("storage.torn_tail_after_clean_stop", "path=%s", list.back()->file()->path().c_str());
        auto recovered = list.back()->recover(list.back()->base_offset(), on_batch);
        if (!recovered.is_ok()) return recovered.status();
        log_end_offset = recovered.value().next_offset;
      }
    }
    list.back()->make_active();
  }
  if (list.size() == 1 && bases.empty()) log_end_offset = list.back()->base_offset();

  // Kafka's truncateFromEnd(logEndOffset): epochs starting at or past the end are gone.
  std::erase_if(epochs_, [&](const EpochEntry& e) { return e.start_offset >= log_end_offset; });
  latest_epoch_.store(epochs_.empty() ? -1 : epochs_.back().epoch, std::memory_order_release);
  if (epochs_ != epochs_before)
    if (Status s = write_leader_epoch_checkpoint(dir_ / leader_epoch_checkpoint_file, epochs_); !s.is_ok()) return s;

  std::int64_t start = list.front()->base_offset();
  log_start_offset_.store(start, std::memory_order_release);
  log_end_offset_.store(log_end_offset, std::memory_order_release);
  high_watermark_.store(log_end_offset, std::memory_order_release);
  std::int64_t point = clean_shutdown ? log_end_offset : std::clamp(recovery_point, start, log_end_offset);
  recovery_point_.store(point, std::memory_order_release);
  publish(std::move(list));
  auto snapshot = segments();
  unflushed_base_offset_ = snapshot->segments[*floor_segment(*snapshot, point)]->base_offset();
  return Status::ok();
}

// The offset of the snapshot to load (the latest at or below the log end, from the last clean
// close), or the log start when none. Deletes the others: those past the end lost their batches to
// recovery; older ones are superseded.
std::int64_t Log::load_producer_snapshot(std::vector<std::int64_t> offsets) {
  std::int64_t start = log_start_offset(), end = log_end_offset();
  std::sort(offsets.rbegin(), offsets.rend());
  std::optional<std::int64_t> loaded;
  std::error_code ec;
  for (std::int64_t offset : offsets) {
    auto path = dir_ / segment_file_name(offset, ".snapshot");
    if (!loaded && offset >= start && offset <= end) {
      auto bytes = read_whole_file(path);
      if (bytes.is_ok() && producer_state_.load_snapshot(bytes.value())) {
        loaded = offset;
        snapshot_on_disk_ = SnapshotOnDisk{offset, crc32c(bytes.value().data(), bytes.value().size())};
        continue;
      }
      LOG_WARN("storage.producer_snapshot_unreadable", "path=%s", path.c_str());
    }
    std::filesystem::remove(path, ec);
  }
  return loaded.value_or(start);
}

Status Log::rebuild_producer_state(std::vector<std::int64_t> snapshots) {
  // Loads the snapshot, then reads the batch headers after it (headers only, never the records)
  // through BatchHeaderScanner. After a clean close that is nothing; without a snapshot (first
  // open, or a crash before any clean close) it is every header of the log.
  producer_state_.clear();
  std::int64_t scan_from = load_producer_snapshot(std::move(snapshots));
  auto snapshot = segments();
  std::size_t first = floor_segment(*snapshot, scan_from).value_or(0);
  for (std::size_t i = first; i < snapshot->segments.size(); ++i) {
    const auto& segment = snapshot->segments[i];
    BatchHeaderScanner scanner(segment->file()->fd(), 0, segment->committed_bytes());
    RecordBatchHeader header;
    std::uint64_t position = 0;
    for (;;) {
      auto more = scanner.next(&header, &position);
      if (!more.is_ok()) return more.status();
      if (!more.value()) break;
      if (header.last_offset() >= scan_from) producer_state_.update(header);
    }
    // Recovery leaves whole batches; a sealed segment of a clean stop is not re-validated.
    if (scanner.position() != segment->committed_bytes())
      LOG_WARN("storage.producer_state_scan_short", "path=%s position=%llu committed=%llu",
               segment->file()->path().c_str(), (unsigned long long)scanner.position(),
               (unsigned long long)segment->committed_bytes());
  }
  return Status::ok();
}

void Log::publish(std::vector<std::shared_ptr<Segment>> list) {
  auto snapshot = std::make_shared<const SegmentList>(SegmentList{std::move(list)});
  std::lock_guard lock(segments_mutex_);
  segments_.swap(snapshot);  // the old snapshot is released outside the lock
}

bool Log::should_roll(const Segment& active, std::uint32_t batch_bytes, std::int64_t last_offset,
                      std::int64_t max_timestamp, std::int64_t now_ms) const {
  // Kafka's LogSegment.shouldRoll (without jitter).
  std::uint64_t size = active.committed_bytes();
  if (size == 0) return false;
  if (size + batch_bytes > config_.segment_bytes) return true;
  if (size + batch_bytes > UINT32_MAX) return true;  // index positions are u32
  std::int64_t first = active.first_batch_timestamp();
  std::int64_t waited = first >= 0 ? max_timestamp - first : now_ms - active.created_ms();
  if (waited > config_.segment_ms) return true;
  if (active.index_full()) return true;
  return last_offset - active.base_offset() > INT32_MAX;
}

Status Log::roll(std::int64_t base_offset, std::int64_t now_ms) {
  auto snapshot = segments();
  if (Status s = snapshot->segments.back()->seal(); !s.is_ok()) return s;
  auto segment = Segment::create(dir_, base_offset, config_, now_ms);
  if (!segment.is_ok()) return segment.status();
  auto list = snapshot->segments;
  list.push_back(std::move(segment).value());
  publish(std::move(list));
  directory_dirty_ = true;
  // Kafka snapshots the producer state at every roll, so recovery after a crash reads only the
  // batches after the newest snapshot. A snapshot past the log end that a crash leaves behind is
  // ignored on open.
  if (producer_state_.producer_count() > 0)
    if (Status s = write_producer_snapshot(base_offset, false); !s.is_ok())
      LOG_WARN("storage.producer_snapshot_failed", "dir=%s error=\"%s\"", dir_.c_str(), s.to_string().c_str());
  LOG_DEBUG("storage.roll", "dir=%s base_offset=%lld", dir_.c_str(), (long long)base_offset);
  return Status::ok();
}

Result<AppendInfo> Log::append(std::span<std::byte> batch, std::int32_t leader_epoch, std::int64_t now_ms) {
  SLUICE_ASSERT(batch.size() >= record_batch_header_bytes, "bytes=%zu", batch.size());
  if (offline()) return Status::from_errno(EIO, "log offline: " + dir_.string());
  RecordBatchHeader header = parse_record_batch_header(batch.data());
  SLUICE_ASSERT(header.magic == 2, "magic=%d", header.magic);
  SLUICE_ASSERT(header.batch_bytes() == static_cast<std::int64_t>(batch.size()), "batch_length=%d bytes=%zu",
                header.batch_length, batch.size());
  SLUICE_ASSERT(header.last_offset_delta >= 0, "last_offset_delta=%d", header.last_offset_delta);
  std::int64_t base_offset = log_end_offset_.load(std::memory_order_relaxed);
  set_base_offset(batch.data(), base_offset);
  set_partition_leader_epoch(batch.data(), leader_epoch);
  header.base_offset = base_offset;
  header.partition_leader_epoch = leader_epoch;

  auto active = segments()->segments.back();
  bool rolled = false;
  if (should_roll(*active, static_cast<std::uint32_t>(batch.size()), header.last_offset(), header.max_timestamp, now_ms)) {
    if (Status s = roll(base_offset, now_ms); !s.is_ok()) return s;
    active = segments()->segments.back();
    rolled = true;
  }
  if (Status s = active->append(batch, header); !s.is_ok()) {
    // Out of space is not the log's fault: the segment undid the partial write, the next append
    // may succeed. Any other failure leaves the file in a state we cannot vouch for.
    if (s.errno_value() != ENOSPC || active->committed_bytes() != active->file_bytes_written())
      set_offline(s.message().c_str());
    return s;
  }
  // The batch is in the log from here on, whatever happens to the epoch checkpoint below: the
  // next batch must not reuse its offsets.
  log_end_offset_.store(header.last_offset() + 1, std::memory_order_release);
  if (leader_epoch >= 0 && leader_epoch > latest_epoch_.load(std::memory_order_relaxed)) {
    if (Status s = assign_epoch(leader_epoch, base_offset); !s.is_ok()) {
      // Recovery rebuilds the epochs from the batch headers, but a disk that fails this write
      // is not trusted with more (Kafka takes the log directory offline).
      set_offline(s.message().c_str());
      return s;
    }
  }
  return AppendInfo{base_offset, header.last_offset(), log_start_offset(), rolled};
}

void Log::set_high_watermark(std::int64_t hwm) {
  SLUICE_ASSERT(hwm >= log_start_offset(), "hwm=%lld log_start=%lld", (long long)hwm, (long long)log_start_offset());
  SLUICE_ASSERT(hwm <= log_end_offset(), "hwm=%lld leo=%lld", (long long)hwm, (long long)log_end_offset());
  high_watermark_.store(hwm, std::memory_order_release);
}

ReadResult Log::read(std::int64_t offset, std::uint32_t max_bytes, bool min_one_batch) const {
  // Load order matters: the bytes below the high watermark were committed before it was stored.
  ReadResult result{ErrorCode::none, std::nullopt, 0, 0, 0};
  if (offline()) {
    result.error = ErrorCode::kafka_storage_error;
    return result;
  }
  result.log_start_offset = log_start_offset();
  result.high_watermark = high_watermark();
  result.log_end_offset = log_end_offset();
  const std::int64_t hwm = result.high_watermark;
  if (offset < result.log_start_offset || offset > result.log_end_offset) {
    result.error = ErrorCode::offset_out_of_range;
    return result;
  }
  if (offset >= hwm) return result;
  auto snapshot = segments();
  auto index = floor_segment(*snapshot, offset);
  if (!index) {
    result.error = ErrorCode::offset_out_of_range;
    return result;
  }
  for (std::size_t i = *index; i < snapshot->segments.size(); ++i) {
    const Segment& segment = *snapshot->segments[i];
    const std::uint64_t committed = segment.committed_bytes();
    const int fd = segment.file()->fd();
    OffsetPosition start = segment.offset_index().lookup(offset);
    BatchHeaderScanner scanner(fd, start.position, committed);
    RecordBatchHeader header;
    std::uint64_t position = 0;
    bool found = false;
    for (;;) {
      auto more = scanner.next(&header, &position);
      if (!more.is_ok()) {
        LOG_ERROR("storage.read_failed", "path=%s %s", segment.file()->path().c_str(),
                  more.status().to_string().c_str());
        result.error = ErrorCode::kafka_storage_error;
        return result;
      }
      if (!more.value()) break;
      if (header.last_offset() >= offset) {
        found = true;
        break;
      }
    }
    if (!found) continue;  // a gap (compacted log): the offset's data starts in a later segment
    if (header.last_offset() >= hwm) return result;
    const std::uint64_t first_bytes = static_cast<std::uint64_t>(header.batch_bytes());
    if (first_bytes > max_bytes) {
      if (min_one_batch)
        result.range = FileRange{segment.file(), fd, position, static_cast<std::uint32_t>(first_bytes)};
      return result;
    }
    const std::uint64_t end_max = std::min<std::uint64_t>(position + max_bytes, committed);
    std::uint64_t end = position + first_bytes;
    // Jump over whole indexed batches that fit, then scan the last few headers.
    if (auto entry = segment.offset_index().lookup_bounded(end_max, hwm); entry && entry->position > end)
      end = entry->position;
    BatchHeaderScanner tail(fd, end, committed);
    std::uint64_t tail_position = 0;
    for (;;) {
      auto more = tail.next(&header, &tail_position);
      if (!more.is_ok() || !more.value()) break;
      if (header.last_offset() >= hwm) break;
      if (tail_position + static_cast<std::uint64_t>(header.batch_bytes()) > end_max) break;
      end = tail_position + static_cast<std::uint64_t>(header.batch_bytes());
    }
    result.range = FileRange{segment.file(), fd, position, static_cast<std::uint32_t>(end - position)};
    return result;
  }
  return result;
}

std::optional<std::pair<std::int64_t, std::int64_t>> Log::offset_for_timestamp(std::int64_t ts) const {
  // Kafka's LogSegment.findOffsetByTimestamp: the time index and the batch headers find the first
  // batch whose max timestamp >= ts; only that batch is read (and decompressed) to find the record.
  // Its max timestamp promises such a record, but a batch whose records disagree with its header
  // is passed over for the next candidate.
  const std::int64_t hwm = high_watermark();
  auto snapshot = segments();
  for (const auto& segment : snapshot->segments) {
    if (segment->base_offset() >= hwm) break;
    if (segment->max_timestamp().timestamp < ts) continue;
    TimestampOffset entry = segment->time_index().lookup(ts);
    OffsetPosition start = segment->offset_index().lookup(entry.offset);
    BatchHeaderScanner scanner(segment->file()->fd(), start.position, segment->committed_bytes());
    RecordBatchHeader header;
    std::uint64_t position = 0;
    for (;;) {
      auto more = scanner.next(&header, &position);
      if (!more.is_ok() || !more.value()) break;
      if (header.last_offset() >= hwm) return std::nullopt;
      if (header.max_timestamp < ts) continue;
      auto batch = read_batch(*segment, header, position);
      if (!batch) return std::nullopt;
      if (auto found = find_record_at_or_after(*batch, ts)) return found;
    }
  }
  return std::nullopt;
}

std::optional<std::pair<std::int64_t, std::int64_t>> Log::max_timestamp_offset() const {
  // Kafka 3.8's fetchOffsetByTimestamp(MAX_TIMESTAMP): the first segment with the largest max
  // timestamp; in it, the batch that set it (the segment remembers its last offset); in that batch,
  // the first record carrying it.
  auto snapshot = segments();
  std::shared_ptr<Segment> best_segment;
  TimestampOffset best{-1, 0};
  for (const auto& segment : snapshot->segments) {
    TimestampOffset max = segment->max_timestamp();
    if (max.timestamp >= 0 && (!best_segment || max.timestamp > best.timestamp)) {
      best = max;
      best_segment = segment;
    }
  }
  if (!best_segment) return std::nullopt;
  const std::pair<std::int64_t, std::int64_t> batch_answer{best.offset, best.timestamp};
  OffsetPosition start = best_segment->offset_index().lookup(best.offset);
  BatchHeaderScanner scanner(best_segment->file()->fd(), start.position, best_segment->committed_bytes());
  RecordBatchHeader header;
  std::uint64_t position = 0;
  for (;;) {
    auto more = scanner.next(&header, &position);
    if (!more.is_ok() || !more.value()) return batch_answer;
    if (header.last_offset() >= best.offset) break;
  }
  if (header.max_timestamp != best.timestamp) return batch_answer;
  auto batch = read_batch(*best_segment, header, position);
  if (!batch) return batch_answer;
  return find_max_timestamp_record(*batch);
}

Status Log::close(bool clean, Durability durability) {
  auto snapshot = segments();
  if (Status s = snapshot->segments.back()->seal(); !s.is_ok()) return s;
  if (!clean) return Status::ok();
  // An offline log's state is unknown: no clean-shutdown state for it, so the next start recovers it.
  if (offline()) return Status::from_errno(EIO, "log offline: " + dir_.string());
  if (durability == Durability::now) {
    if (Status s = flush(); !s.is_ok()) return s;
  }
  // Kafka takes a snapshot at the log end on clean close, so the next open scans nothing. Should
  // a crash lose a snapshot that was not synced yet, its CRC fails at the next open and the
  // headers are scanned instead (load_producer_snapshot).
  return write_producer_snapshot(log_end_offset(), true, durability);
}

void Log::mark_durable_to_end() { recovery_point_.store(log_end_offset(), std::memory_order_release); }

Status Log::write_producer_snapshot(std::int64_t offset, bool only, Durability durability) {
  auto path = dir_ / segment_file_name(offset, ".snapshot");
  std::string encoded = producer_state_.encode_snapshot();
  std::uint32_t crc = crc32c(encoded.data(), encoded.size());
  // At a clean close of a log that took no batch since it was opened, the snapshot it loaded is
  // this one, byte for byte, and was the only one kept: rewriting it (a rename that frees the old
  // file, a discard on some file systems) made the stop of 10,000 idle partitions take 5 s.
  if (only && snapshot_on_disk_ && snapshot_on_disk_->offset == offset && snapshot_on_disk_->crc == crc)
    return Status::ok();
  snapshot_on_disk_.reset();
  if (Status s = write_file_atomically(path, encoded, durability); !s.is_ok()) return s;
  if (only) snapshot_on_disk_ = SnapshotOnDisk{offset, crc};
  // Keep the two newest at a roll (Kafka keeps several; one older helps if the newest is lost
  // with a torn tail); only this one at a clean close.
  std::vector<std::int64_t> offsets;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec))
    if (auto found = parse_segment_name(entry.path().filename().string(), ".snapshot"); found && *found != offset)
      offsets.push_back(*found);
  std::sort(offsets.rbegin(), offsets.rend());
  for (std::size_t i = only ? 0 : 1; i < offsets.size(); ++i)
    std::filesystem::remove(dir_ / segment_file_name(offsets[i], ".snapshot"), ec);
  return Status::ok();
}

Status Log::assign_epoch(std::int32_t epoch, std::int64_t start_offset) {
  std::vector<EpochEntry> copy;
  {
    std::lock_guard lock(epochs_mutex_);
    std::erase_if(epochs_, [&](const EpochEntry& e) { return e.epoch >= epoch || e.start_offset >= start_offset; });
    epochs_.push_back({epoch, start_offset});
    copy = epochs_;
  }
  latest_epoch_.store(epoch, std::memory_order_release);
  return write_leader_epoch_checkpoint(dir_ / leader_epoch_checkpoint_file, copy);
}

std::pair<std::int32_t, std::int64_t> Log::end_offset_for_epoch(std::int32_t epoch) const {
  // Kafka's LeaderEpochFileCache.endOffsetFor.
  constexpr std::pair<std::int32_t, std::int64_t> undefined{-1, -1};
  if (epoch < 0) return undefined;
  std::lock_guard lock(epochs_mutex_);
  if (!epochs_.empty() && epochs_.back().epoch == epoch) return {epoch, log_end_offset()};
  auto higher = std::upper_bound(epochs_.begin(), epochs_.end(), epoch,
                                 [](std::int32_t e, const EpochEntry& entry) { return e < entry.epoch; });
  if (higher == epochs_.end()) return undefined;
  if (higher == epochs_.begin()) return {epoch, higher->start_offset};
  return {std::prev(higher)->epoch, higher->start_offset};
}

std::vector<EpochEntry> Log::epoch_entries() const {
  std::lock_guard lock(epochs_mutex_);
  return epochs_;
}

}  // namespace sluice::storage
