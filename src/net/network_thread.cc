#include "net/network_thread.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "base/listen.h"
#include "base/log.h"
#include "base/thread_name.h"
#include "metrics/cells.h"

namespace sluice::net {

Result<int> listen_on(const NetworkThreadConfig& config) {
  ListenOptions options;
  options.reuse_port = true;
  options.send_buffer_bytes = config.socket_send_buffer_bytes;
  options.receive_buffer_bytes = config.socket_receive_buffer_bytes;
  return listen_tcp(config.listener.host, config.listener.port, options);
}

NetworkThread::NetworkThread(int index, const NetworkThreadConfig& config, RequestHandler& handler,
                             MemoryBudget& budget)
    : index_(index), config_(config), handler_(handler), budget_(budget) {}

NetworkThread::~NetworkThread() {
  if (thread_.joinable()) stop_and_join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Status NetworkThread::start() {
  auto fd = listen_on(config_);
  if (!fd.is_ok()) return fd.status();
  listen_fd_ = fd.value();
  bound_port_ = local_port(listen_fd_);
  std::atomic<int> started{0};
  Status init_status;
  thread_ = std::thread([this, &started] { run(&started); });
  while (started.load() == 0) std::this_thread::yield();
  if (started.load() < 0) {
    thread_.join();
    return Status::error("network thread " + std::to_string(index_) + " failed to start");
  }
  return Status::ok();
}

void NetworkThread::run(std::atomic<int>* started) {
  name_current_thread("net", index_);
  io::LoopConfig loop_config;
  loop_config.cpu = config_.cpu;
  loop_config.recv_buffer_count = config_.recv_buffer_count;
  loop_config.recv_buffer_bytes = config_.recv_buffer_bytes;
  loop_config.defer_taskrun = config_.defer_taskrun;
  // fetch.transfer=uring-splice: the splices run on the ring's io-wq workers; keep them on this
  // thread's CPU and few (the sockets and pipes are non-blocking, so a worker never waits long).
  if (config_.limits.file_transfer == FileTransfer::kUringSplice) loop_config.iowq_unbound_max = 4;
  Status status = loop_.init(loop_config);
  if (!status.is_ok()) {
    LOG_ERROR("network_thread_init", "index=%d error=\"%s\"", index_, status.to_string().c_str());
    started->store(-1);
    return;
  }
  log_recv_path_once();
  arm_accept();
  started->store(1);
  loop_.run();
  metrics::local().connections_closed.add(connections_.size());  // closed below without on_closed
  for (auto& [id, connection] : connections_) {
    connection->on_closed = nullptr;
    connection->close("shutdown");
  }
  connections_.clear();
}

void NetworkThread::log_recv_path_once() {
  static std::atomic<bool> logged{false};
  if (logged.exchange(true)) return;
  io::BufferRing* buffers = loop_.recv_buffers();
  if (buffers != nullptr) {
    LOG_INFO("network_recv", "path=multishot_provided_buffers buffers=%u buffer_bytes=%u defer_taskrun=%d",
             buffers->count(), buffers->buffer_bytes(), loop_.defer_taskrun() ? 1 : 0);
  } else {
    LOG_INFO("network_recv", "path=single_shot buffer_bytes_per_connection=65536 defer_taskrun=%d",
             loop_.defer_taskrun() ? 1 : 0);
  }
}

void NetworkThread::begin_drain() {
  loop_.post([this] {
    if (draining_) return;
    draining_ = true;
    loop_.submit_cancel(&accept_op_);
    for (auto& [id, connection] : connections_) connection->stop_reading();
    check_drained();
  });
}

void NetworkThread::check_drained() {
  for (auto& [id, connection] : connections_) {
    if (!connection->idle()) {
      loop_.add_timer(2, [this] { check_drained(); });
      return;
    }
  }
  drained_.store(true, std::memory_order_release);
}

void NetworkThread::stop_and_join() {
  loop_.stop();
  if (thread_.joinable()) thread_.join();
}

void NetworkThread::arm_accept() {
  loop_.submit_multishot_accept(&accept_op_, listen_fd_, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

void NetworkThread::AcceptOp::complete(int result, std::uint32_t flags) {
  if (thread.draining_ || result == -ECANCELED) {
    if (result >= 0) ::close(result);  // accepted just before the cancel
    if (!io::completion_has_more(flags) && thread.listen_fd_ >= 0) {
      ::close(thread.listen_fd_);  // the port is free again once nothing waits on it
      thread.listen_fd_ = -1;
    }
    return;
  }
  if (result >= 0) {
    thread.on_accept(result);
  } else if (result != -EINTR && result != -EAGAIN && result != -ECONNABORTED) {
    LOG_WARN("accept_failed", "errno=%d", -result);
  }
  if (!io::completion_has_more(flags)) thread.arm_accept();  // multishot ended: re-arm
}

void NetworkThread::on_accept(int fd) {
  if (connections_.size() >= config_.connections_max) {
    LOG_WARN("connection_refused", "reason=max.connections open=%zu", connections_.size());
    metrics::local().connections_refused.add(1);
    ::close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::uint64_t id = next_connection_id_++;
  auto connection = std::make_shared<Connection>(loop_, fd, handler_, config_.limits, budget_, id, index_);
  connection->on_closed = [this](Connection& closed) {
    if (connections_.erase(closed.id()) > 0) metrics::local().connections_closed.add(1);
  };
  connections_.emplace(id, connection);
  metrics::local().connections_accepted.add(1);
  connection->start();
}

}  // namespace sluice::net
