// A minimal HTTP/1.1 server for Prometheus scrapes, on a thread of its own.
//
// GET /metrics (a query string is ignored) answers 200 with the text the Render function returns;
// any other path 404, another method 405, a request whose head is larger than request_bytes_max
// 431, a malformed one 400. Every response closes the connection ("Connection: close"): scrapes
// come every few seconds, so keeping connections costs more care than it saves. A connection that
// has not sent a whole request head within idle_ms is closed, and at most connections_max are
// open at once (more are accepted and closed at once), so a stuck or hostile client costs a
// bounded amount of memory and never holds the thread.
//
// It never touches a broker thread: Render runs on this thread (the broker's Render gathers what
// it needs by posting to its threads and waiting a bounded time; see broker_metrics.cc).
//
// Threads: start() and stop() from one controlling thread; Render runs on the server thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "base/status.h"

namespace sluice::metrics {

struct HttpServerConfig {
  std::string host = "127.0.0.1";  // empty: every interface
  std::uint16_t port = 9644;       // 0: the kernel picks (see bound_port())
  std::uint32_t request_bytes_max = 8192;
  std::uint32_t connections_max = 16;
  std::int64_t idle_ms = 10000;
};

class HttpServer {
 public:
  using Render = std::function<std::string()>;

  HttpServer(HttpServerConfig config, Render render);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on the caller's thread (so an address in use is an error the caller sees),
  // then starts the server thread.
  Status start();
  // Stops the thread and closes every socket. Safe to call more than once, or without start().
  void stop();
  std::uint16_t bound_port() const { return bound_port_; }

 private:
  void run();

  HttpServerConfig config_;
  Render render_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: written by stop()
  std::uint16_t bound_port_ = 0;
  std::thread thread_;
};

// Parses the head of one HTTP request (up to the blank line). Returns the status the server
// answers with: 200 for GET /metrics, 404, 405 or 400. For tests.
int classify_request(std::string_view head);

}  // namespace sluice::metrics
