// tcp-stream, tcp-rtt and file-to-socket (see perf_limits.h).
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <span>
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

// The methods file-to-socket measures. The three splice-family ones move pages, never bytes:
//   sendfile      sendfile(2) straight from the file to the socket;
//   splice        file -> pipe -> socket with two splice(2) calls per call;
//   uring-splice  the same two splices submitted through io_uring as one linked pair of
//                 IORING_OP_SPLICE SQEs (one io_uring_enter per call);
//   uring-splice-nb  uring-splice on a non-blocking socket, as a broker's event loop keeps its
//                 sockets: a full socket fails the pipe -> socket splice with EAGAIN, and the
//                 sender waits in poll(2) for room before draining the pipe;
//   readwrite     pread into a user buffer, then send (the copying baseline);
//   sendfile-nb, readwrite-nb  sendfile and readwrite on a non-blocking socket, waiting in poll(2)
//                 for room after EAGAIN, as a broker's event loop sends (fetch.transfer=zerocopy
//                 and copy): what the non-blocking form costs next to the blocking one.
constexpr const char* file_methods[] = {"sendfile", "splice", "uring-splice", "uring-splice-nb", "readwrite",
                                        "sendfile-nb", "readwrite-nb"};

bool non_blocking_method(const std::string& method) {
  return method.size() > 3 && method.compare(method.size() - 3, 3, "-nb") == 0;
}

// One (method, call size) run's sending state, owned by the sender (main) thread. The splice
// methods get a pipe whose capacity is the call size; uring-splice borrows the command's ring.
struct FileSender {
  std::string method;
  int pipe_fds[2] = {-1, -1};
  std::vector<char> buffer;
  io_uring* ring = nullptr;
};

// The kernel runs every IORING_OP_SPLICE on an io-wq worker thread of this process (it never
// issues splice inline), so the worker, not the sender thread, does the splicing. The ring's
// workers are pinned to the sender's CPU so that the pair keeps the sender/receiver core split
// of the other methods (unpinned, a worker could run beside the receiver on its core).
// Four SQEs: one linked pair is in flight at a time.
void uring_init(io_uring* ring, int sender_cpu) {
  int rc = io_uring_queue_init(4, ring, 0);
  if (rc < 0) fail("io_uring_queue_init: %s", std::strerror(-rc));
  if (sender_cpu < 0) return;
  cpu_set_t mask;
  CPU_ZERO(&mask);
  CPU_SET(sender_cpu, &mask);
  rc = io_uring_register_iowq_aff(ring, sizeof mask, &mask);
  if (rc < 0) fail("io_uring_register_iowq_aff: %s", std::strerror(-rc));
}

// Submits what is queued and waits for `count` completions; results[user_data] receives each
// CQE's res. Requires: every queued SQE has user_data < results.size().
void uring_submit_reap(io_uring* ring, unsigned count, std::span<int> results) {
  int rc = io_uring_submit_and_wait(ring, count);
  while (rc == -EINTR) rc = io_uring_submit_and_wait(ring, count);
  if (rc < 0) fail("io_uring_submit_and_wait: %s", std::strerror(-rc));
  for (unsigned i = 0; i < count; ++i) {
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_wait_cqe(ring, &cqe);
    if (rc < 0) fail("io_uring_wait_cqe: %s", std::strerror(-rc));
    if (cqe->user_data >= results.size()) fail("unexpected cqe user_data %llu", static_cast<unsigned long long>(cqe->user_data));
    results[cqe->user_data] = cqe->res;
    io_uring_cqe_seen(ring, cqe);
  }
}

io_uring_sqe* uring_sqe(io_uring* ring) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) fail("io_uring: submission queue full");  // Only one pair is ever in flight.
  return sqe;
}

// Waits until a non-blocking socket has room again.
void wait_writable(int socket_fd) {
  pollfd waiting{socket_fd, POLLOUT, 0};
  int rc = poll(&waiting, 1, socket_timeout_ms);
  if (rc < 0 && errno != EINTR) fail("poll: %s", std::strerror(errno));
  if (rc == 0) fail("socket not writable for %d ms", socket_timeout_ms);
}

// send_all for a non-blocking socket: waits in poll for room whenever it is full.
void send_all_waiting(int socket_fd, const char* data, std::size_t bytes) {
  while (bytes > 0) {
    ssize_t n = send(socket_fd, data, bytes, MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) {
      wait_writable(socket_fd);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("send: %s", n == 0 ? "no progress" : std::strerror(errno));
    data += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

// Moves `bytes` that sit in the pipe to the socket, one IORING_OP_SPLICE at a time (waiting for
// room whenever a non-blocking socket is full).
void uring_drain_pipe(io_uring* ring, int pipe_read_fd, int socket_fd, std::size_t bytes) {
  while (bytes > 0) {
    io_uring_sqe* sqe = uring_sqe(ring);
    io_uring_prep_splice(sqe, pipe_read_fd, -1, socket_fd, -1, static_cast<unsigned>(bytes), SPLICE_F_MOVE);
    sqe->user_data = 0;
    int results[1] = {0};
    uring_submit_reap(ring, 1, results);
    if (results[0] == -EAGAIN) {
      wait_writable(socket_fd);
      continue;
    }
    if (results[0] <= 0) fail("uring-splice to socket: %s", results[0] == 0 ? "no progress" : std::strerror(-results[0]));
    bytes -= std::min(bytes, static_cast<std::size_t>(results[0]));
  }
}

// One call of uring-splice: file -> pipe linked (IOSQE_IO_LINK) to pipe -> socket, submitted and
// reaped with one io_uring_enter. A splice that moves less than it was asked for fails the link,
// so a short file -> pipe cancels the second SQE (-ECANCELED); either way whatever the second
// did not move is drained before returning, so the pipe is empty at the start of every call.
// Returns the bytes taken from the file (all of them on the socket), or -1 with errno set.
// Requires: the pipe is empty; call_bytes <= the pipe's capacity.
ssize_t uring_splice_call(io_uring* ring, int file_fd, int socket_fd, off_t* offset, std::size_t call_bytes,
                          const int pipe_fds[2]) {
  enum : unsigned { to_pipe = 1, to_socket = 2 };
  io_uring_sqe* fill = uring_sqe(ring);
  io_uring_prep_splice(fill, file_fd, *offset, pipe_fds[1], -1, static_cast<unsigned>(call_bytes), SPLICE_F_MOVE);
  fill->flags |= IOSQE_IO_LINK;
  fill->user_data = to_pipe;
  io_uring_sqe* send = uring_sqe(ring);
  io_uring_prep_splice(send, pipe_fds[0], -1, socket_fd, -1, static_cast<unsigned>(call_bytes), SPLICE_F_MOVE);
  send->user_data = to_socket;
  int results[3] = {0, 0, 0};
  uring_submit_reap(ring, 2, results);
  int in = results[to_pipe];
  int out = results[to_socket];
  if (in < 0) return errno = -in, -1;  // The pipe stayed empty; the send was cancelled.
  if (out < 0 && out != -ECANCELED && out != -EAGAIN) fail("uring-splice to socket: %s", std::strerror(-out));
  if (out > in) fail("uring-splice: %d bytes left the pipe but only %d entered it", out, in);
  uring_drain_pipe(ring, pipe_fds[0], socket_fd, static_cast<std::size_t>(in - std::max(out, 0)));
  *offset += in;
  return in;
}

// Sends `call_bytes` from file_fd at *offset to the socket with the sender's method; returns the
// bytes sent (and advances *offset by them), or <= 0 with errno as the syscalls do.
ssize_t send_from_file(FileSender& sender, int file_fd, int socket_fd, off_t* offset, std::size_t call_bytes) {
  if (sender.method == "sendfile") return sendfile(socket_fd, file_fd, offset, call_bytes);
  if (sender.method == "sendfile-nb") {
    for (;;) {
      ssize_t n = sendfile(socket_fd, file_fd, offset, call_bytes);
      if (n >= 0 || errno != EAGAIN) return n;
      wait_writable(socket_fd);
    }
  }
  if (sender.method == "uring-splice" || sender.method == "uring-splice-nb") return uring_splice_call(sender.ring, file_fd, socket_fd, offset, call_bytes, sender.pipe_fds);
  if (sender.method == "readwrite" || sender.method == "readwrite-nb") {
    ssize_t n = pread(file_fd, sender.buffer.data(), call_bytes, *offset);
    if (n <= 0) return n;
    if (non_blocking_method(sender.method)) {
      send_all_waiting(socket_fd, sender.buffer.data(), static_cast<std::size_t>(n));
    } else {
      send_all(socket_fd, sender.buffer.data(), static_cast<std::size_t>(n));
    }
    *offset += n;
    return n;
  }
  // splice: file -> pipe, then pipe -> socket until the pipe is empty.
  ssize_t in = splice(file_fd, offset, sender.pipe_fds[1], nullptr, call_bytes, SPLICE_F_MOVE);
  if (in <= 0) return in;
  ssize_t left = in;
  while (left > 0) {
    ssize_t out = splice(sender.pipe_fds[0], nullptr, socket_fd, nullptr, static_cast<std::size_t>(left), SPLICE_F_MOVE);
    if (out < 0 && errno == EINTR) continue;
    if (out <= 0) fail("splice to socket: %s", std::strerror(errno));
    left -= out;
  }
  return in;
}

bool known_file_method(const std::string& method) {
  return std::find(std::begin(file_methods), std::end(file_methods), method) != std::end(file_methods);
}

struct FileRunResult {
  std::uint64_t bytes = 0;
  double seconds = 0;
  std::int64_t sender_cpu_ns = 0;         // sender thread + io-wq workers (process minus receiver)
  std::int64_t sender_thread_cpu_ns = 0;  // the sender thread alone
  std::int64_t receiver_cpu_ns = 0;
};

// Sends from the file for `duration_s` (wrapping at its end) to a fresh loopback pair drained by
// a receiver thread on receiver_cpu. The sender's CPU is the process's CPU over the run minus the
// receiver thread's: for the syscall methods that is the sender thread's own, and for
// uring-splice it also counts the io-wq workers that run the splices.
FileRunResult run_file_to_socket(FileSender& sender, int file_fd, std::int64_t file_bytes, std::int64_t call_bytes,
                                 double duration_s, int receiver_cpu) {
  Pair pair = connect_pair();
  if (non_blocking_method(sender.method)) fcntl(pair.sender, F_SETFL, fcntl(pair.sender, F_GETFL) | O_NONBLOCK);
  DrainResult drained;
  std::thread receiver(drain, pair.receiver, receiver_cpu, &drained);
  FileRunResult result;
  std::int64_t start = now_ns();
  std::int64_t cpu_start = thread_cpu_ns();
  std::int64_t process_cpu_start = process_cpu_ns();
  std::int64_t deadline = start + static_cast<std::int64_t>(duration_s * 1e9);
  off_t offset = 0;
  std::uint64_t sent_bytes = 0;
  while (now_ns() < deadline) {
    std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(call_bytes, file_bytes - offset));
    ssize_t n = send_from_file(sender, file_fd, pair.sender, &offset, want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("%s: %s", sender.method.c_str(), n == 0 ? "no progress" : std::strerror(errno));
    sent_bytes += static_cast<std::uint64_t>(n);
    if (offset >= file_bytes) offset = 0;
  }
  result.sender_thread_cpu_ns = thread_cpu_ns() - cpu_start;
  shutdown(pair.sender, SHUT_WR);
  receiver.join();
  result.seconds = static_cast<double>(now_ns() - start) / 1e9;
  result.sender_cpu_ns = process_cpu_ns() - process_cpu_start - drained.cpu_ns;
  // Every byte a method reported as sent must have arrived: a lost or doubled pipe drain shows here.
  if (drained.bytes != sent_bytes)
    fail("%s: sent %llu bytes, received %llu", sender.method.c_str(), static_cast<unsigned long long>(sent_bytes),
         static_cast<unsigned long long>(drained.bytes));
  result.bytes = drained.bytes;
  result.receiver_cpu_ns = drained.cpu_ns;
  close(pair.sender);
  close(pair.receiver);
  return result;
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
  auto methods = options.get_string_list("methods", "sendfile,splice,uring-splice,readwrite");
  auto call_sizes = options.get_int_list("call-bytes", "65536,262144,1048576");
  double duration_s = options.get_double("duration-s", 2);
  int sender_cpu = static_cast<int>(options.get_int("sender-cpu", -1));
  int receiver_cpu = static_cast<int>(options.get_int("receiver-cpu", -1));
  // The size of the writes that fill the file: the page cache's folios follow it (a broker's
  // segment is written one produce request at a time).
  std::int64_t write_bytes = options.get_int("write-bytes", 1 << 20);
  options.check_all_used();
  if (write_bytes < 1 || write_bytes > (64 << 20)) fail("write-bytes must be 1..64 MiB");
  for (const std::string& method : methods)
    if (!known_file_method(method)) fail("unknown method %s", method.c_str());
  pin_thread(sender_cpu);
  // The file is written here and so sits in the page cache, as a segment a consumer tails does.
  std::string path = dir + "/sluice-perf-file-to-socket.bin";
  int file_fd = open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
  if (file_fd < 0) fail("open %s: %s", path.c_str(), std::strerror(errno));
  std::vector<char> chunk(static_cast<std::size_t>(write_bytes), 'f');
  for (std::int64_t written = 0; written < file_bytes; written += static_cast<std::int64_t>(chunk.size()))
    if (write(file_fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) fail("write: %s", std::strerror(errno));
  // One ring serves every uring-splice run of the command (set up outside the timed loops).
  io_uring ring{};
  bool uring = std::any_of(methods.begin(), methods.end(), [](const std::string& m) { return m.rfind("uring-splice", 0) == 0; });
  if (uring) uring_init(&ring, sender_cpu);
  Json json;
  json.begin_object().field("command", "file-to-socket").field("file_bytes", file_bytes).field("write_bytes", write_bytes);
  json.key("runs").begin_array();
  for (const std::string& method : methods) {
    for (std::int64_t call_bytes : call_sizes) {
      FileSender sender;
      sender.method = method;
      if (method == "splice" || method == "uring-splice" || method == "uring-splice-nb") {
        if (pipe2(sender.pipe_fds, O_CLOEXEC) != 0) fail("pipe: %s", std::strerror(errno));
        fcntl(sender.pipe_fds[1], F_SETPIPE_SZ, static_cast<int>(call_bytes));
      }
      if (method == "uring-splice" || method == "uring-splice-nb") sender.ring = &ring;
      if (method.rfind("readwrite", 0) == 0) sender.buffer.resize(static_cast<std::size_t>(call_bytes));
      FileRunResult run = run_file_to_socket(sender, file_fd, file_bytes, call_bytes, duration_s, receiver_cpu);
      if (sender.pipe_fds[0] >= 0) close(sender.pipe_fds[0]), close(sender.pipe_fds[1]);
      json.begin_object().field("method", method).field("call_bytes", call_bytes);
      json.field("mb_per_s", static_cast<double>(run.bytes) / run.seconds / 1e6);
      json.field("sender_cpu_s_per_gb", per_gb(run.sender_cpu_ns, run.bytes));
      json.field("sender_thread_cpu_s_per_gb", per_gb(run.sender_thread_cpu_ns, run.bytes));
      json.field("receiver_cpu_s_per_gb", per_gb(run.receiver_cpu_ns, run.bytes));
      json.end_object();
    }
  }
  json.end_array().end_object();
  if (uring) io_uring_queue_exit(&ring);
  close(file_fd);
  unlink(path.c_str());
  std::printf("%s\n", json.text().c_str());
  return 0;
}

}  // namespace sluice::perf
