// The Log's flushing: the blocking flush of a clean close, the asynchronous plan the Flusher
// syncs (group commit), write-behind ranges, and the offline state a failed sync leaves.
#include <algorithm>

#include "base/assert.h"
#include "base/log.h"
#include "storage/log.h"
#include "storage/segment.h"

namespace sluice::storage {

Status Log::flush() {
  const std::int64_t end = log_end_offset();
  auto snapshot = segments();
  for (const auto& segment : snapshot->segments) {
    if (segment->base_offset() < unflushed_base_offset_) continue;
    if (Status s = segment->flush(); !s.is_ok()) return s;
  }
  // New segment files need their directory entries on disk too.
  if (directory_dirty_) {
    if (Status s = fsync_dir(dir_); !s.is_ok()) return s;
    directory_dirty_ = false;
  }
  recovery_point_.store(end, std::memory_order_release);
  unflushed_base_offset_ = snapshot->segments.back()->base_offset();
  return Status::ok();
}

FlushPlan Log::plan_flush() {
  FlushPlan plan;
  plan.end_offset = log_end_offset();
  auto snapshot = segments();
  plan.active_base_offset = snapshot->segments.back()->base_offset();
  for (const auto& segment : snapshot->segments) {
    if (segment->base_offset() < unflushed_base_offset_) continue;
    plan.targets.push_back({segment, segment->file()->fd(), true, UniqueFd()});
    if (segment->base_offset() == plan.active_base_offset) continue;
    for (const IndexFile* index : {&segment->offset_index().file(), &segment->time_index().file()}) {
      // A failed open leaves fd -1: its sync fails (EBADF) and the flush fails with it.
      UniqueFd owned = index->open_fd();
      int fd = owned.get();
      plan.targets.push_back({segment, fd, false, std::move(owned)});
    }
  }
  plan.directory = directory_dirty_;
  directory_dirty_ = false;
  SLUICE_ASSERT(!plan.targets.empty(), "dir=%s unflushed_base=%lld", dir_.c_str(), (long long)unflushed_base_offset_);
  return plan;
}

void Log::flush_done(const FlushPlan& plan) {
  SLUICE_ASSERT(plan.end_offset <= log_end_offset(), "end=%lld leo=%lld", (long long)plan.end_offset,
                (long long)log_end_offset());
  if (plan.end_offset > recovery_point()) recovery_point_.store(plan.end_offset, std::memory_order_release);
  // The segment active at planning time had only its .log synced: it stays in the next plan
  // (with its indexes, once it is sealed).
  unflushed_base_offset_ = std::max(unflushed_base_offset_, plan.active_base_offset);
}

void Log::flush_failed(const FlushPlan& plan) {
  if (plan.directory) directory_dirty_ = true;
  set_offline("flush failed");
}

std::optional<WritebackRange> Log::take_writeback(std::uint32_t window_bytes) {
  auto snapshot = segments();
  const auto& active = snapshot->segments.back();
  if (active->base_offset() != writeback_base_offset_) {
    // A roll: the sealed segment's rest is written back by its flush.
    writeback_base_offset_ = active->base_offset();
    writeback_position_ = 0;
  }
  std::uint64_t committed = active->committed_bytes();
  if (committed < writeback_position_ + window_bytes) return std::nullopt;
  WritebackRange range{active, active->file()->fd(), writeback_position_,
                       static_cast<std::uint32_t>(committed - writeback_position_)};
  writeback_position_ = committed;
  return range;
}

void Log::set_offline(const char* reason) {
  if (offline_.exchange(true, std::memory_order_acq_rel)) return;
  LOG_ERROR("storage.log_offline", "dir=%s reason=\"%s\"", dir_.c_str(), reason);
}

}  // namespace sluice::storage
