// A network thread: one io_uring loop, its own listening socket (SO_REUSEPORT, so the kernel
// spreads new connections over the network threads), and the connections it accepted.
//
// Threads: start() spawns the thread; everything else happens on it. post() via loop() from
// anywhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "base/config.h"
#include "io/event_loop.h"
#include "net/connection.h"

namespace sluice::net {

struct NetworkThreadConfig {
  Listener listener;
  int cpu = -1;
  ConnectionLimits limits;
  std::uint32_t connections_max = 10000;  // per thread
  // The thread's provided buffers, shared by all its connections for multishot recv (0: use
  // single-shot recv with a buffer per connection). 256 x 16 KiB = 4 MiB per thread: a burst
  // from 256 connections in one loop turn fits, and a 16 KiB chunk holds typical requests whole
  // (larger ones are assembled from several chunks either way).
  std::uint32_t recv_buffer_count = 256;
  std::uint32_t recv_buffer_bytes = 16 * 1024;
  // Ask for IORING_SETUP_DEFER_TASKRUN (falls back to COOP_TASKRUN where the kernel lacks it).
  bool defer_taskrun = true;
  // socket.send.buffer.bytes / socket.receive.buffer.bytes: SO_SNDBUF / SO_RCVBUF of accepted
  // connections; <= 0 leaves the kernel's autotuning.
  int socket_send_buffer_bytes = -1;
  int socket_receive_buffer_bytes = -1;
};

class NetworkThread {
 public:
  // `budget` is shared by every network thread and must outlive them.
  NetworkThread(int index, const NetworkThreadConfig& config, RequestHandler& handler, MemoryBudget& budget);
  ~NetworkThread();

  // Binds the listening socket on the caller's thread (so bind errors stop start-up), then
  // starts the thread. Returns once the loop runs.
  Status start();
  // Any thread. The first step of a clean stop: stop accepting (the listening socket closes),
  // stop reading requests, keep answering the ones already read. drained() turns true once no
  // connection is owed anything.
  void begin_drain();
  bool drained() const { return drained_.load(std::memory_order_acquire); }
  void stop_and_join();
  io::EventLoop& loop() { return loop_; }
  int index() const { return index_; }
  std::uint16_t bound_port() const { return bound_port_; }

 private:
  class AcceptOp : public io::Completion {
   public:
    explicit AcceptOp(NetworkThread& t) : thread(t) {}
    void complete(int result, std::uint32_t flags) override;
    NetworkThread& thread;
  };
  void run(std::atomic<int>* started);
  void arm_accept();
  void on_accept(int fd);
  void check_drained();
  // Logs, once per process, whether connections read with multishot recv or single-shot.
  void log_recv_path_once();

  int index_;
  NetworkThreadConfig config_;
  RequestHandler& handler_;
  MemoryBudget& budget_;
  io::EventLoop loop_;
  int listen_fd_ = -1;
  std::uint16_t bound_port_ = 0;
  std::thread thread_;
  AcceptOp accept_op_{*this};
  std::uint64_t next_connection_id_ = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  bool draining_ = false;  // loop thread
  std::atomic<bool> drained_{false};
};

// Opens a listening TCP socket with SO_REUSEPORT on host:port (empty host: all interfaces), with
// the config's socket buffer sizes.
Result<int> listen_on(const NetworkThreadConfig& config);

}  // namespace sluice::net
