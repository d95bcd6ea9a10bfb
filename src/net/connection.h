// One client connection: reads frames with io_uring, hands each to the RequestHandler, and sends
// the responses in the order the requests arrived, whatever order they complete in.
//
// Reading: when the loop has provided buffers (EventLoop::recv_buffers), one multishot recv stays
// armed and each chunk arrives in a buffer shared by the whole thread. Whole frames are decoded
// straight from that buffer, which goes back to the ring at once; only a frame cut at the end of
// a chunk is copied, into a buffer of exactly that frame's size, freed when the frame completes.
// So an idle connection holds no read buffer. Without provided buffers (old kernels) a
// single-shot recv reads into a per-connection 64 KiB buffer, as before.
// Backpressure (requests_inflight_max, the MemoryBudget, stop_reading) cancels the multishot
// recv; chunks that were already on their way are kept, unparsed, and parsed on resume.
//
// A response is a buffer plus file ranges (protocol::Writer); buffers go out with send(2) and
// file ranges with sendfile(2) from the page cache, so record bytes never enter user space.
// fetch.transfer=splice moves them file -> pipe -> socket with splice(2) instead (still no copy,
// through a pipe borrowed from a per-thread pool while a range is being sent),
// fetch.transfer=uring-splice submits the same two splices to io_uring as a linked pair (run by
// the ring's io-wq workers, pinned to the thread's CPU) and goes on with other connections until
// they complete, and fetch.transfer=copy reads them through a reused staging buffer and sends that.
//
// Threads: owned by one network thread; every method must be called on that thread. Other
// threads reach a connection only by posting a task to its loop.
// Invariants: at most one recv (single-shot or multishot) and one poll are outstanding; the recv
// op holds the Connection until its last completion; responses leave in reservation order;
// kept_ is parsed before any later chunk.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/file_transfer.h"
#include "io/event_loop.h"
#include "net/memory_budget.h"
#include "protocol/codec.h"

namespace sluice::net {

class Connection;

// How file ranges leave (fetch.transfer), defined in base with the names of its values.
using sluice::FileTransfer;

struct ConnectionLimits {
  std::uint32_t request_bytes_max = 100 << 20;   // socket.request.max.bytes
  std::uint32_t requests_inflight_max = 100;     // stop reading beyond this many unanswered
  FileTransfer file_transfer = FileTransfer::kSendfile;
  // Bytes per sendfile call, the pipe's size with splice, or the staging buffer's size with copy
  // (fetch.send.chunk.bytes).
  std::uint32_t file_chunk_bytes = 1 << 20;
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
  // For tests: bytes of read buffers this connection holds (partial frame, kept chunks, the
  // single-shot buffer), counted by capacity; 0 for an idle connection on provided buffers.
  std::size_t read_buffer_bytes() const;
  bool recv_armed() const { return recv_armed_; }
  bool recv_multishot() const { return buffers_ != nullptr; }

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
  // FileTransfer::kCopy: bytes of the current file chunk read ahead of the socket, from
  // file_sent on. The buffer comes from a per-thread pool while a chunk is being sent.
  struct Staging {
    std::unique_ptr<std::byte[]> data;
    std::size_t begin = 0, end = 0;  // [begin, end) read and not yet sent
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

  // Decides whether to read: arms the recv, parses kept chunks, or pauses. Call after anything
  // that may change the answer (a completion, a response sent, a request run, the budget).
  void update_reading();
  bool reading_blocked() const;
  void pause_reading();
  void arm_recv();
  void on_recv(int result, std::uint32_t flags);
  // Takes the bytes of one chunk: parses them, or keeps them while reading is blocked.
  void take_bytes(const std::byte* data, std::size_t bytes);
  void parse_kept();
  // Hands every whole frame in [data, data + bytes) to the handler and copies the rest into
  // partial_; continues the frame in partial_ first.
  void parse(const std::byte* data, std::size_t bytes);
  // Returns the frame size announced by a 4-byte prefix, or closes and returns 0 when it is out
  // of bounds.
  std::uint32_t checked_frame_bytes(const std::byte* prefix);
  void dispatch(std::vector<std::byte> body);
  void flush();
  // Sends as much of `pending` as the socket takes. Returns 1 when done, 0 when the socket is
  // full, 2 while an io_uring splice is in flight (its completion goes on), -1 on error.
  int send_some(Pending& pending);
  // One step of sending a file chunk by copy: send what is staged, else read the next piece.
  // Returns 1 to go on, 0 when the socket is full, -1 on error.
  int copy_file_step(Pending& pending, const protocol::FileChunk& file, bool more_after);
  // One step of sending a file chunk by splice: empty the pipe into the socket, else fill it
  // from the file. Returns 1 to go on, 0 when the socket is full, -1 on error.
  int splice_file_step(Pending& pending, const protocol::FileChunk& file, bool more_after);
  // The io_uring form of splice_file_step: submits the next splice(s) and returns 2 (an
  // operation is in flight: wait for its completion, not for POLLOUT); -1 on error.
  int uring_splice_file_step(Pending& pending, const protocol::FileChunk& file, bool more_after);
  // Applies the results of the splice operations once the last one in flight completed.
  void on_uring_splices_done();
  // Takes a pipe from the thread's pool (or makes one) into pipe_; false when none can be made.
  bool acquire_pipe();
  // Gives the pipe back to the thread's pool when it is empty, or closes it when it is not.
  void release_pipe();
  // Waits for room in the socket (one POLLOUT poll at a time); its completion calls flush.
  void arm_pollout();
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
  io::BufferRing* buffers_;                // the loop's provided buffers; null: single-shot recv
  bool recv_armed_ = false;                // a recv op is live (until its last completion)
  bool recv_cancel_requested_ = false;     // asked the kernel to end the live multishot recv
  bool recv_retry_pending_ = false;        // the ring ran dry; re-arm on the next loop turn
  bool parsing_ = false;
  bool poll_armed_ = false;
  // The frame being assembled across chunks: its 4-byte size prefix (prefix_bytes_ of it so
  // far), then its body, reserved to the announced size once the prefix is complete.
  std::byte prefix_[4] = {};
  std::uint8_t prefix_bytes_ = 0;
  std::vector<std::byte> partial_;
  std::vector<std::byte> kept_;            // chunks received while reading was blocked
  std::vector<std::byte> single_shot_buffer_;  // fallback recv target, when buffers_ is null
  std::deque<Pending> pending_;
  Staging staging_;
  // FileTransfer::kSplice: a pipe held while a file chunk is being sent, and the bytes of that
  // chunk (from file_sent on) sitting in it. Owned only while pipe_.read_fd >= 0.
  struct Pipe {
    int read_fd = -1, write_fd = -1;
  };
  Pipe pipe_;
  std::size_t pipe_bytes_ = 0;
  // FileTransfer::kUringSplice: the linked fill (file -> pipe) and drain (pipe -> socket)
  // operations. Each holds the Connection while in flight; results are applied when both are back.
  class SpliceOp : public io::Completion {
   public:
    explicit SpliceOp(Connection& c) : connection(c) {}
    void complete(int result, std::uint32_t flags) override;
    Connection& connection;
    std::shared_ptr<Connection> hold;
    bool submitted = false;  // read for the fill only: whether this round read from the file
    int result = 0;
  };
  SpliceOp fill_op_{*this};
  SpliceOp drain_op_{*this};
  int splices_inflight_ = 0;
  std::uint64_t next_slot_ = 0;
  RecvOp recv_op_{*this};
  PollOp poll_op_{*this};
};

}  // namespace sluice::net
