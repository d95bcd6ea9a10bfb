#include "net/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "base/endian.h"
#include "base/log.h"

namespace sluice::net {
namespace {
// The single-shot fallback's per-connection recv buffer (what every connection held before
// provided buffers).
constexpr std::size_t kSingleShotBufferBytes = 64 * 1024;

// Closes both ends of a splice pipe (a connection's, or one waiting in the thread's pool).
// Requires: both descriptors are open and owned by the caller, who forgets them after.
void close_pipe(int read_fd, int write_fd) {
  SLUICE_ASSERT(read_fd >= 0, "read_fd=%d", read_fd);
  SLUICE_ASSERT(write_fd >= 0, "write_fd=%d", write_fd);
  ::close(read_fd);
  ::close(write_fd);
}
}

Connection::Connection(io::EventLoop& loop, int fd, RequestHandler& handler,
                       const ConnectionLimits& limits, MemoryBudget& budget, std::uint64_t id,
                       int thread_index)
    : loop_(loop), fd_(fd), handler_(handler), limits_(limits), budget_(budget), id_(id), thread_index_(thread_index),
      buffers_(loop.recv_buffers()) {
  SLUICE_ASSERT(fd >= 0);
}

Connection::~Connection() {
  if (pipe_.read_fd >= 0) close_pipe(pipe_.read_fd, pipe_.write_fd);
  if (fd_ >= 0) ::close(fd_);
}

void Connection::start() { update_reading(); }

std::string Connection::peer_host() const {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "/unknown";
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw = address.ss_family == AF_INET6
                        ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&address)->sin6_addr)
                        : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&address)->sin_addr);
  if (inet_ntop(address.ss_family, raw, text, sizeof text) == nullptr) return "/unknown";
  return std::string("/") + text;
}

void Connection::close(const char* reason) {
  if (closed_) return;
  closed_ = true;
  LOG_DEBUG("connection_close", "id=%llu reason=\"%s\"", static_cast<unsigned long long>(id_), reason);
  // shutdown() ends the outstanding recv and poll with errors; the fd itself closes with the
  // last reference, after the kernel is done with our buffers.
  ::shutdown(fd_, SHUT_RDWR);
  if (splices_inflight_ == 0) release_pipe();  // else the last splice completion closes it
  pending_.clear();
  deferred.clear();
  if (on_closed) on_closed(*this);
}

void Connection::stop_reading() {
  reading_stopped_ = true;
  kept_ = {};
  partial_ = {};
  prefix_bytes_ = 0;
  pause_reading();
}

std::size_t Connection::read_buffer_bytes() const {
  return partial_.capacity() + kept_.capacity() + single_shot_buffer_.capacity();
}

bool Connection::reading_blocked() const {
  return closed_ || reading_stopped_ || pending_.size() + deferred.size() >= limits_.requests_inflight_max ||
         budget_.exhausted();
}

void Connection::update_reading() {
  if (closed_ || parsing_ || reading_stopped_) return;
  if (!reading_blocked() && !kept_.empty()) parse_kept();
  if (closed_) return;
  if (reading_blocked()) return pause_reading();
  // With a cancel in flight the live recv ends soon and its last completion re-arms.
  if (!recv_armed_ && !recv_retry_pending_) arm_recv();
}

void Connection::pause_reading() {
  if (recv_armed_ && buffers_ != nullptr && !recv_cancel_requested_) {
    // A multishot recv would go on filling buffers: end it. A single-shot one completes at
    // most once more, and is simply not re-armed.
    loop_.submit_cancel(&recv_op_);
    recv_cancel_requested_ = true;
  }
  if (!closed_ && !reading_stopped_ && budget_.exhausted() && !budget_retry_armed_) {
    // Global backpressure: nothing signals when other connections give bytes back, so look
    // again shortly.
    budget_retry_armed_ = true;
    std::weak_ptr<Connection> weak = weak_from_this();
    loop_.add_timer(1, [weak] {
      if (auto self = weak.lock()) {
        self->budget_retry_armed_ = false;
        self->update_reading();
      }
    });
  }
}

void Connection::arm_recv() {
  SLUICE_ASSERT(!recv_armed_, "connection %llu: second recv", static_cast<unsigned long long>(id_));
  if (buffers_ != nullptr) {
    loop_.submit_multishot_recv(&recv_op_, fd_);
  } else {
    if (single_shot_buffer_.empty()) single_shot_buffer_.resize(kSingleShotBufferBytes);
    loop_.submit_recv(&recv_op_, fd_, single_shot_buffer_.data(), single_shot_buffer_.size());
  }
  recv_armed_ = true;
  recv_op_.hold = shared_from_this();
}

void Connection::RecvOp::complete(int result, std::uint32_t flags) {
  // The last completion of the op releases its hold; `keep` lets this call finish first.
  std::shared_ptr<Connection> keep;
  bool cancel_requested = connection.recv_cancel_requested_;
  if (!io::completion_has_more(flags)) {
    keep = std::move(hold);
    connection.recv_armed_ = false;
    connection.recv_cancel_requested_ = false;
  }
  // A cancel we did not ask for comes from the loop stopping: the connection ends with it.
  if (result == -ECANCELED && !cancel_requested) return connection.close("recv cancelled");
  connection.on_recv(result, flags);
}

void Connection::on_recv(int result, std::uint32_t flags) {
  const std::byte* data = single_shot_buffer_.data();
  bool has_buffer = io::completion_has_buffer(flags);
  if (has_buffer) {
    SLUICE_ASSERT(buffers_ != nullptr);
    buffers_->note_taken();
    data = buffers_->buffer(io::completion_buffer_id(flags));
  }
  if (result > 0 && !closed_ && !reading_stopped_) take_bytes(data, static_cast<std::size_t>(result));
  // Parsing copied whatever must outlive this call: the buffer goes back to the kernel now.
  if (has_buffer) buffers_->recycle(io::completion_buffer_id(flags));
  if (closed_) return;
  if (result == 0) return close("peer closed");
  if (result == -ENOBUFS) {
    // Every provided buffer is in a completion not yet handled this turn. They all return
    // before the next turn, so re-arm then rather than spin on an empty ring now.
    buffers_->note_exhausted();
    recv_retry_pending_ = true;
    std::weak_ptr<Connection> weak = weak_from_this();
    loop_.post([weak] {
      if (auto self = weak.lock()) {
        self->recv_retry_pending_ = false;
        self->update_reading();
      }
    });
    return;
  }
  if (result < 0 && result != -EINTR && result != -EAGAIN && result != -ECANCELED) {
    return close(std::strerror(-result));
  }
  update_reading();
}

void Connection::take_bytes(const std::byte* data, std::size_t bytes) {
  if (!kept_.empty() || reading_blocked()) {
    // Blocked (or older bytes still wait): keep these behind them, in arrival order.
    kept_.insert(kept_.end(), data, data + bytes);
    return;
  }
  // Handlers may answer at once and so reach update_reading: it must not parse or re-arm
  // while this parse runs.
  parsing_ = true;
  parse(data, bytes);
  parsing_ = false;
}

void Connection::parse_kept() {
  std::vector<std::byte> kept = std::move(kept_);
  kept_ = {};
  parsing_ = true;
  parse(kept.data(), kept.size());
  parsing_ = false;
}

std::uint32_t Connection::checked_frame_bytes(const std::byte* prefix) {
  auto size = static_cast<std::int32_t>(load_be32(prefix));
  // A header is at least api key, version and correlation id (8 bytes).
  if (size < 8 || static_cast<std::uint32_t>(size) > limits_.request_bytes_max) {
    LOG_WARN("request_rejected", "id=%llu frame_bytes=%d limit=%u", static_cast<unsigned long long>(id_), size,
             limits_.request_bytes_max);
    close("frame size out of bounds");
    return 0;
  }
  return static_cast<std::uint32_t>(size);
}

void Connection::parse(const std::byte* data, std::size_t bytes) {
  // A handler may close the connection or stop reading (shutdown): the rest is then dropped.
  while (bytes > 0 && !closed_ && !reading_stopped_) {
    if (prefix_bytes_ == 0 && bytes >= 4) {
      // At a frame boundary with the size in this chunk: a whole frame goes straight out.
      std::uint32_t frame_bytes = checked_frame_bytes(data);
      if (frame_bytes == 0) return;
      if (bytes - 4 >= frame_bytes) {
        dispatch(std::vector<std::byte>(data + 4, data + 4 + frame_bytes));
        data += 4 + frame_bytes;
        bytes -= 4 + frame_bytes;
        continue;
      }
    }
    // A frame cut by the end of the chunk: assemble it in partial_, sized to the frame.
    if (prefix_bytes_ < 4) {
      std::size_t take = std::min<std::size_t>(4 - prefix_bytes_, bytes);
      std::memcpy(prefix_ + prefix_bytes_, data, take);
      prefix_bytes_ = static_cast<std::uint8_t>(prefix_bytes_ + take);
      data += take;
      bytes -= take;
      if (prefix_bytes_ < 4) return;
      std::uint32_t frame_bytes = checked_frame_bytes(prefix_);
      if (frame_bytes == 0) return;
      partial_.reserve(frame_bytes);
    }
    std::size_t frame_bytes = load_be32(prefix_);
    std::size_t take = std::min(frame_bytes - partial_.size(), bytes);
    partial_.insert(partial_.end(), data, data + take);
    data += take;
    bytes -= take;
    if (partial_.size() == frame_bytes) {
      prefix_bytes_ = 0;
      dispatch(std::exchange(partial_, {}));
    }
  }
}

void Connection::dispatch(std::vector<std::byte> body) {
  SLUICE_ASSERT(body.size() >= 8, "frame of %zu bytes", body.size());
  RequestFrame frame;
  frame.reservation = budget_.reserve(body.size());
  frame.bytes = std::move(body);
  handler_.on_request(shared_from_this(), std::move(frame));
}

std::uint64_t Connection::reserve_response() {
  std::uint64_t slot = next_slot_++;
  Pending pending;
  pending.slot = slot;
  pending_.push_back(std::move(pending));
  return slot;
}

void Connection::complete_response(std::uint64_t slot, protocol::Writer response) {
  if (closed_) return;
  for (auto& pending : pending_) {
    if (pending.slot == slot) {
      SLUICE_ASSERT(!pending.ready, "slot %llu completed twice", static_cast<unsigned long long>(slot));
      pending.response = std::move(response);
      pending.ready = true;
      break;
    }
  }
  flush();
}

int Connection::send_some(Pending& pending) {
  auto& buffer = pending.response.buffer();
  auto& files = pending.response.files();
  for (;;) {
    std::size_t boundary = pending.file_index < files.size() ? files[pending.file_index].buffer_offset : buffer.size();
    if (pending.buffer_position < boundary) {
      bool more = boundary < buffer.size() || pending.file_index < files.size();
      ssize_t sent = ::send(fd_, buffer.data() + pending.buffer_position, boundary - pending.buffer_position,
                            MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));
      if (sent < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
      pending.buffer_position += static_cast<std::size_t>(sent);
      continue;
    }
    if (pending.file_index < files.size()) {
      auto& file = files[pending.file_index];
      if (pending.file_sent == file.bytes) {
        ++pending.file_index;
        pending.file_sent = 0;
        continue;
      }
      const bool more_after = pending.file_index + 1 < files.size() || file.buffer_offset < buffer.size();
      if (limits_.file_transfer == FileTransfer::kCopy) {
        int step = copy_file_step(pending, file, more_after);
        if (step <= 0) return step;
        continue;
      }
      if (limits_.file_transfer == FileTransfer::kSplice) {
        int step = splice_file_step(pending, file, more_after);
        if (step <= 0) return step;
        continue;
      }
      if (limits_.file_transfer == FileTransfer::kUringSplice) return uring_splice_file_step(pending, file, more_after);
      off_t position = static_cast<off_t>(file.position + pending.file_sent);
      std::uint64_t left = file.bytes - pending.file_sent;
      ssize_t sent = ::sendfile(fd_, file.fd, &position, std::min<std::uint64_t>(left, limits_.file_chunk_bytes));
      if (sent < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
      if (sent == 0) return -1;  // the file is shorter than the range we promised: cannot recover
      pending.file_sent += static_cast<std::uint64_t>(sent);
      continue;
    }
    return 1;
  }
}

namespace {
// Staging buffers of the copy path, reused by every connection of this network thread: each is
// allocated (and its pages first touched) once, not per response.
std::vector<std::unique_ptr<std::byte[]>>& staging_pool() {
  thread_local std::vector<std::unique_ptr<std::byte[]>> pool;
  return pool;
}
constexpr std::size_t kStagingPoolMax = 8;

// Empty pipes of the splice path, reused by every connection of this network thread (closed
// when the thread ends). Each holds two descriptors; at most kPipePoolMax wait here, and one more
// per connection that is in the middle of sending a file chunk.
struct PipePool {
  struct Entry {
    int read_fd, write_fd;
  };
  std::vector<Entry> free;
  ~PipePool() {
    for (auto& entry : free) close_pipe(entry.read_fd, entry.write_fd);
  }
};
PipePool& pipe_pool() {
  thread_local PipePool pool;
  return pool;
}
constexpr std::size_t kPipePoolMax = 8;
}  // namespace

bool Connection::acquire_pipe() {
  auto& pool = pipe_pool();
  if (!pool.free.empty()) {
    pipe_.read_fd = pool.free.back().read_fd;
    pipe_.write_fd = pool.free.back().write_fd;
    pool.free.pop_back();
    return true;
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    LOG_WARN("net.pipe_failed", "errno=%d", errno);
    return false;
  }
  // As large as a sendfile call would be; a smaller pipe (fs.pipe-max-size) still works.
  ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(limits_.file_chunk_bytes));
  pipe_.read_fd = fds[0];
  pipe_.write_fd = fds[1];
  return true;
}

int Connection::uring_splice_file_step(Pending& pending, const protocol::FileChunk& file, bool more_after) {
  if (splices_inflight_ > 0) return 2;
  if (pipe_.read_fd < 0 && !acquire_pipe()) return -1;
  fill_op_.submitted = false;
  fill_op_.result = drain_op_.result = 0;
  if (pipe_bytes_ > 0) {
    // What an earlier drain left (a full socket): send it before reading more.
    const bool more = more_after || pending.file_sent + pipe_bytes_ < file.bytes;
    loop_.submit_splice(&drain_op_, pipe_.read_fd, -1, fd_, static_cast<unsigned>(pipe_bytes_),
                        SPLICE_F_MOVE | (more ? SPLICE_F_MORE : 0));
  } else {
    const std::uint64_t want = std::min<std::uint64_t>(limits_.file_chunk_bytes, file.bytes - pending.file_sent);
    const bool more = more_after || pending.file_sent + want < file.bytes;
    loop_.submit_splice_pair(&fill_op_, file.fd, static_cast<std::int64_t>(file.position + pending.file_sent),
                             pipe_.write_fd, &drain_op_, pipe_.read_fd, fd_, static_cast<unsigned>(want),
                             SPLICE_F_MOVE | (more ? SPLICE_F_MORE : 0));
    fill_op_.submitted = true;
    fill_op_.hold = shared_from_this();
    ++splices_inflight_;
  }
  drain_op_.hold = shared_from_this();
  ++splices_inflight_;
  return 2;
}

void Connection::SpliceOp::complete(int result_value, std::uint32_t) {
  auto keep = std::move(hold);
  result = result_value;
  SLUICE_ASSERT(connection.splices_inflight_ > 0);
  if (--connection.splices_inflight_ == 0) connection.on_uring_splices_done();
}

void Connection::on_uring_splices_done() {
  const int filled = fill_op_.submitted ? fill_op_.result : 0;
  const int drained = drain_op_.result;
  if (filled > 0) pipe_bytes_ += static_cast<std::size_t>(filled);
  if (drained > 0) {
    SLUICE_ASSERT(static_cast<std::size_t>(drained) <= pipe_bytes_, "drained %d of %zu", drained, pipe_bytes_);
    pipe_bytes_ -= static_cast<std::size_t>(drained);
  }
  if (closed_) return release_pipe();  // closes it when bytes are left in it
  // A fill of 0 bytes means the file is shorter than the range we promised: cannot recover.
  if (fill_op_.submitted && filled <= 0) return close(filled == 0 ? "file range ended early" : "splice from file failed");
  const bool full = drained == -EAGAIN || drained == -ECANCELED;  // cancelled: the fill was short
  if (drained < 0 && !full) return close("splice to socket failed");
  if (drained == 0 && !fill_op_.submitted) return close("splice to socket made no progress");
  SLUICE_ASSERT(!pending_.empty() && pending_.front().ready);
  Pending& pending = pending_.front();
  pending.file_sent += static_cast<std::uint64_t>(std::max(drained, 0));
  const auto& file = pending.response.files()[pending.file_index];
  if (pipe_bytes_ == 0 && pending.file_sent == file.bytes) release_pipe();
  if (drained == -EAGAIN) return arm_pollout();
  flush();
}

void Connection::release_pipe() {
  if (pipe_.read_fd < 0) return;
  auto& pool = pipe_pool();
  if (pipe_bytes_ == 0 && pool.free.size() < kPipePoolMax) {
    pool.free.push_back({pipe_.read_fd, pipe_.write_fd});
  } else {
    // Pages still in it belong to a response that will not be sent (the connection closed).
    close_pipe(pipe_.read_fd, pipe_.write_fd);
  }
  pipe_ = {};
  pipe_bytes_ = 0;
}

int Connection::splice_file_step(Pending& pending, const protocol::FileChunk& file, bool more_after) {
  if (pipe_bytes_ > 0) {
    const bool more = more_after || pending.file_sent + pipe_bytes_ < file.bytes;
    ssize_t moved = ::splice(pipe_.read_fd, nullptr, fd_, nullptr, pipe_bytes_,
                             SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (more ? SPLICE_F_MORE : 0));
    if (moved < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    if (moved == 0) return -1;
    pipe_bytes_ -= static_cast<std::size_t>(moved);
    pending.file_sent += static_cast<std::uint64_t>(moved);
    if (pipe_bytes_ == 0 && pending.file_sent == file.bytes) release_pipe();
    return 1;
  }
  if (pipe_.read_fd < 0 && !acquire_pipe()) return -1;
  // The pipe is empty here: fill it with the next piece of the chunk (as much as it holds).
  loff_t position = static_cast<loff_t>(file.position + pending.file_sent);
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(limits_.file_chunk_bytes, file.bytes - pending.file_sent));
  ssize_t got;
  do {
    got = ::splice(file.fd, &position, pipe_.write_fd, nullptr, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return -1;  // an error, or the file is shorter than the range we promised
  pipe_bytes_ = static_cast<std::size_t>(got);
  return 1;
}

int Connection::copy_file_step(Pending& pending, const protocol::FileChunk& file, bool more_after) {
  const std::size_t chunk_bytes = limits_.file_chunk_bytes;
  if (staging_.begin < staging_.end) {
    const bool more = more_after || pending.file_sent + (staging_.end - staging_.begin) < file.bytes;
    ssize_t sent = ::send(fd_, staging_.data.get() + staging_.begin, staging_.end - staging_.begin,
                          MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));
    if (sent < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    staging_.begin += static_cast<std::size_t>(sent);
    pending.file_sent += static_cast<std::uint64_t>(sent);
    if (staging_.begin == staging_.end) {
      staging_.begin = staging_.end = 0;
      auto& pool = staging_pool();
      if (pool.size() < kStagingPoolMax) pool.push_back(std::move(staging_.data));
      staging_.data.reset();
    }
    return 1;
  }
  if (!staging_.data) {
    auto& pool = staging_pool();
    if (pool.empty()) {
      staging_.data = std::make_unique_for_overwrite<std::byte[]>(chunk_bytes);  // pread fills it
    } else {
      staging_.data = std::move(pool.back());
      pool.pop_back();
    }
  }
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_bytes, file.bytes - pending.file_sent));
  ssize_t got;
  do {
    got = ::pread(file.fd, staging_.data.get(), want, static_cast<off_t>(file.position + pending.file_sent));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return -1;  // an error, or the file is shorter than the range we promised
  staging_.begin = 0;
  staging_.end = static_cast<std::size_t>(got);
  return 1;
}

void Connection::flush() {
  while (!closed_ && !pending_.empty() && pending_.front().ready) {
    int state = send_some(pending_.front());
    if (state < 0) return close("send failed");
    if (state == 2) return;  // an io_uring splice is in flight; its completion calls flush again
    if (state == 0) return arm_pollout();
    pending_.pop_front();
  }
  maybe_resume_reading();
}

void Connection::arm_pollout() {
  if (poll_armed_) return;
  loop_.submit_poll(&poll_op_, fd_, POLLOUT);
  poll_armed_ = true;
  poll_op_.hold = shared_from_this();
}

void Connection::run_deferred() {
  while (!closed_ && !deferred.empty() && (deferred.front().is_write || writes_inflight == 0)) {
    auto next = std::move(deferred.front());
    deferred.pop_front();
    next.run();
  }
  maybe_resume_reading();
}

void Connection::maybe_resume_reading() { update_reading(); }

void Connection::PollOp::complete(int result, std::uint32_t) {
  auto keep = std::move(hold);
  connection.poll_armed_ = false;
  if (connection.closed_) return;
  if (result < 0 && result != -EINTR) return connection.close("poll failed");
  connection.flush();
}

}  // namespace sluice::net
