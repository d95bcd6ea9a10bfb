// Plumbing shared by the sluice-perf commands: blocking loopback sockets, a reader that cuts a
// byte stream into 4-byte-size-prefixed frames (Kafka's framing), CPU pinning, and CPU/RSS
// accounting from getrusage and /proc. Every blocking socket call is bounded by SO_RCVTIMEO /
// SO_SNDTIMEO, so a dead peer ends a run with an error instead of a hang.
// Objects are single-threaded: each worker owns its sockets and readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sluice::perf {

// Connects to host:port (IPv4 literal or "localhost"), TCP_NODELAY, with send/receive timeouts.
// Returns the fd, or fails the process.
int connect_tcp(const std::string& host, int port, int timeout_ms);
// Splits "host:port"; fails the process when it does not parse.
void split_address(const std::string& address, std::string* host, int* port);
// A listening socket on 127.0.0.1 with a kernel-chosen port; *port receives the port.
int listen_loopback(int* port);
void set_timeouts(int fd, int timeout_ms);
// Sends every byte; fails the process on error or timeout.
void send_all(int fd, const void* data, std::size_t bytes);
// Receives exactly `bytes`; fails the process on error, EOF or timeout.
void receive_exact(int fd, void* data, std::size_t bytes);

// Reads a TCP byte stream through one fixed buffer that is reused from its start whenever it has
// been consumed, so a long message (a 32 MiB Fetch response) is copied out of the kernel into the
// same hot buffer again and again, as a lean client's receive loop does, rather than across a
// region as large as the message (measured on this VM: receiving into a 32 MiB span instead of
// one 1 MiB buffer cost the loopback sender 11-19% of its rate). Blocking reads; fails the
// process on error, EOF or timeout.
class StreamReader {
 public:
  StreamReader(int fd, std::size_t buffer_bytes);
  // The next n bytes, buffered and not consumed; valid until the next peek, skip or get (consume
  // leaves them in place). Grows the buffer when n exceeds it.
  std::byte* peek(std::size_t n);
  void consume(std::size_t n);
  // The bytes already received and not consumed (never reads).
  std::span<const std::byte> buffered() const { return {buffer_.data() + begin_, end_ - begin_}; }
  // Consumes n bytes, which need not fit the buffer.
  void skip(std::uint64_t n);
  std::int16_t get_i16();
  std::int32_t get_i32();
  std::int64_t get_i64();
  // Bytes consumed since construction.
  std::uint64_t position() const { return position_; }

 private:
  int fd_;
  std::vector<std::byte> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::uint64_t position_ = 0;
};

// Cuts a TCP byte stream into frames of [i32 size][size bytes], read through a StreamReader:
// no allocation per frame once the buffer holds the largest frame (bounded by frame_bytes_max).
class FrameReader {
 public:
  FrameReader(int fd, std::size_t frame_bytes_max, std::size_t buffer_bytes = 128 * 1024);
  // The next whole frame's payload (after the size), reading as needed (blocking). The span stays
  // valid until the next call. Fails the process on error, EOF, timeout or an oversized frame.
  std::span<std::byte> next();
  // True when a whole frame is already buffered (next() will not block).
  bool frame_buffered() const;

 private:
  StreamReader stream_;
  std::size_t frame_bytes_max_;
};

// Pins the calling thread to `cpu` (no-op for cpu < 0). Fails the process when it cannot.
void pin_thread(int cpu);

std::int64_t now_ns();        // CLOCK_MONOTONIC, shared by every process on the machine
std::int64_t thread_cpu_ns(); // CPU time of the calling thread
std::int64_t process_cpu_ns();  // user + system CPU of this process (all threads)
// user + system CPU seconds of another process (all threads), from /proc/<pid>/stat; -1 if gone.
double proc_cpu_s(int pid);
// VmRSS of a process in KiB, from /proc/<pid>/status; -1 if gone.
std::int64_t proc_rss_kib(int pid);
// Sleeps until the CLOCK_MONOTONIC time `deadline_ns`.
void sleep_until_ns(std::int64_t deadline_ns);
// Raises RLIMIT_NOFILE to `count` (the hard limit too when root); fails the process when it cannot.
void raise_fd_limit(std::uint64_t count);

}  // namespace sluice::perf
