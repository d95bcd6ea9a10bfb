#include "perf_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "base/assert.h"
#include "base/endian.h"
#include "perf_options.h"

namespace sluice::perf {

void split_address(const std::string& address, std::string* host, int* port) {
  std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 >= address.size()) fail("address '%s' is not host:port", address.c_str());
  *host = address.substr(0, colon);
  *port = std::atoi(address.c_str() + colon + 1);
  if (*host == "localhost") *host = "127.0.0.1";
  if (*port <= 0 || *port > 65535) fail("address '%s' has no valid port", address.c_str());
}

void set_timeouts(int fd, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int connect_tcp(const std::string& host, int port, int timeout_ms) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) fail("'%s' is not an IPv4 address", host.c_str());
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket: %s", std::strerror(errno));
  set_timeouts(fd, timeout_ms);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    fail("connect %s:%d: %s", host.c_str(), port, std::strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

int listen_loopback(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket: %s", std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    fail("listen on loopback: %s", std::strerror(errno));
  *port = ntohs(address.sin_port);
  return fd;
}

void send_all(int fd, const void* data, std::size_t bytes) {
  auto p = static_cast<const char*>(data);
  while (bytes > 0) {
    ssize_t n = send(fd, p, bytes, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("send: %s", n == 0 ? "no progress" : std::strerror(errno));
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

void receive_exact(int fd, void* data, std::size_t bytes) {
  auto p = static_cast<char*>(data);
  while (bytes > 0) {
    ssize_t n = recv(fd, p, bytes, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) fail("recv: connection closed by the peer");
    if (n < 0) fail("recv: %s", std::strerror(errno));
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

StreamReader::StreamReader(int fd, std::size_t buffer_bytes) : fd_(fd), buffer_(buffer_bytes) {}

std::byte* StreamReader::peek(std::size_t n) {
  while (end_ - begin_ < n) {
    if (buffer_.size() - begin_ < n) {  // the rest of n does not fit after begin_: move to the start
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      if (buffer_.size() < n) buffer_.resize(n);
    }
    ssize_t got = recv(fd_, buffer_.data() + end_, buffer_.size() - end_, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) fail("recv: connection closed by the peer");
    if (got < 0) fail("recv: %s", std::strerror(errno));
    end_ += static_cast<std::size_t>(got);
  }
  return buffer_.data() + begin_;
}

void StreamReader::consume(std::size_t n) {
  SLUICE_ASSERT(n <= end_ - begin_);
  begin_ += n;
  position_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

void StreamReader::skip(std::uint64_t n) {
  while (n > 0) {
    std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(n, buffer_.size()));
    if (end_ - begin_ < step) step = std::max<std::size_t>(end_ - begin_, 1);
    peek(step);
    consume(step);
    n -= step;
  }
}

std::int16_t StreamReader::get_i16() {
  auto v = static_cast<std::int16_t>(load_be16(peek(2)));
  consume(2);
  return v;
}

std::int32_t StreamReader::get_i32() {
  auto v = static_cast<std::int32_t>(load_be32(peek(4)));
  consume(4);
  return v;
}

std::int64_t StreamReader::get_i64() {
  auto v = static_cast<std::int64_t>(load_be64(peek(8)));
  consume(8);
  return v;
}

FrameReader::FrameReader(int fd, std::size_t frame_bytes_max, std::size_t buffer_bytes)
    : stream_(fd, buffer_bytes), frame_bytes_max_(frame_bytes_max) {}

bool FrameReader::frame_buffered() const {
  auto bytes = stream_.buffered();
  return bytes.size() >= 4 && bytes.size() - 4 >= load_be32(bytes.data());
}

std::span<std::byte> FrameReader::next() {
  const std::uint32_t size = load_be32(stream_.peek(4));
  if (size > frame_bytes_max_) fail("frame of %u bytes exceeds the limit %zu", size, frame_bytes_max_);
  std::byte* frame = stream_.peek(4 + std::size_t{size});
  stream_.consume(4 + std::size_t{size});  // the bytes stay in place until the next peek
  return {frame + 4, size};
}

void pin_thread(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) fail("cannot pin a thread to cpu %d", cpu);
}

static std::int64_t clock_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::int64_t now_ns() { return clock_ns(CLOCK_MONOTONIC); }
std::int64_t thread_cpu_ns() { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }
std::int64_t process_cpu_ns() { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }

double proc_cpu_s(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  std::ifstream file(path);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::size_t paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  // After ") ": state is field 3; utime and stime are fields 14 and 15 (1-based).
  const char* p = text.c_str() + paren + 2;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::int64_t proc_rss_kib(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  std::ifstream file(path);
  std::string line;
  while (std::getline(file, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  return -1;
}

void sleep_until_ns(std::int64_t deadline_ns) {
  timespec ts{static_cast<time_t>(deadline_ns / 1000000000), static_cast<long>(deadline_ns % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void raise_fd_limit(std::uint64_t count) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur >= count) return;
  limit.rlim_cur = count;
  if (limit.rlim_max < count) limit.rlim_max = count;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) fail("cannot raise the open-file limit to %llu: %s",
                                                  static_cast<unsigned long long>(count), std::strerror(errno));
}

}  // namespace sluice::perf
