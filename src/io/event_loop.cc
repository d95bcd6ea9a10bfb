#include "io/event_loop.h"

#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "base/clock.h"
#include "base/log.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SLUICE_RUNNING_ON_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#else
#define SLUICE_RUNNING_ON_VALGRIND() false
#endif

namespace sluice::io {
namespace {
std::uint64_t current_thread_id() { return static_cast<std::uint64_t>(pthread_self()); }
}  // namespace

EventLoop::~EventLoop() {
  // Exiting the ring drops the buffer ring's registration (unregistering needs the loop thread
  // under SINGLE_ISSUER, and this may run on another); recv_buffers_ unmaps after this body.
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

Status EventLoop::init(const LoopConfig& config) {
  SLUICE_ASSERT(!ring_ready_);
  if (config.cpu >= 0) {
    Status pinned = pin_current_thread(config.cpu);
    if (!pinned.is_ok()) return pinned;
  }
  // Preferred first; each later set is for older kernels (DEFER_TASKRUN needs 6.1).
  const unsigned flag_sets[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
      0,
  };
  int rc = -EINVAL;
  // Under Valgrind the loop sleeps in poll(2) (see poll_wait_), which does not run deferred
  // completion work: no DEFER_TASKRUN there.
  poll_wait_ = SLUICE_RUNNING_ON_VALGRIND();
  for (unsigned flags : flag_sets) {
    if ((flags & IORING_SETUP_DEFER_TASKRUN) != 0 && (!config.defer_taskrun || poll_wait_)) continue;
    io_uring_params params{};
    params.flags = flags;
    rc = io_uring_queue_init_params(config.ring_entries, &ring_, &params);
    if (rc == 0) {
      defer_taskrun_ = (flags & IORING_SETUP_DEFER_TASKRUN) != 0;
      break;
    }
  }
  if (rc < 0) return Status::from_errno(-rc, "io_uring_queue_init");
  ring_ready_ = true;
  event_fd_ = eventfd(0, EFD_CLOEXEC);
  if (event_fd_ < 0) return Status::from_errno(errno, "eventfd");
  thread_id_ = current_thread_id();
  if (config.recv_buffer_count > 0) {
    auto buffers = std::make_unique<BufferRing>();
    Status registered = buffers->init(&ring_, 0, config.recv_buffer_count, config.recv_buffer_bytes);
    if (registered.is_ok()) {
      recv_buffers_ = std::move(buffers);
    } else {
      LOG_WARN("recv_buffer_ring_unavailable", "error=\"%s\"", registered.to_string().c_str());
    }
  }
  if (config.iowq_unbound_max > 0) {
    if (config.cpu >= 0) {
      cpu_set_t mask;
      CPU_ZERO(&mask);
      CPU_SET(config.cpu, &mask);
      int pinned = io_uring_register_iowq_aff(&ring_, sizeof mask, &mask);
      if (pinned < 0) LOG_WARN("iowq_affinity_failed", "errno=%d", -pinned);
    }
    unsigned workers[2] = {0, config.iowq_unbound_max};  // 0: leave the bounded count as it is
    int limited = io_uring_register_iowq_max_workers(&ring_, workers);
    if (limited < 0) LOG_WARN("iowq_max_workers_failed", "errno=%d", -limited);
  }
  wakeup_.arm();
  return Status::ok();
}

bool EventLoop::on_loop_thread() const { return thread_id_ == current_thread_id(); }

void EventLoop::Wakeup::arm() {
  io_uring_sqe* entry = loop_.sqe(this);
  io_uring_prep_read(entry, loop_.event_fd_, &value, sizeof value, 0);
}

void EventLoop::Wakeup::complete(int result, std::uint32_t) {
  if (result < 0 && result != -EINTR && result != -EAGAIN && result != -ECANCELED) {
    LOG_ERROR("eventfd_read", "errno=%d", -result);
  }
  if (!loop_.stopping_.load()) arm();
}

io_uring_sqe* EventLoop::sqe(Completion* completion) {
  SLUICE_ASSERT(ring_ready_);
  io_uring_sqe* entry = io_uring_get_sqe(&ring_);
  while (entry == nullptr) {
    int submitted = io_uring_submit(&ring_);
    SLUICE_ASSERT(submitted >= 0, "io_uring_submit: %s", std::strerror(-submitted));
    entry = io_uring_get_sqe(&ring_);
  }
  io_uring_sqe_set_data(entry, completion);
  if (completion != nullptr) inflight_.store(inflight_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return entry;
}

void EventLoop::submit_recv(Completion* completion, int fd, void* buffer, std::size_t bytes) {
  io_uring_prep_recv(sqe(completion), fd, buffer, bytes, 0);
}

void EventLoop::submit_multishot_recv(Completion* completion, int fd) {
  SLUICE_ASSERT(recv_buffers_ != nullptr, "multishot recv needs the loop's buffer ring");
  io_uring_sqe* entry = sqe(completion);
  io_uring_prep_recv_multishot(entry, fd, nullptr, 0, 0);
  entry->flags |= IOSQE_BUFFER_SELECT;
  entry->buf_group = recv_buffers_->group_id();
}

void EventLoop::submit_read(Completion* completion, int fd, void* buffer, std::size_t bytes, std::uint64_t offset) {
  io_uring_prep_read(sqe(completion), fd, buffer, static_cast<unsigned>(bytes), offset);
}

void EventLoop::submit_poll(Completion* completion, int fd, unsigned events) {
  io_uring_prep_poll_add(sqe(completion), fd, events);
}

void EventLoop::submit_fsync(Completion* completion, int fd, bool data_only) {
  io_uring_prep_fsync(sqe(completion), fd, data_only ? IORING_FSYNC_DATASYNC : 0);
}

void EventLoop::submit_sync_file_range(Completion* completion, int fd, std::uint64_t position, std::uint32_t bytes) {
  io_uring_prep_sync_file_range(sqe(completion), fd, bytes, position, SYNC_FILE_RANGE_WRITE);
}

void EventLoop::submit_splice(Completion* completion, int fd_in, std::int64_t in_offset, int fd_out, unsigned bytes,
                              unsigned flags) {
  io_uring_prep_splice(sqe(completion), fd_in, in_offset, fd_out, -1, bytes, flags);
}

void EventLoop::submit_splice_pair(Completion* fill, int file_fd, std::int64_t file_offset, int pipe_write_fd,
                                   Completion* drain, int pipe_read_fd, int socket_fd, unsigned bytes,
                                   unsigned drain_flags) {
  // Both entries must go in one submission, or the link would end at the first.
  if (io_uring_sq_space_left(&ring_) < 2) {
    int submitted = io_uring_submit(&ring_);
    SLUICE_ASSERT(submitted >= 0, "io_uring_submit: %s", std::strerror(-submitted));
  }
  io_uring_sqe* first = sqe(fill);
  io_uring_prep_splice(first, file_fd, file_offset, pipe_write_fd, -1, bytes, SPLICE_F_MOVE);
  first->flags |= IOSQE_IO_LINK;
  io_uring_prep_splice(sqe(drain), pipe_read_fd, -1, socket_fd, -1, bytes, drain_flags);
}

void EventLoop::submit_multishot_accept(Completion* completion, int listen_fd, int flags) {
  io_uring_prep_multishot_accept(sqe(completion), listen_fd, nullptr, nullptr, flags);
}

void EventLoop::submit_cancel(Completion* target) {
  io_uring_prep_cancel(sqe(nullptr), target, IORING_ASYNC_CANCEL_ALL);
}

void EventLoop::post(Task task) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(task));
  }
  // Only poke the eventfd when the loop may be asleep in io_uring_enter.
  if (sleeping_.load(std::memory_order_seq_cst)) {
    std::uint64_t one = 1;
    ssize_t written = ::write(event_fd_, &one, sizeof one);
    (void)written;
  }
}

void EventLoop::stop() {
  stopping_.store(true);
  std::uint64_t one = 1;
  ssize_t written = ::write(event_fd_, &one, sizeof one);
  (void)written;
}

EventLoop::TimerId EventLoop::add_timer(std::int64_t delay_ms, Task task) {
  SLUICE_ASSERT(delay_ms >= 0);
  TimerId id = next_timer_id_++;
  auto it = timers_.emplace(monotonic_ms() + delay_ms, std::make_pair(id, std::move(task)));
  timer_index_.emplace(id, it);
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  auto found = timer_index_.find(id);
  if (found == timer_index_.end()) return;
  timers_.erase(found->second);
  timer_index_.erase(found);
}

void EventLoop::run_posted() {
  {
    std::lock_guard lock(posted_mutex_);
    running_.swap(posted_);
  }
  for (auto& task : running_) task();
  running_.clear();
}

void EventLoop::run_timers() {
  std::int64_t now = monotonic_ms();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    Task task = std::move(timers_.begin()->second.second);
    timer_index_.erase(timers_.begin()->second.first);
    timers_.erase(timers_.begin());
    task();
  }
}

std::int64_t EventLoop::next_timer_delay_ms() const {
  if (timers_.empty()) return 1000;
  std::int64_t delay = timers_.begin()->first - monotonic_ms();
  return delay < 0 ? 0 : (delay > 1000 ? 1000 : delay);
}

void EventLoop::run() {
  SLUICE_ASSERT(on_loop_thread(), "run() must be called on the thread that called init()");
  while (!stopping_.load()) {
    run_posted();
    run_timers();
    bool has_posted;
    {
      sleeping_.store(true, std::memory_order_seq_cst);
      std::lock_guard lock(posted_mutex_);
      has_posted = !posted_.empty();
    }
    wait(has_posted ? 0 : next_timer_delay_ms());
    sleeping_.store(false, std::memory_order_seq_cst);
    reap();
  }
  run_posted();
  cancel_and_reap_all(1000);
}

void EventLoop::wait(std::int64_t delay_ms) {
  if (poll_wait_ && delay_ms > 0) {
    // Submit and collect without blocking; sleep in poll(2), which Valgrind runs without its
    // lock, only when nothing is ready; then collect below as for a zero delay.
    io_uring_submit_and_get_events(&ring_);
    if (io_uring_cq_ready(&ring_) == 0) {
      pollfd ring_fd{ring_.ring_fd, POLLIN, 0};
      ::poll(&ring_fd, 1, static_cast<int>(delay_ms));
    }
    delay_ms = 0;
  }
  int rc;
  if (delay_ms == 0) {
    // Must enter the kernel with GETEVENTS even with nothing to submit: under DEFER_TASKRUN the
    // kernel posts completions only then (io_uring_submit_and_wait_timeout with wait_nr 0 may
    // skip the syscall, and a loop kept busy by posted tasks would never see its completions).
    rc = io_uring_submit_and_get_events(&ring_);
  } else {
    __kernel_timespec timeout{};
    timeout.tv_sec = delay_ms / 1000;
    timeout.tv_nsec = (delay_ms % 1000) * 1000000;
    io_uring_cqe* first = nullptr;
    rc = io_uring_submit_and_wait_timeout(&ring_, &first, 1, &timeout, nullptr);
  }
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
    LOG_ERROR("io_uring_wait", "errno=%d", -rc);
  }
}

unsigned EventLoop::reap() {
  constexpr unsigned kBatchMax = 256;
  io_uring_cqe* cqes[kBatchMax];
  unsigned count = io_uring_peek_batch_cqe(&ring_, cqes, kBatchMax);
  for (unsigned i = 0; i < count; ++i) {
    auto* completion = static_cast<Completion*>(io_uring_cqe_get_data(cqes[i]));
    int result = cqes[i]->res;
    std::uint32_t flags = cqes[i]->flags;
    io_uring_cqe_seen(&ring_, cqes[i]);
    if (completion == nullptr) continue;
    if (!completion_has_more(flags)) inflight_.store(inflight_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    completion->complete(result, flags);
  }
  return count;
}

void EventLoop::cancel_and_reap_all(std::int64_t timeout_ms) {
  const std::int64_t deadline = monotonic_ms() + timeout_ms;
  while (inflight_.load(std::memory_order_relaxed) > 0) {
    // Completions may start new operations (they see the loop stopping and mostly do not), so
    // cancel again each round.
    io_uring_prep_cancel(sqe(nullptr), nullptr, IORING_ASYNC_CANCEL_ANY);
    __kernel_timespec timeout{0, 10 * 1000000};
    io_uring_cqe* first = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &first, 1, &timeout, nullptr);
    reap();
    run_posted();
    if (monotonic_ms() >= deadline) {
      LOG_WARN("event_loop_stop_incomplete", "inflight=%zu", inflight_.load(std::memory_order_relaxed));
      return;
    }
  }
}

Status pin_current_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (rc != 0) return Status::from_errno(rc, "pin thread to cpu " + std::to_string(cpu));
  return Status::ok();
}

Result<std::vector<int>> parse_cpu_list(const std::string& text) {
  std::vector<int> cpus;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? text.size() : comma + 1;
    if (part.empty()) continue;
    std::size_t dash = part.find('-');
    char* end = nullptr;
    long first = std::strtol(part.c_str(), &end, 10);
    long last = first;
    if (dash != std::string::npos) last = std::strtol(part.c_str() + dash + 1, &end, 10);
    if (end == nullptr || *end != '\0' || first < 0 || last < first || last > 4095)
      return Status::error("bad cpu list '" + text + "'");
    for (long cpu = first; cpu <= last; ++cpu) cpus.push_back(static_cast<int>(cpu));
  }
  return cpus;
}

}  // namespace sluice::io
