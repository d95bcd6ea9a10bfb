// Listening TCP sockets, for the Kafka listener (net) and the metrics server (metrics).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace sluice {

struct ListenOptions {
  int backlog = 1024;
  // SO_REUSEPORT: several sockets (one per network thread) share the port. Off, a port another
  // process holds fails the bind.
  bool reuse_port = false;
  bool nonblocking = false;
  // SO_SNDBUF / SO_RCVBUF, set before listen() so that accepted sockets inherit them (and the
  // receive buffer sizes the window scale offered in the SYN-ACK). <= 0: the kernel's default,
  // which autotunes the buffers to each connection.
  int send_buffer_bytes = -1;
  int receive_buffer_bytes = -1;
};

// Binds and listens on host:port (empty host: every interface), trying each address the name
// resolves to. SO_REUSEADDR is always set. Returns the fd (close-on-exec).
Result<int> listen_tcp(const std::string& host, std::uint16_t port, const ListenOptions& options);
// The local port of a bound socket (0 if it cannot be read).
std::uint16_t local_port(int fd);

}  // namespace sluice
