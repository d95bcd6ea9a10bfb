#include "base/listen.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <tuple>

namespace sluice {

namespace {
// SO_SNDBUF / SO_RCVBUF where the options ask for them.
Status set_buffer_sizes(int fd, const ListenOptions& options) {
  for (auto [option, bytes, name] : {std::tuple{SO_SNDBUF, options.send_buffer_bytes, "SO_SNDBUF"},
                                     std::tuple{SO_RCVBUF, options.receive_buffer_bytes, "SO_RCVBUF"}}) {
    if (bytes > 0 && setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes) != 0)
      return Status::from_errno(errno, std::string("setsockopt ") + name);
  }
  return Status::ok();
}
}  // namespace

Result<int> listen_tcp(const std::string& host, std::uint16_t port, const ListenOptions& options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
  if (rc != 0) return Status::error("resolve " + host + ": " + gai_strerror(rc));
  int fd = -1;
  Status last = Status::error("no address for " + host);
  for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
    fd = ::socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0),
                  address->ai_protocol);
    if (fd < 0) {
      last = Status::from_errno(errno, "socket");
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (options.reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (Status sized = set_buffer_sizes(fd, options); !sized.is_ok()) {
      last = sized;
      ::close(fd);
      fd = -1;
      continue;
    }
    if (::bind(fd, address->ai_addr, address->ai_addrlen) == 0 && ::listen(fd, options.backlog) == 0) break;
    last = Status::from_errno(errno, "bind " + host + ":" + service);
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd < 0) return last;
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

}  // namespace sluice
