// One io_uring event loop per thread (network and I/O threads each run one).
//
// The loop waits for completions, drains them in a batch, dispatches each to the Completion it
// was submitted with (the sqe's user data), runs the tasks other threads posted, fires due
// timers, and goes round again. It is the only caller of handlers, so stacks stay shallow.
//
// Threads: every method except post() and stop() must be called on the loop's own thread.
// post() and stop() may be called from any thread.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "io/buffer_ring.h"

namespace sluice::io {

// Whether more completions will follow for a multishot operation.
inline bool completion_has_more(std::uint32_t flags) { return (flags & IORING_CQE_F_MORE) != 0; }
// Whether a completion carries a provided buffer, and which one.
inline bool completion_has_buffer(std::uint32_t flags) { return (flags & IORING_CQE_F_BUFFER) != 0; }
inline std::uint16_t completion_buffer_id(std::uint32_t flags) {
  return static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
}

// Receives the completions of one submitted operation (several, for multishot operations: the
// kernel sets IORING_CQE_F_MORE while more will come).
class Completion {
 public:
  virtual ~Completion() = default;
  virtual void complete(int result, std::uint32_t flags) = 0;
};

struct LoopConfig {
  unsigned ring_entries = 1024;
  int cpu = -1;  // pin the calling thread to this CPU when >= 0
  // Provided buffers for multishot recv (recv_buffers()): none when the count is 0 (the loop of
  // an I/O thread needs none; a test forces the single-shot fallback this way). The count must
  // be a power of two <= 32768.
  std::uint32_t recv_buffer_count = 0;
  std::uint32_t recv_buffer_bytes = 16 * 1024;
  // IORING_SETUP_DEFER_TASKRUN: the kernel runs completion work only when this thread waits for
  // completions, in one batch, instead of interrupting it. Falls back to COOP_TASKRUN when the
  // kernel refuses it. The network threads ask for it (network.io_uring.defer.taskrun); other
  // loops keep COOP_TASKRUN.
  bool defer_taskrun = false;
  // When > 0: the ring's io-wq workers (which run splices, fsyncs and other blocking operations)
  // are pinned to `cpu` (when >= 0) and at most this many run unbound work (splices to pipes and
  // sockets) at once. 0 keeps the kernel's defaults (unpinned, bounded by RLIMIT_NPROC).
  unsigned iowq_unbound_max = 0;
};

class EventLoop {
 public:
  using Task = std::function<void()>;
  using TimerId = std::uint64_t;

  EventLoop() = default;
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Sets up the ring on the calling thread (the loop's thread). A buffer ring that the kernel
  // refuses is not an error: recv_buffers() stays null and callers use single-shot recv.
  Status init(const LoopConfig& config);
  // Runs until stop(). Before it returns it runs the posted tasks, then cancels every operation
  // still in flight and delivers their completions (for at most a second), so nothing an
  // operation holds (a connection's recv keeps its Connection alive) outlives the loop.
  void run();
  void stop();
  // Operations submitted and not finished (a multishot one counts until its last completion).
  // Exact on the loop thread; a recent value from any other.
  std::size_t inflight() const { return inflight_.load(std::memory_order_relaxed); }

  // Any thread: queues `task` to run on this loop's thread.
  void post(Task task);

  // Operations. Each completes through `completion` (with the result the syscall would return,
  // or -errno). The buffers must stay valid until then. Loop thread only.
  void submit_recv(Completion* completion, int fd, void* buffer, std::size_t bytes);
  // Multishot recv into the buffers of recv_buffers(): one completion per chunk received, each
  // naming its buffer (completion_buffer_id), until EOF, an error, a cancel, or -ENOBUFS when the
  // ring is empty. Requires: recv_buffers() != nullptr.
  void submit_multishot_recv(Completion* completion, int fd);
  void submit_read(Completion* completion, int fd, void* buffer, std::size_t bytes, std::uint64_t offset);
  void submit_poll(Completion* completion, int fd, unsigned events);
  // fdatasync (data_only) or fsync of fd, run by the kernel's io-wq workers: the loop keeps running.
  void submit_fsync(Completion* completion, int fd, bool data_only);
  // Starts write-back of [position, position + bytes) without waiting for it
  // (sync_file_range(SYNC_FILE_RANGE_WRITE)), off the loop thread.
  void submit_sync_file_range(Completion* completion, int fd, std::uint64_t position, std::uint32_t bytes);
  // splice(2) of `bytes` from fd_in (at in_offset, or its own position when -1) to fd_out, run
  // by an io-wq worker. A non-blocking fd_out that is full completes with -EAGAIN.
  void submit_splice(Completion* completion, int fd_in, std::int64_t in_offset, int fd_out, unsigned bytes,
                     unsigned flags);
  // Two splices linked (IOSQE_IO_LINK) in one submission: file -> pipe, then pipe -> socket.
  // The second runs only if the first moved all `bytes` (else it completes with -ECANCELED).
  void submit_splice_pair(Completion* fill, int file_fd, std::int64_t file_offset, int pipe_write_fd,
                          Completion* drain, int pipe_read_fd, int socket_fd, unsigned bytes, unsigned drain_flags);
  // Completes once per accepted connection (IORING_CQE_F_MORE set while it stays armed).
  void submit_multishot_accept(Completion* completion, int listen_fd, int flags);
  // Asks the kernel to cancel `target`'s operation(s): they complete with -ECANCELED (or with
  // their result, if they finished first). The cancel request itself completes silently.
  void submit_cancel(Completion* target);

  // Runs `task` once at least `delay_ms` from now. Loop thread only.
  TimerId add_timer(std::int64_t delay_ms, Task task);
  void cancel_timer(TimerId id);

  bool on_loop_thread() const;
  // The loop's provided buffers; null when none were configured or the kernel refused them.
  BufferRing* recv_buffers() { return recv_buffers_.get(); }
  bool defer_taskrun() const { return defer_taskrun_; }

 private:
  class Wakeup : public Completion {
   public:
    explicit Wakeup(EventLoop& loop) : loop_(loop) {}
    void complete(int result, std::uint32_t flags) override;
    void arm();
    std::uint64_t value = 0;

   private:
    EventLoop& loop_;
  };
  // Returns an sqe, submitting queued ones first if the ring is full. Never null.
  io_uring_sqe* sqe(Completion* completion);
  void run_posted();
  void run_timers();
  // Delivers the completions ready now; returns how many.
  unsigned reap();
  // After the loop stopped: cancel everything in flight and reap until nothing is left.
  void cancel_and_reap_all(std::int64_t timeout_ms);
  std::int64_t next_timer_delay_ms() const;

  // Waits for completions (at most delay_ms), submitting what is queued.
  void wait(std::int64_t delay_ms);

  io_uring ring_{};
  bool ring_ready_ = false;
  bool defer_taskrun_ = false;
  // Sleep in poll(2) on the ring fd instead of inside io_uring_enter. Set under Valgrind only:
  // 3.19-3.22 keep their global lock across io_uring_enter, so one thread waiting there starves
  // every other thread (the broker then never gets past opening its log dir).
  bool poll_wait_ = false;
  std::unique_ptr<BufferRing> recv_buffers_;
  int event_fd_ = -1;
  Wakeup wakeup_{*this};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> sleeping_{false};
  std::atomic<std::size_t> inflight_{0};
  std::mutex posted_mutex_;
  std::vector<Task> posted_;
  std::vector<Task> running_;
  using TimerMap = std::multimap<std::int64_t, std::pair<TimerId, Task>>;  // deadline (monotonic ms)
  TimerMap timers_;
  std::unordered_map<TimerId, TimerMap::iterator> timer_index_;
  TimerId next_timer_id_ = 1;
  std::uint64_t thread_id_ = 0;
};

// Pins the calling thread to one CPU. Returns an error when the CPU is not allowed.
Status pin_current_thread(int cpu);
// Parses a CPU list such as "0-3,6" into CPU numbers.
Result<std::vector<int>> parse_cpu_list(const std::string& text);

}  // namespace sluice::io
