// idle-connections (see peers.h).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/endian.h"
#include "peers.h"
#include "perf_io.h"
#include "perf_json.h"

namespace sluice::perf {
namespace {

// The first request that makes each server set up its per-connection state.
std::string greeting(const std::string& protocol) {
  if (protocol == "kafka") {
    // ApiVersions v0, request header v1, client id "idle".
    std::string frame(4, '\0');
    const char body[] = {0, 18, 0, 0, 0, 0, 0, 1, 0, 4, 'i', 'd', 'l', 'e'};
    frame.append(body, sizeof body);
    store_be32(frame.data(), static_cast<std::uint32_t>(sizeof body));
    return frame;
  }
  if (protocol == "redis") return "PING\r\n";
  if (protocol == "nats") return "CONNECT {\"verbose\":false}\r\nPING\r\n";
  return "";
}

// Reads until the answer to the greeting is complete (bounded by the socket timeout).
void await_answer(int fd, const std::string& protocol) {
  std::string seen;
  char buffer[4096];
  for (;;) {
    if (protocol == "kafka" && seen.size() >= 4 && seen.size() >= 4 + load_be32(seen.data())) return;
    if (protocol == "redis" && seen.find("+PONG\r\n") != std::string::npos) return;
    if (protocol == "nats" && seen.find("PONG\r\n") != std::string::npos) return;
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("connection closed before its first answer (%s)", n == 0 ? "EOF" : std::strerror(errno));
    seen.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace

int command_idle_connections(Options& options) {
  std::string address = options.get_string("server", "127.0.0.1:9092");
  std::int64_t count = options.get_int("count", 1000);
  std::string protocol = options.get_string("protocol", "kafka");
  double hold_s = options.get_double("hold-s", 600);
  options.check_all_used();
  if (protocol != "kafka" && protocol != "redis" && protocol != "nats" && protocol != "none")
    fail("--protocol kafka|redis|nats|none");
  raise_fd_limit(static_cast<std::uint64_t>(count) + 64);
  std::string host;
  int port;
  split_address(address, &host, &port);
  std::string hello = greeting(protocol);
  std::int64_t start = now_ns();
  std::vector<int> fds;
  fds.reserve(static_cast<std::size_t>(count));
  // In waves of 256: connect and greet, then collect the answers, so the server's accept queue
  // and the socket buffers stay small.
  for (std::int64_t done = 0; done < count;) {
    std::size_t wave_start = fds.size();
    for (int i = 0; i < 256 && done < count; ++i, ++done) {
      int fd = connect_tcp(host, port, 30000);
      if (!hello.empty()) send_all(fd, hello.data(), hello.size());
      fds.push_back(fd);
    }
    if (protocol != "none")
      for (std::size_t i = wave_start; i < fds.size(); ++i) await_answer(fds[i], protocol);
  }
  Json json;
  json.begin_object().field("ready", true).field("connections", static_cast<std::int64_t>(fds.size()));
  json.field("seconds", static_cast<double>(now_ns() - start) / 1e9).end_object();
  std::printf("%s\n", json.text().c_str());
  std::fflush(stdout);
  // Hold until stdin closes (the harness is done measuring) or hold_s passes.
  pollfd pfd{0, POLLIN, 0};
  std::int64_t deadline = now_ns() + static_cast<std::int64_t>(hold_s * 1e9);
  while (now_ns() < deadline) {
    int ready = poll(&pfd, 1, 200);
    if (ready > 0) {
      char byte;
      if (read(0, &byte, 1) <= 0) break;
    }
  }
  for (int fd : fds) close(fd);
  return 0;
}

}  // namespace sluice::perf
