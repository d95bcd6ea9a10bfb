// tcp-stream, tcp-rtt and file-to-socket (see perf_limits.h).
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "latency_histogram.h"
#include "perf_limits.h"
#include "perf_io.h"
#include "perf_json.h"

namespace sluice::perf {
namespace {

constexpr int socket_timeout_ms = 30000;

// A connected loopback pair: `sender` on this side, `receiver` accepted.
struct Pair {
  int sender = -1;
  int receiver = -1;
};

Pair connect_pair() {
  int port = 0;
  int listener = listen_loopback(&port);
  Pair pair;
  pair.sender = connect_tcp("127.0.0.1", port, socket_timeout_ms);
  pair.receiver = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (pair.receiver < 0) fail("accept: %s", std::strerror(errno));
  set_timeouts(pair.receiver, socket_timeout_ms);
  close(listener);
  return pair;
}

struct DrainResult {
  std::uint64_t bytes = 0;
  std::int64_t cpu_ns = 0;
};

// Receives until EOF into one reusable buffer (a consumer's copy out of the kernel).
void drain(int fd, int cpu, DrainResult* result) {
  pin_thread(cpu);
  std::vector<char> buffer(1 << 20);
  std::int64_t cpu_start = thread_cpu_ns();
  for (;;) {
    ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result->bytes += static_cast<std::uint64_t>(n);
  }
  result->cpu_ns = thread_cpu_ns() - cpu_start;
}

double per_gb(std::int64_t cpu_ns, std::uint64_t bytes) {
  return bytes ? static_cast<double>(cpu_ns) / 1e9 / (static_cast<double>(bytes) / 1e9) : 0.0;
}

// Sends `call_bytes` from fd_in at *offset to the socket with one method; returns bytes sent.
ssize_t send_from_file(const std::string& method, int file_fd, int socket_fd, off_t* offset, std::size_t call_bytes,
                       int pipe_fds[2], std::vector<char>& buffer) {
  if (method == "sendfile") return sendfile(socket_fd, file_fd, offset, call_bytes);
  if (method == "readwrite") {
    ssize_t n = pread(file_fd, buffer.data(), call_bytes, *offset);
    if (n <= 0) return n;
    send_all(socket_fd, buffer.data(), static_cast<std::size_t>(n));
    *offset += n;
    return n;
  }
  // splice: file -> pipe, then pipe -> socket until the pipe is empty.
  ssize_t in = splice(file_fd, offset, pipe_fds[1], nullptr, call_bytes, SPLICE_F_MOVE);
  if (in <= 0) return in;
  ssize_t left = in;
  while (left > 0) {
    ssize_t out = splice(pipe_fds[0], nullptr, socket_fd, nullptr, static_cast<std::size_t>(left), SPLICE_F_MOVE);
    if (out < 0 && errno == EINTR) continue;
    if (out <= 0) fail("splice to socket: %s", std::strerror(errno));
    left -= out;
  }
  return in;
}

}  // namespace

int command_tcp_stream(Options& options) {
  std::int64_t call_bytes = options.get_int("call-bytes", 64 * 1024);
  double duration_s = options.get_double("duration-s", 3);
  int sender_cpu = static_cast<int>(options.get_int("sender-cpu", -1));
  int receiver_cpu = static_cast<int>(options.get_int("receiver-cpu", -1));
  options.check_all_used();
  pin_thread(sender_cpu);
  Pair pair = connect_pair();
  DrainResult drained;
  std::thread receiver(drain, pair.receiver, receiver_cpu, &drained);
  std::vector<char> buffer(static_cast<std::size_t>(call_bytes), 'z');
  std::int64_t start = now_ns();
  std::int64_t cpu_start = thread_cpu_ns();
  std::int64_t deadline = start + static_cast<std::int64_t>(duration_s * 1e9);
  std::uint64_t calls = 0;
  while (now_ns() < deadline) {
    send_all(pair.sender, buffer.data(), buffer.size());
    ++calls;
  }
  std::int64_t sender_cpu_ns = thread_cpu_ns() - cpu_start;
  shutdown(pair.sender, SHUT_WR);
  receiver.join();
  double seconds = static_cast<double>(now_ns() - start) / 1e9;
  close(pair.sender);
  close(pair.receiver);
  Json json;
  json.begin_object().field("command", "tcp-stream").field("call_bytes", call_bytes);
  json.field("mb_per_s", static_cast<double>(drained.bytes) / seconds / 1e6);
  json.field("calls_per_s", static_cast<double>(calls) / seconds);
  json.field("sender_cpu_s_per_gb", per_gb(sender_cpu_ns, drained.bytes));
  json.field("receiver_cpu_s_per_gb", per_gb(drained.cpu_ns, drained.bytes));
  json.end_object();
  std::printf("%s\n", json.text().c_str());
  return 0;
}

int command_tcp_rtt(Options& options) {
  std::int64_t message_bytes = options.get_int("message-bytes", 1024);
  std::int64_t samples = options.get_int("samples", 20000);
  double duration_s = options.get_double("duration-s", 3);
  int sender_cpu = static_cast<int>(options.get_int("sender-cpu", -1));
  int receiver_cpu = static_cast<int>(options.get_int("receiver-cpu", -1));
  options.check_all_used();
  pin_thread(sender_cpu);
  Pair pair = connect_pair();
  std::thread echo([&] {
    pin_thread(receiver_cpu);
    std::vector<char> buffer(static_cast<std::size_t>(message_bytes));
    for (;;) {
      ssize_t n = recv(pair.receiver, buffer.data(), buffer.size(), MSG_WAITALL);
      if (n != static_cast<ssize_t>(buffer.size())) break;
      send_all(pair.receiver, buffer.data(), buffer.size());
    }
  });
  std::vector<char> buffer(static_cast<std::size_t>(message_bytes), 'r');
  LatencyHistogram histogram;
  std::int64_t deadline = now_ns() + static_cast<std::int64_t>(duration_s * 1e9);
  for (std::int64_t i = 0; i < samples && now_ns() < deadline; ++i) {
    std::int64_t start = now_ns();
    send_all(pair.sender, buffer.data(), buffer.size());
    receive_exact(pair.sender, buffer.data(), buffer.size());
    histogram.record(now_ns() - start);
  }
  shutdown(pair.sender, SHUT_WR);
  echo.join();
  close(pair.sender);
  close(pair.receiver);
  Json json;
  json.begin_object().field("command", "tcp-rtt").field("message_bytes", message_bytes);
  histogram.write_json(json, "latency");
  json.end_object();
  std::printf("%s\n", json.text().c_str());
  return 0;
}

int command_file_to_socket(Options& options) {
  std::string dir = options.get_string("dir", "/tmp");
  std::int64_t file_bytes = options.get_int("file-bytes", 256 << 20);
  auto methods = options.get_string_list("methods", "sendfile,splice,readwrite");
  auto call_sizes = options.get_int_list("call-bytes", "65536,262144,1048576");
  double duration_s = options.get_double("duration-s", 2);
  int sender_cpu = static_cast<int>(options.get_int("sender-cpu", -1));
  int receiver_cpu = static_cast<int>(options.get_int("receiver-cpu", -1));
  options.check_all_used();
  pin_thread(sender_cpu);
  // The file is written here and so sits in the page cache, as a segment a consumer tails does.
  std::string path = dir + "/sluice-perf-file-to-socket.bin";
  int file_fd = open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
  if (file_fd < 0) fail("open %s: %s", path.c_str(), std::strerror(errno));
  std::vector<char> chunk(1 << 20, 'f');
  for (std::int64_t written = 0; written < file_bytes; written += static_cast<std::int64_t>(chunk.size()))
    if (write(file_fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) fail("write: %s", std::strerror(errno));
  Json json;
  json.begin_object().field("command", "file-to-socket").field("file_bytes", file_bytes).key("runs").begin_array();
  for (const std::string& method : methods) {
    if (method != "sendfile" && method != "splice" && method != "readwrite") fail("unknown method %s", method.c_str());
    for (std::int64_t call_bytes : call_sizes) {
      Pair pair = connect_pair();
      int pipe_fds[2] = {-1, -1};
      if (method == "splice") {
        if (pipe2(pipe_fds, O_CLOEXEC) != 0) fail("pipe: %s", std::strerror(errno));
        fcntl(pipe_fds[1], F_SETPIPE_SZ, static_cast<int>(call_bytes));
      }
      std::vector<char> buffer(static_cast<std::size_t>(call_bytes));
      DrainResult drained;
      std::thread receiver(drain, pair.receiver, receiver_cpu, &drained);
      std::int64_t start = now_ns();
      std::int64_t cpu_start = thread_cpu_ns();
      std::int64_t deadline = start + static_cast<std::int64_t>(duration_s * 1e9);
      off_t offset = 0;
      while (now_ns() < deadline) {
        std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(call_bytes, file_bytes - offset));
        ssize_t n = send_from_file(method, file_fd, pair.sender, &offset, want, pipe_fds, buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("%s: %s", method.c_str(), n == 0 ? "no progress" : std::strerror(errno));
        if (offset >= file_bytes) offset = 0;
      }
      std::int64_t sender_cpu_ns = thread_cpu_ns() - cpu_start;
      shutdown(pair.sender, SHUT_WR);
      receiver.join();
      double seconds = static_cast<double>(now_ns() - start) / 1e9;
      close(pair.sender);
      close(pair.receiver);
      if (pipe_fds[0] >= 0) close(pipe_fds[0]), close(pipe_fds[1]);
      json.begin_object().field("method", method).field("call_bytes", call_bytes);
      json.field("mb_per_s", static_cast<double>(drained.bytes) / seconds / 1e6);
      json.field("sender_cpu_s_per_gb", per_gb(sender_cpu_ns, drained.bytes));
      json.field("receiver_cpu_s_per_gb", per_gb(drained.cpu_ns, drained.bytes));
      json.end_object();
    }
  }
  json.end_array().end_object();
  close(file_fd);
  unlink(path.c_str());
  std::printf("%s\n", json.text().c_str());
  return 0;
}

}  // namespace sluice::perf
