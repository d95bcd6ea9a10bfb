#include "net/connection.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "base/endian.h"
#include "base/log.h"

namespace sluice::net {
namespace {
constexpr std::size_t kReadChunkBytes = 64 * 1024;
}

Connection::Connection(io::EventLoop& loop, int fd, RequestHandler& handler,
                       const ConnectionLimits& limits, MemoryBudget& budget, std::uint64_t id,
                       int thread_index)
    : loop_(loop), fd_(fd), handler_(handler), limits_(limits), budget_(budget), id_(id), thread_index_(thread_index) {
  SLUICE_ASSERT(fd >= 0);
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::start() { arm_recv(); }

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
  pending_.clear();
  deferred.clear();
  if (on_closed) on_closed(*this);
}

void Connection::stop_reading() { reading_stopped_ = true; }

void Connection::arm_recv() {
  if (closed_ || recv_armed_ || reading_stopped_) return;
  if (pending_.size() + deferred.size() >= limits_.requests_inflight_max) return;  // resumes on flush
  if (budget_.exhausted()) {
    // Global backpressure: nothing signals when other connections give bytes back, so look
    // again shortly.
    if (!budget_retry_armed_) {
      budget_retry_armed_ = true;
      std::weak_ptr<Connection> weak = weak_from_this();
      loop_.add_timer(1, [weak] {
        if (auto self = weak.lock()) {
          self->budget_retry_armed_ = false;
          self->arm_recv();
        }
      });
    }
    return;
  }
  if (read_buffer_.size() - read_bytes_ < kReadChunkBytes) read_buffer_.resize(read_bytes_ + kReadChunkBytes);
  loop_.submit_recv(&recv_op_, fd_, read_buffer_.data() + read_bytes_, read_buffer_.size() - read_bytes_);
  recv_armed_ = true;
  recv_op_.hold = shared_from_this();
}

void Connection::RecvOp::complete(int result, std::uint32_t) {
  auto keep = std::move(hold);
  connection.recv_armed_ = false;
  connection.on_recv(result);
}

void Connection::on_recv(int result) {
  if (closed_) return;
  if (result == 0) return close("peer closed");
  if (result < 0) {
    if (result == -EINTR || result == -EAGAIN) return arm_recv();
    return close(std::strerror(-result));
  }
  if (reading_stopped_) return;  // shutting down: new requests are not taken
  read_bytes_ += static_cast<std::size_t>(result);
  // While frames are parsed, responses may go out; they must not re-arm the recv into a buffer
  // that parse_frames is still moving.
  parsing_ = true;
  parse_frames();
  parsing_ = false;
  arm_recv();
}

void Connection::parse_frames() {
  std::size_t position = 0;
  while (!closed_ && read_bytes_ - position >= 4) {
    auto size = static_cast<std::int32_t>(load_be32(read_buffer_.data() + position));
    // A header is at least api key, version and correlation id (8 bytes).
    if (size < 8 || static_cast<std::uint32_t>(size) > limits_.request_bytes_max) {
      LOG_WARN("request_rejected", "id=%llu frame_bytes=%d limit=%u",
               static_cast<unsigned long long>(id_), size, limits_.request_bytes_max);
      return close("frame size out of bounds");
    }
    std::size_t frame_bytes = static_cast<std::size_t>(size);
    if (read_bytes_ - position - 4 < frame_bytes) {
      // Make room for the whole frame so the next recv can complete it.
      if (read_buffer_.size() < position + 4 + frame_bytes) {
        std::memmove(read_buffer_.data(), read_buffer_.data() + position, read_bytes_ - position);
        read_bytes_ -= position;
        position = 0;
        read_buffer_.resize(std::max(read_buffer_.size(), 4 + frame_bytes));
      }
      break;
    }
    const std::byte* begin = read_buffer_.data() + position + 4;
    RequestFrame frame;
    frame.bytes.assign(begin, begin + frame_bytes);
    frame.reservation = budget_.reserve(frame_bytes);
    position += 4 + frame_bytes;
    handler_.on_request(shared_from_this(), std::move(frame));
  }
  if (position > 0 && !closed_) {
    std::memmove(read_buffer_.data(), read_buffer_.data() + position, read_bytes_ - position);
    read_bytes_ -= position;
  }
  // Do not hold on to a large buffer after a large request.
  if (read_bytes_ == 0 && read_buffer_.size() > 4 * kReadChunkBytes) {
    read_buffer_.resize(kReadChunkBytes);
    read_buffer_.shrink_to_fit();
  }
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
      off_t position = static_cast<off_t>(file.position + pending.file_sent);
      ssize_t sent = ::sendfile(fd_, file.fd, &position, file.bytes - pending.file_sent);
      if (sent < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
      if (sent == 0) return -1;  // the file is shorter than the range we promised: cannot recover
      pending.file_sent += static_cast<std::uint64_t>(sent);
      continue;
    }
    return 1;
  }
}

void Connection::flush() {
  while (!closed_ && !pending_.empty() && pending_.front().ready) {
    int state = send_some(pending_.front());
    if (state < 0) return close("send failed");
    if (state == 0) {
      if (!poll_armed_) {
        loop_.submit_poll(&poll_op_, fd_, POLLOUT);
        poll_armed_ = true;
        poll_op_.hold = shared_from_this();
      }
      return;
    }
    pending_.pop_front();
  }
  maybe_resume_reading();
}

void Connection::run_deferred() {
  while (!closed_ && !deferred.empty() && (deferred.front().is_write || writes_inflight == 0)) {
    auto next = std::move(deferred.front());
    deferred.pop_front();
    next.run();
  }
  maybe_resume_reading();
}

void Connection::maybe_resume_reading() {
  if (!closed_ && !recv_armed_ && !parsing_) arm_recv();
}

void Connection::PollOp::complete(int result, std::uint32_t) {
  auto keep = std::move(hold);
  connection.poll_armed_ = false;
  if (connection.closed_) return;
  if (result < 0 && result != -EINTR) return connection.close("poll failed");
  connection.flush();
}

}  // namespace sluice::net
