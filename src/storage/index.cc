#include "storage/index.h"
#include "storage/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "base/assert.h"
#include "base/endian.h"
#include "base/log.h"

namespace sluice::storage {

// ---------------------------------------------------------------- IndexFile

Result<std::unique_ptr<IndexFile>> IndexFile::open(const std::filesystem::path& path, std::uint32_t entry_bytes,
                                                   std::uint32_t capacity_bytes, bool active) {
  SLUICE_ASSERT(entry_bytes == 8 || entry_bytes == 12, "entry_bytes=%u", entry_bytes);
  UniqueFd fd(file_io().open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Status::from_errno(errno, "open " + path.string());
  std::unique_ptr<IndexFile> file(new IndexFile(path, entry_bytes));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Status::from_errno(errno, "fstat " + path.string());
  auto file_bytes = static_cast<std::uint64_t>(st.st_size);
  file->file_bytes_ = file_bytes;
  std::uint32_t entries = static_cast<std::uint32_t>(file_bytes / entry_bytes);
  std::uint32_t capacity_entries = capacity_bytes / entry_bytes;
  file->entry_count_.store(entries, std::memory_order_release);
  if (active) {
    capacity_entries = std::max(capacity_entries, entries);
    std::size_t bytes = std::size_t{capacity_entries} * entry_bytes;
    // Kafka sizes the active index file to the maximum with setLength (a sparse file).
    if (file_io().ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0)
      return Status::from_errno(errno, "ftruncate " + path.string());
    file->file_bytes_ = bytes;
    if (Status s = file->map(fd.get(), bytes); !s.is_ok()) return s;
    file->entry_count_max_ = capacity_entries;
  } else {
    if (Status s = file->map(fd.get(), std::size_t{entries} * entry_bytes); !s.is_ok()) return s;
    file->entry_count_max_ = entries;
  }
  return file;  // the fd closes here; the mapping keeps the file
}

IndexFile::~IndexFile() {
  if (base_ != nullptr) munmap(base_, mapped_bytes_);
}

UniqueFd IndexFile::open_fd() const {
  UniqueFd fd(file_io().open(path_.c_str(), O_RDWR | O_CLOEXEC, 0));
  if (fd.get() < 0) LOG_ERROR("storage.index_open", "path=%s errno=%d", path_.c_str(), errno);
  return fd;
}

Status IndexFile::with_fd(const std::function<Status(int)>& use) const {
  UniqueFd fd(file_io().open(path_.c_str(), O_RDWR | O_CLOEXEC, 0));
  if (fd.get() < 0) return Status::from_errno(errno, "open " + path_.string());
  return use(fd.get());
}

Status IndexFile::map(int fd, std::size_t bytes) {
  if (bytes <= mapped_bytes_) return Status::ok();
  // A mapping only grows (readers may hold pointers into it); it is replaced only while the
  // index is not shared yet (open, becoming active at open).
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return Status::from_errno(errno, "mmap " + path_.string());
  if (base_ != nullptr) munmap(base_, mapped_bytes_);
  base_ = static_cast<std::byte*>(p);
  mapped_bytes_ = bytes;
  return Status::ok();
}

Status IndexFile::resize(std::size_t bytes, std::size_t map_bytes) {
  return with_fd([&](int fd) {
    if (file_io().ftruncate(fd, static_cast<off_t>(bytes)) != 0)
      return Status::from_errno(errno, "ftruncate " + path_.string());
    file_bytes_ = bytes;
    return map_bytes == 0 ? Status::ok() : map(fd, map_bytes);
  });
}

Status IndexFile::make_active(std::uint32_t capacity_bytes) {
  std::uint32_t capacity_entries = std::max(capacity_bytes / entry_bytes_, entry_count());
  std::size_t bytes = std::size_t{capacity_entries} * entry_bytes_;
  if (Status s = resize(bytes, bytes); !s.is_ok()) return s;
  entry_count_max_ = capacity_entries;
  return Status::ok();
}

void IndexFile::append(const std::byte* entry_bytes) {
  std::uint32_t count = entry_count_.load(std::memory_order_relaxed);
  SLUICE_ASSERT(count < entry_count_max_, "index %s full: %u entries", path_.c_str(), count);
  SLUICE_ASSERT(std::size_t{count + 1} * entry_bytes_ <= mapped_bytes_, "count=%u", count);
  std::memcpy(base_ + std::size_t{count} * entry_bytes_, entry_bytes, entry_bytes_);
  entry_count_.store(count + 1, std::memory_order_release);
}

void IndexFile::truncate_entries(std::uint32_t count) {
  std::uint32_t current = entry_count_.load(std::memory_order_relaxed);
  if (count >= current) return;
  // Only the count moves, as Kafka's truncateToEntries moves its position: nobody reads past the
  // count, and zeroing a 10 MiB preallocated index (each page faulted in and dirtied) made
  // recovery after a crash of 1,000 partitions take minutes and ~20 GB of page cache.
  entry_count_.store(count, std::memory_order_release);
}

Status IndexFile::trim() {
  // The mapping stays as it is: nobody reads past the entries, which stay inside the file.
  std::size_t bytes = std::size_t{entry_count()} * entry_bytes_;
  if (file_bytes_ != bytes)
    if (Status s = resize(bytes, 0); !s.is_ok()) return s;
  entry_count_max_ = entry_count();
  return Status::ok();
}

Status IndexFile::sync() {
  // fsync writes back the pages dirtied through the shared mapping and a trimmed size.
  return with_fd([&](int fd) {
    return file_io().fsync(fd) == 0 ? Status::ok() : Status::from_errno(errno, "fsync " + path_.string());
  });
}

// ---------------------------------------------------------------- OffsetIndex

Result<std::unique_ptr<OffsetIndex>> OffsetIndex::open(const std::filesystem::path& path, std::int64_t base_offset,
                                                       std::uint32_t index_bytes_max, bool active) {
  auto file = IndexFile::open(path, entry_bytes, index_bytes_max, active);
  if (!file.is_ok()) return file.status();
  return std::unique_ptr<OffsetIndex>(new OffsetIndex(std::move(file).value(), base_offset));
}

void OffsetIndex::append(std::int64_t offset, std::uint32_t position) {
  std::int64_t relative = offset - base_offset_;
  SLUICE_ASSERT(relative >= 0 && relative <= INT32_MAX, "offset=%lld base=%lld", (long long)offset,
                (long long)base_offset_);
  std::uint32_t count = file_->entry_count();
  if (count > 0) {
    OffsetPosition last = entry(count - 1);
    SLUICE_ASSERT(offset > last.offset, "offset=%lld last=%lld", (long long)offset, (long long)last.offset);
    SLUICE_ASSERT(position > last.position, "position=%u last=%u", position, last.position);
  }
  std::byte raw[entry_bytes];
  store_be32(raw, static_cast<std::uint32_t>(relative));
  store_be32(raw + 4, position);
  file_->append(raw);
}

OffsetPosition OffsetIndex::entry(std::uint32_t index) const {
  const std::byte* p = file_->entry(index);
  return {base_offset_ + load_be32(p), load_be32(p + 4)};
}

OffsetPosition OffsetIndex::lookup(std::int64_t target) const {
  std::uint32_t count = file_->entry_count();
  // Binary search for the last entry with offset <= target.
  std::uint32_t low = 0, high = count;
  while (low < high) {
    std::uint32_t middle = low + (high - low) / 2;
    if (entry(middle).offset <= target) low = middle + 1;
    else high = middle;
  }
  if (low == 0) return {base_offset_, 0};
  return entry(low - 1);
}

std::optional<OffsetPosition> OffsetIndex::lookup_bounded(std::uint64_t position_max, std::int64_t offset_bound) const {
  std::uint32_t count = file_->entry_count();
  std::uint32_t low = 0, high = count;
  while (low < high) {
    std::uint32_t middle = low + (high - low) / 2;
    OffsetPosition e = entry(middle);
    if (e.position <= position_max && e.offset < offset_bound) low = middle + 1;
    else high = middle;
  }
  if (low == 0) return std::nullopt;
  return entry(low - 1);
}

bool OffsetIndex::sane(std::uint64_t log_bytes) const {
  std::uint32_t count = file_->entry_count();
  for (std::uint32_t i = 0; i < count; ++i) {
    OffsetPosition e = entry(i);
    if (e.position >= log_bytes) return false;
    if (i == 0) {
      if (e.position == 0) return false;  // the first batch never gets an entry
      continue;
    }
    OffsetPosition previous = entry(i - 1);
    if (e.offset <= previous.offset || e.position <= previous.position) return false;
  }
  return true;
}

// ---------------------------------------------------------------- TimeIndex

Result<std::unique_ptr<TimeIndex>> TimeIndex::open(const std::filesystem::path& path, std::int64_t base_offset,
                                                   std::uint32_t index_bytes_max, bool active) {
  auto file = IndexFile::open(path, entry_bytes, index_bytes_max, active);
  if (!file.is_ok()) return file.status();
  return std::unique_ptr<TimeIndex>(new TimeIndex(std::move(file).value(), base_offset));
}

TimestampOffset TimeIndex::entry(std::uint32_t index) const {
  const std::byte* p = file_->entry(index);
  return {static_cast<std::int64_t>(load_be64(p)), base_offset_ + load_be32(p + 8)};
}

std::optional<TimestampOffset> TimeIndex::last_entry() const {
  std::uint32_t count = file_->entry_count();
  if (count == 0) return std::nullopt;
  return entry(count - 1);
}

void TimeIndex::maybe_append(std::int64_t timestamp, std::int64_t offset, bool skip_full_check) {
  if (file_->full()) {
    SLUICE_ASSERT(skip_full_check, "time index %s full", file_->path().c_str());
    return;
  }
  std::optional<TimestampOffset> last = last_entry();
  std::int64_t last_timestamp = last ? last->timestamp : -1;
  if (timestamp <= last_timestamp) return;
  if (last) SLUICE_ASSERT(offset >= last->offset, "offset=%lld last=%lld", (long long)offset, (long long)last->offset);
  std::int64_t relative = offset - base_offset_;
  SLUICE_ASSERT(relative >= 0 && relative <= INT32_MAX, "relative=%lld", (long long)relative);
  std::byte raw[entry_bytes];
  store_be64(raw, static_cast<std::uint64_t>(timestamp));
  store_be32(raw + 8, static_cast<std::uint32_t>(relative));
  file_->append(raw);
}

TimestampOffset TimeIndex::lookup(std::int64_t target) const {
  std::uint32_t count = file_->entry_count();
  std::uint32_t low = 0, high = count;
  while (low < high) {
    std::uint32_t middle = low + (high - low) / 2;
    if (entry(middle).timestamp <= target) low = middle + 1;
    else high = middle;
  }
  if (low == 0) return {-1, base_offset_};
  return entry(low - 1);
}

bool TimeIndex::sane() const {
  std::uint32_t count = file_->entry_count();
  for (std::uint32_t i = 1; i < count; ++i) {
    TimestampOffset previous = entry(i - 1), e = entry(i);
    if (e.timestamp <= previous.timestamp || e.offset < previous.offset) return false;
  }
  return count == 0 || entry(0).offset >= base_offset_;
}

}  // namespace sluice::storage
