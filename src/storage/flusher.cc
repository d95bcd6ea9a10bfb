#include "storage/flusher.h"

#include <fcntl.h>

#include <vector>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "metrics/cells.h"
#include "storage/file_io.h"

namespace sluice::storage {

// One sync of one file, part of a round.
struct SyncOp final : io::Completion {
  Flusher::Round* round = nullptr;
  int fd = -1;
  std::int64_t submitted_ns = 0;  // for the fsync latency histogram
  void complete(int result, std::uint32_t flags) override;
};

struct Flusher::Round {
  Flusher* flusher = nullptr;
  Log* log = nullptr;  // null once forgotten
  FlushPlan plan;
  int directory_fd = -1;
  int syncs_pending = 0;
  int error = 0;  // the first failure's errno
  std::int64_t started_ns = 0;  // for the flush (group commit) latency histogram
  std::vector<SyncOp> ops;

  ~Round() {
    if (directory_fd >= 0) file_io().close(directory_fd);
  }
  void sync_finished(int fd, int result) {
    result = file_io().sync_completed(fd, result);
    if (result < 0 && error == 0) error = -result;
    SLUICE_ASSERT(syncs_pending > 0, "fd=%d", fd);
    if (--syncs_pending == 0) flusher->finish_round(this);
  }
};

void SyncOp::complete(int result, std::uint32_t) {
  metrics::local().fsync_latency.observe_ns(monotonic_ns() - submitted_ns);
  round->sync_finished(fd, result);
}

// Write-back started with sync_file_range: nothing waits for it; it holds the segment (and so
// its fd) until the kernel answers.
struct WritebackOp final : io::Completion {
  std::shared_ptr<Segment> segment;
  void complete(int result, std::uint32_t) override {
    if (result < 0 && result != -EINVAL && result != -EOPNOTSUPP)
      LOG_WARN("storage.writeback_failed", "errno=%d", -result);
    delete this;
  }
};

Flusher::Flusher(io::EventLoop& loop) : loop_(loop) {}
Flusher::~Flusher() = default;

void Flusher::flush_to(Log& log, std::int64_t offset, Done done) {
  SLUICE_ASSERT(offset <= log.log_end_offset(), "offset=%lld leo=%lld", (long long)offset,
                (long long)log.log_end_offset());
  if (log.offline()) return done(Status::from_errno(EIO, "log offline: " + log.dir().string()));
  if (offset <= log.recovery_point()) return done(Status::ok());
  LogState& state = logs_[&log];
  state.waiters.emplace(offset, std::move(done));
  if (state.round == nullptr) start_round(log, state);
}

void Flusher::start_round(Log& log, LogState& state) {
  SLUICE_ASSERT(state.round == nullptr);
  SLUICE_ASSERT(!state.waiters.empty());
  auto owned = std::make_unique<Round>();
  Round* round = owned.get();
  round->flusher = this;
  round->log = &log;
  round->started_ns = monotonic_ns();
  round->plan = log.plan_flush();
  std::size_t count = round->plan.targets.size() + (round->plan.directory ? 1 : 0);
  round->ops.resize(count);
  if (round->plan.directory) {
    round->directory_fd = file_io().open(log.dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (round->directory_fd < 0) {
      round->error = errno;
      round->ops.pop_back();
    }
  }
  round->syncs_pending = static_cast<int>(round->ops.size());
  state.round = round;
  rounds_.emplace(round, std::move(owned));
  if (round->ops.empty()) return finish_round(round);
  for (std::size_t i = 0; i < round->ops.size(); ++i) {
    SyncOp& op = round->ops[i];
    op.round = round;
    bool is_file = i < round->plan.targets.size();
    op.fd = is_file ? round->plan.targets[i].fd : round->directory_fd;
    op.submitted_ns = round->started_ns;
    loop_.submit_fsync(&op, op.fd, is_file && round->plan.targets[i].data_only);
  }
}

void Flusher::finish_round(Round* round) {
  auto owned = std::move(rounds_.at(round));
  rounds_.erase(round);
  ++rounds_completed_;
  metrics::local().flush_latency.observe_ns(monotonic_ns() - round->started_ns);
  if (round->log == nullptr) return;  // forgotten meanwhile
  Log& log = *round->log;
  LogState& state = logs_.at(&log);
  state.round = nullptr;
  if (round->error != 0) {
    log.flush_failed(round->plan);
    Status failed = Status::from_errno(round->error, "flush " + log.dir().string());
    LOG_ERROR("storage.flush_failed", "%s", failed.to_string().c_str());
    release_waiters(state, 0, failed, true);
  } else {
    log.flush_done(round->plan);
    release_waiters(state, log.recovery_point(), Status::ok(), false);
  }
  // Waiters may have asked again from their callbacks; `state` stays valid (no erase above).
  if (!state.waiters.empty() && state.round == nullptr && !log.offline()) start_round(log, state);
}

void Flusher::release_waiters(LogState& state, std::int64_t durable_offset, const Status& status, bool all) {
  // Take them out first: a callback may call flush_to again.
  std::vector<Done> ready;
  auto end = all ? state.waiters.end() : state.waiters.upper_bound(durable_offset);
  for (auto it = state.waiters.begin(); it != end; ++it) ready.push_back(std::move(it->second));
  state.waiters.erase(state.waiters.begin(), end);
  waiters_served_ += ready.size();
  for (auto& done : ready) done(status);
}

void Flusher::forget(Log& log) {
  auto it = logs_.find(&log);
  if (it == logs_.end()) return;
  if (it->second.round != nullptr) it->second.round->log = nullptr;
  LogState state = std::move(it->second);
  logs_.erase(it);
  release_waiters(state, 0, Status::from_errno(EIO, "log closed: " + log.dir().string()), true);
}

void Flusher::write_behind(Log& log, std::uint32_t window_bytes) {
  auto range = log.take_writeback(window_bytes);
  if (!range) return;
  auto* op = new WritebackOp;
  op->segment = std::move(range->segment);
  loop_.submit_sync_file_range(op, range->fd, range->position, range->bytes);
}

}  // namespace sluice::storage
