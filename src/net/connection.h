// One client connection: reads frames with io_uring, hands each to the RequestHandler, and sends
// the responses in the order the requests arrived, whatever order they complete in.
//
// A response is a buffer plus file ranges (protocol::Writer); buffers go out with send(2) and
// file ranges with sendfile(2) from the page cache, so record bytes never enter user space.
//
// Threads: owned by one network thread; every method must be called on that thread. Other
// threads reach a connection only by posting a task to its loop.
// Invariants: at most one recv and one poll are outstanding; responses leave in reservation order.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "io/event_loop.h"
#include "net/memory_budget.h"
#include "protocol/codec.h"

namespace sluice::net {

class Connection;

struct ConnectionLimits {
  std::uint32_t request_bytes_max = 100 << 20;   // socket.request.max.bytes
  std::uint32_t requests_inflight_max = 100;     // stop reading beyond this many unanswered
};

// Implemented by the broker. Called on the connection's network thread.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // `frame` is the request without its 4-byte size. The handler reserves a response slot (unless
  // the request gets no response) and later completes it, or closes the connection.
  virtual void on_request(const std::shared_ptr<Connection>& connection, RequestFrame frame) = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `budget` (shared by all connections) must outlive the connection.
  Connection(io::EventLoop& loop, int fd, RequestHandler& handler, const ConnectionLimits& limits,
             MemoryBudget& budget, std::uint64_t id, int thread_index);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // Stop at shutdown: reads no more requests (bytes that arrive are ignored); the ones already
  // read are still answered.
  void stop_reading();
  // Nothing is owed to the client: no response waiting or being sent, no request held back, no
  // write on the I/O threads.
  bool idle() const { return pending_.empty() && deferred.empty() && writes_inflight == 0; }
  // Closes after logging why; outstanding responses are dropped. Safe to call more than once.
  void close(const char* reason);
  bool closed() const { return closed_; }
  std::uint64_t id() const { return id_; }
  // The peer's address as Kafka prints it in group descriptions ("/127.0.0.1").
  std::string peer_host() const;
  int thread_index() const { return thread_index_; }
  io::EventLoop& loop() { return loop_; }

  // Reserves the next place in the response order.
  std::uint64_t reserve_response();
  // Fills a reserved place with a framed response (size prefix included) and sends what is ready.
  void complete_response(std::uint64_t slot, protocol::Writer response);

  // Called by the owning network thread when it drops the connection from its table.
  std::function<void(Connection&)> on_closed;

  // For the handler: requests it holds back until earlier writes on this connection finish, so a
  // client reads its own writes in request order (as Kafka's one-request-at-a-time gives). They
  // count against requests_inflight_max; closing drops them.
  struct Deferred {
    bool is_write = false;
    std::function<void()> run;
  };
  std::uint32_t writes_inflight = 0;
  std::deque<Deferred> deferred;
  // Runs deferred requests in order while they may go: a write may always go, anything else only
  // when no write is in flight.
  void run_deferred();

 private:
  struct Pending {
    std::uint64_t slot;
    bool ready = false;
    protocol::Writer response;
    std::size_t buffer_position = 0;  // bytes of the buffer already sent
    std::size_t file_index = 0;       // next file chunk
    std::uint64_t file_sent = 0;      // bytes of that file chunk already sent
  };
  class RecvOp : public io::Completion {
   public:
    explicit RecvOp(Connection& c) : connection(c) {}
    void complete(int result, std::uint32_t flags) override;
    Connection& connection;
    std::shared_ptr<Connection> hold;
  };
  class PollOp : public io::Completion {
   public:
    explicit PollOp(Connection& c) : connection(c) {}
    void complete(int result, std::uint32_t flags) override;
    Connection& connection;
    std::shared_ptr<Connection> hold;
  };

  void arm_recv();
  void on_recv(int result);
  void parse_frames();
  void flush();
  // Sends as much of `pending` as the socket takes. Returns 1 when done, 0 when the socket is
  // full, -1 on error.
  int send_some(Pending& pending);
  void maybe_resume_reading();

  io::EventLoop& loop_;
  int fd_;
  RequestHandler& handler_;
  ConnectionLimits limits_;
  MemoryBudget& budget_;
  bool budget_retry_armed_ = false;
  bool reading_stopped_ = false;
  std::uint64_t id_;
  int thread_index_;
  bool closed_ = false;
  bool recv_armed_ = false;
  bool parsing_ = false;
  bool poll_armed_ = false;
  std::vector<std::byte> read_buffer_;
  std::size_t read_bytes_ = 0;  // valid bytes in read_buffer_
  std::deque<Pending> pending_;
  std::uint64_t next_slot_ = 0;
  RecvOp recv_op_{*this};
  PollOp poll_op_{*this};
};

}  // namespace sluice::net
