#include "storage/segment.h"
#include "storage/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "base/assert.h"
#include "base/clock.h"
#include "base/endian.h"

namespace sluice::storage {

std::string segment_file_name(std::int64_t base_offset, const char* suffix) {
  char name[64];
  std::snprintf(name, sizeof name, "%020" PRId64 "%s", base_offset, suffix);
  return name;
}

Result<std::size_t> pread_full(int fd, std::byte* out, std::size_t bytes, std::uint64_t position) {
  std::size_t done = 0;
  while (done < bytes) {
    ssize_t n = file_io().pread(fd, out + done, bytes - done, static_cast<off_t>(position + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::from_errno(errno, "pread");
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Status pwrite_full(int fd, const std::byte* data, std::size_t bytes, std::uint64_t position) {
  std::size_t done = 0;
  while (done < bytes) {
    ssize_t n = file_io().pwrite(fd, data + done, bytes - done, static_cast<off_t>(position + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::from_errno(errno, "pwrite");
    SLUICE_ASSERT(n > 0, "pwrite returned 0");
    done += static_cast<std::size_t>(n);
  }
  return Status::ok();
}

Status fsync_path(const std::filesystem::path& path, int open_flags) {
  int fd = file_io().open(path.c_str(), O_RDONLY | O_CLOEXEC | open_flags, 0);
  if (fd < 0) return Status::from_errno(errno, "open " + path.string());
  int rc = file_io().fsync(fd);
  int saved = errno;
  file_io().close(fd);
  if (rc != 0) return Status::from_errno(saved, "fsync " + path.string());
  return Status::ok();
}

Status fsync_dir(const std::filesystem::path& dir) { return fsync_path(dir, O_DIRECTORY); }

// ---------------------------------------------------------------- BatchHeaderScanner

Result<bool> BatchHeaderScanner::next(RecordBatchHeader* header, std::uint64_t* position) {
  if (position_ + record_batch_header_bytes > end_) return false;
  bool buffered = position_ >= buffer_position_ &&
                  position_ + record_batch_header_bytes <= buffer_position_ + buffer_bytes_;
  if (!buffered) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buffer_, end_ - position_));
    auto got = pread_full(fd_, buffer_, want, position_);
    if (!got.is_ok()) return got.status();
    buffer_position_ = position_;
    buffer_bytes_ = got.value();
    if (buffer_bytes_ < record_batch_header_bytes) return false;
  }
  *header = parse_record_batch_header(buffer_ + (position_ - buffer_position_));
  if (header->batch_length < static_cast<std::int32_t>(record_batch_header_bytes - record_batch_log_overhead_bytes))
    return false;
  auto bytes = static_cast<std::uint64_t>(header->batch_bytes());
  if (position_ + bytes > end_) return false;
  *position = position_;
  position_ += bytes;
  return true;
}

// ---------------------------------------------------------------- Segment

Segment::Segment(std::filesystem::path dir, std::int64_t base_offset, const LogConfig& config)
    : dir_(std::move(dir)), base_offset_(base_offset), config_(config) {
  max_timestamp_offset_.store(base_offset, std::memory_order_relaxed);
}

namespace {
Result<std::shared_ptr<SegmentFile>> open_log_file(const std::filesystem::path& path, bool create) {
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  int fd = file_io().open(path.c_str(), flags, 0644);
  if (fd < 0) return Status::from_errno(errno, "open " + path.string());
  return std::make_shared<SegmentFile>(fd, path);
}

Result<std::uint64_t> file_bytes(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Status::from_errno(errno, "fstat");
  return static_cast<std::uint64_t>(st.st_size);
}
}  // namespace

Result<std::shared_ptr<Segment>> Segment::create(const std::filesystem::path& dir, std::int64_t base_offset,
                                                 const LogConfig& config, std::int64_t now_ms,
                                                 const char* file_suffix) {
  SLUICE_ASSERT(base_offset >= 0, "base_offset=%lld", (long long)base_offset);
  std::shared_ptr<Segment> segment(new Segment(dir, base_offset, config));
  auto file = open_log_file(dir / (segment_file_name(base_offset, ".log") + file_suffix), true);
  if (!file.is_ok()) return file.status();
  segment->file_ = std::move(file).value();
  auto bytes = file_bytes(segment->file_->fd());
  if (!bytes.is_ok()) return bytes.status();
  if (bytes.value() != 0) return Status::from_errno(EEXIST, "segment exists: " + segment->file_->path().string());
  auto offset_index = OffsetIndex::open(dir / (segment_file_name(base_offset, ".index") + file_suffix), base_offset,
                                        config.index_bytes_max, false);
  if (!offset_index.is_ok()) return offset_index.status();
  auto time_index = TimeIndex::open(dir / (segment_file_name(base_offset, ".timeindex") + file_suffix), base_offset,
                                    config.index_bytes_max, false);
  if (!time_index.is_ok()) return time_index.status();
  segment->offset_index_ = std::move(offset_index).value();
  segment->time_index_ = std::move(time_index).value();
  // Leftover index files of an empty segment describe nothing.
  segment->offset_index_->file().truncate_entries(0);
  segment->time_index_->file().truncate_entries(0);
  segment->make_active();
  segment->created_ms_ = now_ms;
  return segment;
}

Result<std::shared_ptr<Segment>> Segment::open(const std::filesystem::path& dir, std::int64_t base_offset,
                                               const LogConfig& config, bool* index_ok) {
  std::shared_ptr<Segment> segment(new Segment(dir, base_offset, config));
  auto file = open_log_file(dir / segment_file_name(base_offset, ".log"), false);
  if (!file.is_ok()) return file.status();
  segment->file_ = std::move(file).value();
  auto bytes = file_bytes(segment->file_->fd());
  if (!bytes.is_ok()) return bytes.status();
  std::uint64_t size = bytes.value();
  auto offset_path = dir / segment_file_name(base_offset, ".index");
  auto time_path = dir / segment_file_name(base_offset, ".timeindex");
  bool indexes_exist = std::filesystem::exists(offset_path) && std::filesystem::exists(time_path);
  auto offset_index = OffsetIndex::open(offset_path, base_offset, config.index_bytes_max, false);
  if (!offset_index.is_ok()) return offset_index.status();
  auto time_index = TimeIndex::open(time_path, base_offset, config.index_bytes_max, false);
  if (!time_index.is_ok()) return time_index.status();
  segment->offset_index_ = std::move(offset_index).value();
  segment->time_index_ = std::move(time_index).value();
  *index_ok = (indexes_exist || size == 0) && segment->offset_index_->sane(size) && segment->time_index_->sane();
  segment->committed_bytes_.store(size, std::memory_order_release);
  segment->preallocated_bytes_ = size;
  segment->file_bytes_written_ = size;
  if (auto last = segment->time_index_->last_entry()) segment->set_max_timestamp(last->timestamp, last->offset);
  if (size >= record_batch_header_bytes) {
    std::byte header[record_batch_header_bytes];
    auto got = pread_full(segment->file_->fd(), header, sizeof header, 0);
    if (!got.is_ok()) return got.status();
    segment->first_batch_timestamp_ = parse_record_batch_header(header).max_timestamp;
  }
  segment->created_ms_ = wall_ms();
  return segment;
}

TimestampOffset Segment::max_timestamp() const {
  for (;;) {
    std::uint64_t before = max_timestamp_sequence_.load(std::memory_order_acquire);
    if (before & 1) continue;
    TimestampOffset value{max_timestamp_.load(std::memory_order_relaxed),
                          max_timestamp_offset_.load(std::memory_order_relaxed)};
    std::atomic_thread_fence(std::memory_order_acquire);
    if (max_timestamp_sequence_.load(std::memory_order_relaxed) == before) return value;
  }
}

void Segment::set_max_timestamp(std::int64_t timestamp, std::int64_t offset) {
  std::uint64_t sequence = max_timestamp_sequence_.load(std::memory_order_relaxed);
  max_timestamp_sequence_.store(sequence + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  max_timestamp_.store(timestamp, std::memory_order_relaxed);
  max_timestamp_offset_.store(offset, std::memory_order_relaxed);
  max_timestamp_sequence_.store(sequence + 2, std::memory_order_release);
}

Status Segment::preallocate(std::uint64_t end) {
  if (end <= preallocated_bytes_) return Status::ok();
  std::uint64_t step = std::max<std::uint64_t>(config_.preallocate_step_bytes, 1);
  std::uint64_t target = (end + step - 1) / step * step;
  target = std::min(target, std::max(end, config_.segment_bytes));
  // KEEP_SIZE: the blocks are reserved but the file size stays the bytes written, so readers and
  // Kafka tools see no zero tail.
  if (file_io().fallocate(file_->fd(), FALLOC_FL_KEEP_SIZE, static_cast<off_t>(preallocated_bytes_),
                static_cast<off_t>(target - preallocated_bytes_)) != 0) {
    if (errno != EOPNOTSUPP && errno != ENOSYS) return Status::from_errno(errno, "fallocate " + file_->path().string());
  }
  preallocated_bytes_ = target;
  return Status::ok();
}

void Segment::index_batch(const RecordBatchHeader& header, std::uint64_t position, std::uint64_t bytes) {
  // Kafka's LogSegment.append/recover: remember the batch with the largest timestamp; once more
  // than index_interval_bytes were written since the last entry, index this batch (its last
  // offset and position) and the max timestamp so far.
  TimestampOffset max = max_timestamp();
  if (header.max_timestamp > max.timestamp) {
    set_max_timestamp(header.max_timestamp, header.last_offset());
    max = {header.max_timestamp, header.last_offset()};
  }
  if (bytes_since_index_entry_ > config_.index_interval_bytes && !offset_index_->file().full() &&
      !time_index_->file().full()) {
    offset_index_->append(header.last_offset(), static_cast<std::uint32_t>(position));
    time_index_->maybe_append(max.timestamp, max.offset);
    bytes_since_index_entry_ = 0;
  }
  bytes_since_index_entry_ += bytes;
}

bool Segment::index_full() const {
  if (indexes_grow_at_append_)
    return offset_index_->file().full_at(config_.index_bytes_max) || time_index_->file().full_at(config_.index_bytes_max);
  return offset_index_->file().full() || time_index_->file().full();
}

Status Segment::grow_indexes() {
  if (Status s = offset_index_->file().make_active(config_.index_bytes_max); !s.is_ok()) return s;
  if (Status s = time_index_->file().make_active(config_.index_bytes_max); !s.is_ok()) return s;
  indexes_grow_at_append_ = false;
  return Status::ok();
}

Status Segment::append(std::span<const std::byte> batch, const RecordBatchHeader& header) {
  if (indexes_grow_at_append_)
    if (Status s = grow_indexes(); !s.is_ok()) return s;
  std::uint64_t position = committed_bytes_.load(std::memory_order_relaxed);
  SLUICE_ASSERT(header.batch_bytes() == static_cast<std::int64_t>(batch.size()), "batch_bytes=%lld size=%zu",
                (long long)header.batch_bytes(), batch.size());
  SLUICE_ASSERT(header.base_offset >= base_offset_ && header.last_offset() - base_offset_ <= INT32_MAX,
                "base=%lld segment=%lld", (long long)header.base_offset, (long long)base_offset_);
  SLUICE_ASSERT(position + batch.size() <= UINT32_MAX, "position=%llu", (unsigned long long)position);
  if (Status s = preallocate(position + batch.size()); !s.is_ok()) return s;
  // The header was checked on the network thread; check the facts recovery relies on once more
  // before the bytes become part of the log.
  SLUICE_ASSERT(header.magic == 2, "magic=%d", header.magic);
  SLUICE_ASSERT(parse_record_batch_header(batch.data()).base_offset == header.base_offset, "base=%lld",
                (long long)header.base_offset);
  if (Status s = pwrite_full(file_->fd(), batch.data(), batch.size(), position); !s.is_ok()) {
    // Undo a partial write so the next append lands right after the last whole batch. Cutting
    // the file also returns its preallocated blocks.
    file_bytes_written_ = position + batch.size();
    if (file_io().ftruncate(file_->fd(), static_cast<off_t>(position)) == 0) {
      file_bytes_written_ = position;
      preallocated_bytes_ = position;
    }
    return s;
  }
  file_bytes_written_ = position + batch.size();
  if (position == 0) first_batch_timestamp_ = header.max_timestamp;
  index_batch(header, position, batch.size());
  committed_bytes_.store(position + batch.size(), std::memory_order_release);
  return Status::ok();
}

Result<Segment::RecoverResult> Segment::recover(std::int64_t expected_base_offset,
                                                const std::function<void(const RecordBatchHeader&)>& on_batch) {
  SLUICE_ASSERT(expected_base_offset == base_offset_, "expected=%lld base=%lld", (long long)expected_base_offset,
                (long long)base_offset_);
  offset_index_->file().truncate_entries(0);
  time_index_->file().truncate_entries(0);
  if (Status s = grow_indexes(); !s.is_ok()) return s;
  set_max_timestamp(-1, base_offset_);
  bytes_since_index_entry_ = 0;
  first_batch_timestamp_ = -1;
  auto size_result = file_bytes(file_->fd());
  if (!size_result.is_ok()) return size_result.status();
  const std::uint64_t size = size_result.value();

  std::vector<std::byte> buffer(1 << 20);
  std::uint64_t buffer_position = 0, buffer_bytes = 0;
  auto ensure = [&](std::uint64_t position, std::uint64_t bytes) -> Status {
    if (position >= buffer_position && position + bytes <= buffer_position + buffer_bytes) return Status::ok();
    if (buffer.size() < bytes) buffer.resize(bytes);
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - position));
    auto got = pread_full(file_->fd(), buffer.data(), want, position);
    if (!got.is_ok()) return got.status();
    buffer_position = position;
    buffer_bytes = got.value();
    return Status::ok();
  };

  std::uint64_t position = 0;
  std::int64_t next_offset = base_offset_;
  while (size - position >= record_batch_header_bytes) {
    if (Status s = ensure(position, record_batch_header_bytes); !s.is_ok()) return s;
    if (position + record_batch_header_bytes > buffer_position + buffer_bytes) break;
    RecordBatchHeader header = parse_record_batch_header(buffer.data() + (position - buffer_position));
    if (header.batch_length < static_cast<std::int32_t>(record_batch_header_bytes - record_batch_log_overhead_bytes)) break;
    auto bytes = static_cast<std::uint64_t>(header.batch_bytes());
    if (position + bytes > size) break;
    if (Status s = ensure(position, bytes); !s.is_ok()) return s;
    if (position + bytes > buffer_position + buffer_bytes) break;
    std::size_t checked = 0;
    const std::byte* p = buffer.data() + (position - buffer_position);
    if (check_batch_on_disk(p, bytes, &checked) != ErrorCode::none) break;
    if (header.base_offset < next_offset || header.last_offset_delta < 0) break;
    if (header.last_offset() - base_offset_ > INT32_MAX) break;
    if (position == 0) first_batch_timestamp_ = header.max_timestamp;
    index_batch(header, position, bytes);
    if (on_batch) on_batch(header);
    next_offset = header.last_offset() + 1;
    position += bytes;
  }
  bool truncated = position < size;
  if (truncated && file_io().ftruncate(file_->fd(), static_cast<off_t>(position)) != 0)
    return Status::from_errno(errno, "ftruncate " + file_->path().string());
  // Kafka appends the largest timestamp seen as a last entry after a recovery, as a close does.
  TimestampOffset max = max_timestamp();
  time_index_->maybe_append(max.timestamp, max.offset, true);
  committed_bytes_.store(position, std::memory_order_release);
  preallocated_bytes_ = position;
  file_bytes_written_ = position;
  return RecoverResult{next_offset, truncated};
}

Result<std::int64_t> Segment::read_next_offset(std::uint64_t* end_position) const {
  std::uint32_t entries = offset_index_->file().entry_count();
  std::uint64_t start = entries == 0 ? 0 : offset_index_->entry(entries - 1).position;
  BatchHeaderScanner scanner(file_->fd(), start, committed_bytes());
  std::int64_t next_offset = base_offset_;
  RecordBatchHeader header;
  std::uint64_t position = 0;
  for (;;) {
    auto more = scanner.next(&header, &position);
    if (!more.is_ok()) return more.status();
    if (!more.value()) break;
    next_offset = header.last_offset() + 1;
  }
  *end_position = scanner.position();
  return next_offset;
}

void Segment::index_files_renamed(const std::filesystem::path& dir) {
  offset_index_->file().set_path(dir / segment_file_name(base_offset_, ".index"));
  time_index_->file().set_path(dir / segment_file_name(base_offset_, ".timeindex"));
}

Status Segment::seal() {
  // An index that never grew (no append since the segment became active) holds exactly its
  // entries, the newest timestamp among them: nothing to add or trim.
  indexes_grow_at_append_ = false;
  TimestampOffset max = max_timestamp();
  time_index_->maybe_append(max.timestamp, max.offset, true);
  if (Status s = offset_index_->file().trim(); !s.is_ok()) return s;
  if (Status s = time_index_->file().trim(); !s.is_ok()) return s;
  std::uint64_t size = committed_bytes();
  if (preallocated_bytes_ > size) {
    // Give back the preallocated blocks past the end of the file.
    if (file_io().fallocate(file_->fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(size),
                  static_cast<off_t>(preallocated_bytes_ - size)) != 0 &&
        errno != EOPNOTSUPP && errno != ENOSYS) {
      return Status::from_errno(errno, "fallocate punch " + file_->path().string());
    }
    preallocated_bytes_ = size;
  }
  return Status::ok();
}

Status Segment::flush() {
  if (file_io().fdatasync(file_->fd()) != 0) return Status::from_errno(errno, "fdatasync " + file_->path().string());
  if (Status s = offset_index_->file().sync(); !s.is_ok()) return s;
  return time_index_->file().sync();
}

Status Segment::remove_files() {
  for (const char* suffix : {".log", ".index", ".timeindex"}) {
    auto path = dir_ / segment_file_name(base_offset_, suffix);
    if (file_io().unlink(path.c_str()) != 0 && errno != ENOENT) return Status::from_errno(errno, "unlink " + path.string());
  }
  return Status::ok();
}

}  // namespace sluice::storage
