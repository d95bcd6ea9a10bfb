#include "metrics/http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/assert.h"
#include "base/clock.h"
#include "base/thread_name.h"
#include "base/listen.h"
#include "base/log.h"

namespace sluice::metrics {
namespace {

struct Client {
  int fd = -1;
  std::string in;
  std::string out;
  std::size_t out_sent = 0;
  bool writing = false;
  std::int64_t deadline_ms = 0;
};

std::string response(int status, std::string_view reason, std::string_view content_type, std::string_view body) {
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  text += "Content-Type: " + std::string(content_type) + "\r\n";
  text += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  text += body;
  return text;
}

std::string error_response(int status) {
  const char* reason = status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed"
                       : status == 431 ? "Request Header Fields Too Large"
                                       : "Bad Request";
  return response(status, reason, "text/plain; charset=utf-8", std::string(reason) + "\n");
}

}  // namespace

int classify_request(std::string_view head) {
  std::size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  std::size_t first_space = line.find(' ');
  if (first_space == std::string_view::npos) return 400;
  std::size_t second_space = line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) return 400;
  std::string_view method = line.substr(0, first_space);
  std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  std::string_view version = line.substr(second_space + 1);
  if (version.substr(0, 5) != "HTTP/") return 400;
  if (target.empty() || target.front() != '/') return 400;
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") return 404;
  if (method != "GET") return 405;
  return 200;
}

HttpServer::HttpServer(HttpServerConfig config, Render render) : config_(std::move(config)), render_(std::move(render)) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  SLUICE_ASSERT(listen_fd_ < 0, "metrics server started twice");
  ListenOptions options;
  options.backlog = 16;
  options.nonblocking = true;
  // No SO_REUSEPORT: a metrics port another process holds must fail the start.
  auto listened = listen_tcp(config_.host, config_.port, options);
  if (!listened.is_ok()) return Status::error("metrics.listener " + listened.status().to_string());
  listen_fd_ = listened.value();
  bound_port_ = local_port(listen_fd_);
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    Status failed = Status::from_errno(errno, "metrics eventfd");
    ::close(listen_fd_);
    listen_fd_ = -1;
    return failed;
  }
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void HttpServer::stop() {
  if (thread_.joinable()) {
    std::uint64_t one = 1;
    ssize_t written = ::write(stop_fd_, &one, sizeof one);
    (void)written;
    thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  listen_fd_ = -1;
  stop_fd_ = -1;
}

namespace {

// Drops clients that finished or passed their deadline.
void reap_clients(std::vector<Client>& clients, std::int64_t now) {
  for (std::size_t i = 0; i < clients.size();) {
    Client& client = clients[i];
    bool done = client.writing && client.out_sent == client.out.size();
    if (!done && now < client.deadline_ms) {
      ++i;
      continue;
    }
    if (done) ::shutdown(client.fd, SHUT_WR);
    ::close(client.fd);
    clients[i] = std::move(clients.back());
    clients.pop_back();
  }
}

void on_writable(Client& client, std::int64_t idle_ms) {
  ssize_t sent = ::send(client.fd, client.out.data() + client.out_sent, client.out.size() - client.out_sent,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent > 0) {
    client.out_sent += static_cast<std::size_t>(sent);
    client.deadline_ms = monotonic_ms() + idle_ms;  // progress: a big scrape to a slow reader may take a while
  } else if (sent < 0 && errno != EAGAIN && errno != EINTR) {
    client.deadline_ms = 0;  // closed next round
  }
}

// Reads what arrived; once the head is complete, prepares the whole response.
void on_readable(Client& client, const HttpServerConfig& config, const HttpServer::Render& render) {
  char buffer[2048];
  ssize_t got = ::recv(client.fd, buffer, sizeof buffer, MSG_DONTWAIT);
  if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
    client.deadline_ms = 0;
    return;
  }
  if (got < 0) return;
  client.in.append(buffer, static_cast<std::size_t>(got));
  std::size_t head_end = client.in.find("\r\n\r\n");
  if (head_end == std::string::npos && client.in.size() <= config.request_bytes_max) return;
  if (head_end == std::string::npos || head_end + 4 > config.request_bytes_max) {
    client.out = error_response(431);
  } else {
    int status = classify_request(std::string_view(client.in).substr(0, head_end + 2));
    client.out = status == 200 ? response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", render())
                               : error_response(status);
  }
  client.in.clear();
  client.writing = true;
  client.deadline_ms = monotonic_ms() + config.idle_ms;
}

void accept_clients(int listen_fd, std::vector<Client>& clients, const HttpServerConfig& config) {
  for (int accepted = 0; accepted < 16; ++accepted) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (clients.size() >= config.connections_max) {
      ::close(fd);
      continue;
    }
    Client client;
    client.fd = fd;
    client.deadline_ms = monotonic_ms() + config.idle_ms;
    clients.push_back(std::move(client));
  }
}

}  // namespace

void HttpServer::run() {
  name_current_thread("http");
  std::vector<Client> clients;
  std::vector<pollfd> polled;
  for (;;) {
    const std::int64_t now = monotonic_ms();
    reap_clients(clients, now);
    polled.clear();
    polled.push_back({stop_fd_, POLLIN, 0});
    polled.push_back({listen_fd_, POLLIN, 0});
    std::int64_t wait_ms = 1000;
    for (const Client& client : clients) {
      polled.push_back({client.fd, static_cast<short>(client.writing ? POLLOUT : POLLIN), 0});
      wait_ms = std::min(wait_ms, std::max<std::int64_t>(0, client.deadline_ms - now));
    }
    int ready = ::poll(polled.data(), polled.size(), static_cast<int>(wait_ms));
    if (ready < 0 && errno != EINTR) {
      LOG_ERROR("metrics.poll_failed", "errno=%d", errno);
      break;
    }
    if (ready <= 0) continue;
    if (polled[0].revents != 0) break;  // stop()
    for (std::size_t i = 2; i < polled.size(); ++i) {
      if (polled[i].revents == 0) continue;
      Client& client = clients[i - 2];
      if (client.writing) on_writable(client, config_.idle_ms);
      else on_readable(client, config_, render_);
    }
    if (polled[1].revents != 0) accept_clients(listen_fd_, clients, config_);
  }
  for (Client& client : clients) ::close(client.fd);
}

}  // namespace sluice::metrics
