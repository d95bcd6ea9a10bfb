// The Log's delete retention: whole segments go by age, by total size or below the log start
// offset, which DeleteRecords and the checkpoint move.
#include <algorithm>

#include "base/assert.h"
#include "base/log.h"
#include "storage/log.h"
#include "storage/segment.h"

namespace sluice::storage {

Result<std::size_t> Log::delete_retained_segments(std::int64_t retention_ms, std::int64_t retention_bytes,
                                                  std::int64_t now_ms) {
  auto snapshot = segments();
  const auto& list = snapshot->segments;
  const std::int64_t hwm = high_watermark();
  const std::int64_t start = log_start_offset();
  std::int64_t size_excess = retention_bytes < 0 ? 0 : static_cast<std::int64_t>(size_bytes()) - retention_bytes;
  std::size_t count = 0;
  // Kafka's UnifiedLog.deleteOldSegments: from the oldest, while the predicate holds.
  for (; count + 1 < list.size(); ++count) {
    const Segment& segment = *list[count];
    const std::int64_t next_base = list[count + 1]->base_offset();
    if (next_base > hwm) break;  // would delete offsets a consumer has not been allowed to read
    const auto bytes = static_cast<std::int64_t>(segment.committed_bytes());
    bool below_start = next_base <= start;
    std::int64_t largest = segment.max_timestamp().timestamp;
    if (largest < 0) largest = segment.created_ms();
    bool too_old = retention_ms >= 0 && now_ms - largest > retention_ms;
    bool too_big = retention_bytes >= 0 && size_excess - bytes >= 0;
    if (!below_start && !too_old && !too_big) break;
    size_excess -= bytes;
  }
  if (count == 0) return std::size_t{0};
  std::vector<std::shared_ptr<Segment>> kept(list.begin() + static_cast<std::ptrdiff_t>(count), list.end());
  std::vector<std::shared_ptr<Segment>> removed(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(count));
  const std::int64_t new_start = std::max(start, kept.front()->base_offset());
  // Publish first: new readers no longer find the segments; readers in flight hold them open.
  log_start_offset_.store(new_start, std::memory_order_release);
  publish(std::move(kept));
  if (recovery_point() < new_start) recovery_point_.store(new_start, std::memory_order_release);
  unflushed_base_offset_ = std::max(unflushed_base_offset_, segments()->segments.front()->base_offset());
  for (const auto& segment : removed) {
    if (Status s = segment->remove_files(); !s.is_ok()) return s;
    LOG_INFO("storage.segment_deleted", "dir=%s base_offset=%lld bytes=%llu", dir_.c_str(),
             (long long)segment->base_offset(), (unsigned long long)segment->committed_bytes());
  }
  return count;
}

void Log::advance_log_start_offset(std::int64_t offset) {
  SLUICE_ASSERT(offset > log_start_offset(), "offset=%lld start=%lld", (long long)offset, (long long)log_start_offset());
  SLUICE_ASSERT(offset <= high_watermark(), "offset=%lld hwm=%lld", (long long)offset, (long long)high_watermark());
  log_start_offset_.store(offset, std::memory_order_release);
}

void Log::restore_log_start_offset(std::int64_t offset) {
  if (offset > log_start_offset() && offset <= log_end_offset()) log_start_offset_.store(offset, std::memory_order_release);
}

std::uint64_t Log::size_bytes() const {
  auto snapshot = segments();
  std::uint64_t total = 0;
  for (const auto& segment : snapshot->segments) total += segment->committed_bytes();
  return total;
}

}  // namespace sluice::storage
