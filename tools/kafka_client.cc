#include "kafka_client.h"

#include "base/error_code.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <thread>

#include "base/endian.h"
#include "protocol/api_versions.h"
#include "protocol/find_coordinator.h"

namespace sluice::tools {
namespace {

namespace p = sluice::protocol;

// A response larger than this is not one a group tool asks for: treat it as a broken stream.
constexpr std::size_t response_bytes_max = 256u << 20;
// How long FindCoordinator keeps retrying COORDINATOR_LOAD_IN_PROGRESS / NOT_AVAILABLE.
constexpr int coordinator_wait_ms_max = 20000;
constexpr int coordinator_retry_ms = 200;
constexpr const char* client_id = "sluice-groups";


std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits until a non-blocking connect on `fd` finishes; returns 0 or an errno value.
int await_connect(int fd, int timeout_ms) {
  pollfd waiter{fd, POLLOUT, 0};
  int ready = ::poll(&waiter, 1, timeout_ms);
  if (ready == 0) return ETIMEDOUT;
  if (ready < 0) return errno;
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
  return error;
}

void set_socket_timeouts(int fd, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Tries one resolved address; returns the connected blocking fd or -1 with `*error` set.
int connect_one(const addrinfo* ai, int timeout_ms, int* error) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0) {
    *error = errno;
    return -1;
  }
  *error = 0;
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
    *error = errno == EINPROGRESS ? await_connect(fd, timeout_ms) : errno;
  if (*error != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  set_socket_timeouts(fd, timeout_ms);
  return fd;
}

}  // namespace

std::string kafka_error_name(std::int16_t error_code) {
  const char* name = sluice::error_name(static_cast<sluice::ErrorCode>(error_code));
  if (name != nullptr) return name;
  return "UNKNOWN_ERROR_" + std::to_string(error_code);
}

void die(const char* format, ...) {
  std::fflush(stdout);
  std::fputs("Error: ", stderr);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::exit(1);
}

void split_host_port(const std::string& address, std::string* host, int* port) {
  std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    die("bad address '%s' (expected HOST:PORT)", address.c_str());
  *host = address.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  char* end = nullptr;
  long value = std::strtol(address.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || value <= 0 || value > 65535) die("bad port in '%s'", address.c_str());
  *port = static_cast<int>(value);
}

// Connection.

Connection::Connection(const std::string& host, int port, int timeout_ms)
    : address_(host + ":" + std::to_string(port)), timeout_ms_(timeout_ms) {
  SLUICE_ASSERT(timeout_ms > 0, "timeout_ms=%d", timeout_ms);
  connect_bounded(host, port);
  negotiate();
  SLUICE_ASSERT(fd_ >= 0);
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::connect_bounded(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) die("cannot resolve %s: %s", address_.c_str(), ::gai_strerror(rc));
  int error = 0;
  for (addrinfo* ai = found; ai != nullptr && fd_ < 0; ai = ai->ai_next)
    fd_ = connect_one(ai, timeout_ms_, &error);
  ::freeaddrinfo(found);
  if (fd_ < 0) die("cannot connect to %s: %s", address_.c_str(), std::strerror(error));
}

// ApiVersions v3 first; a broker that does not know v3 answers UNSUPPORTED_VERSION in the v0
// layout (error code first in both), and then we ask again with v0.
void Connection::negotiate() {
  p::ApiVersionsRequest request;
  request.client_software_name = client_id;
  request.client_software_version = "1";
  std::int16_t version = p::ApiVersionsRequest::version_max;
  p::Writer body;
  p::encode(body, request, version);
  std::vector<std::byte> frame =
      round_trip(static_cast<std::int16_t>(p::ApiKey::api_versions), version, true, body);
  p::Reader peek(frame.data(), frame.size());
  if (peek.get_i16() == 35) {
    version = 0;
    p::Writer body_v0;
    p::encode(body_v0, request, version);
    frame = round_trip(static_cast<std::int16_t>(p::ApiKey::api_versions), version, false, body_v0);
  }
  p::Reader reader(frame.data(), frame.size());
  p::ApiVersionsResponse response;
  if (!p::decode(reader, response, version)) die("%s: ApiVersions response does not parse", address_.c_str());
  if (response.error_code != 0)
    die("%s: ApiVersions: %s", address_.c_str(), kafka_error_name(response.error_code).c_str());
  for (const auto& api : response.api_keys) ranges_[api.api_key] = Range{api.min_version, api.max_version};
}

std::int16_t Connection::pick_version(std::int16_t api_key, std::int16_t ours_min,
                                      std::int16_t ours_max) const {
  auto it = ranges_.find(api_key);
  if (it == ranges_.end())
    die("%s does not serve api key %d: UNSUPPORTED_VERSION", address_.c_str(), api_key);
  std::int16_t low = std::max(ours_min, it->second.min);
  std::int16_t high = std::min(ours_max, it->second.max);
  if (low > high)
    die("%s serves api key %d v%d-v%d, this tool needs v%d-v%d: UNSUPPORTED_VERSION",
        address_.c_str(), api_key, it->second.min, it->second.max, ours_min, ours_max);
  return high;
}

std::vector<std::byte> Connection::round_trip(std::int16_t api_key, std::int16_t version,
                                              bool flexible, p::Writer& body) {
  SLUICE_ASSERT(body.files().empty());
  p::Writer header;
  // Reserving first also keeps GCC 12 from a false -Warray-bounds on the growing vector.
  header.buffer().reserve(64 + body.size());
  std::int32_t correlation_id = ++correlation_id_;
  std::size_t client_id_bytes = std::strlen(client_id);
  header.put_i32(0);  // size, patched below
  header.put_i16(api_key);
  header.put_i16(version);
  header.put_i32(correlation_id);
  header.put_i16(static_cast<std::int16_t>(client_id_bytes));  // a classic string even in v2
  header.put_bytes(client_id, client_id_bytes);
  if (flexible) header.put_uvarint(0);  // request header v2: no tagged fields
  header.put_bytes(body.buffer().data(), body.size());
  store_be32(header.buffer().data(), static_cast<std::uint32_t>(header.size() - 4));
  send_all(header.buffer().data(), header.size());

  std::byte size_bytes[4];
  receive_all(size_bytes, 4);
  std::uint32_t size = load_be32(size_bytes);
  if (size < 4 || size > response_bytes_max)
    die("%s: response frame of %u bytes", address_.c_str(), size);
  std::vector<std::byte> frame(size);
  receive_all(frame.data(), size);
  std::int32_t answered = static_cast<std::int32_t>(load_be32(frame.data()));
  if (answered != correlation_id)
    die("%s: correlation id %d answered with %d", address_.c_str(), correlation_id, answered);
  frame.erase(frame.begin(), frame.begin() + 4);
  return frame;
}

void Connection::send_all(const std::byte* data, std::size_t bytes) {
  std::size_t sent = 0;
  while (sent < bytes) {
    ssize_t n = ::send(fd_, data + sent, bytes - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      die("%s: send timed out after %d ms: REQUEST_TIMED_OUT", address_.c_str(), timeout_ms_);
    if (n <= 0) die("%s: send: %s: NETWORK_EXCEPTION", address_.c_str(), std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
}

void Connection::receive_all(std::byte* data, std::size_t bytes) {
  std::size_t received = 0;
  while (received < bytes) {
    ssize_t n = ::recv(fd_, data + received, bytes - received, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      die("%s: no response within %d ms: REQUEST_TIMED_OUT", address_.c_str(), timeout_ms_);
    if (n == 0) die("%s: connection closed by the broker: NETWORK_EXCEPTION", address_.c_str());
    if (n < 0) die("%s: recv: %s: NETWORK_EXCEPTION", address_.c_str(), std::strerror(errno));
    received += static_cast<std::size_t>(n);
  }
}

void Connection::skip_header_tags(p::Reader& reader) {
  std::uint64_t count = reader.get_uvarint();
  if (count > reader.remaining()) reader.fail();
  for (std::uint64_t i = 0; i < count && reader.ok(); ++i) {
    reader.get_uvarint();
    reader.skip(reader.get_uvarint());
  }
  if (!reader.ok()) die("%s: response header does not parse", address_.c_str());
}

// Cluster.

Cluster::Cluster(const std::string& bootstrap, int timeout_ms) : timeout_ms_(timeout_ms) {
  split_host_port(bootstrap, &bootstrap_host_, &bootstrap_port_);
}

Connection& Cluster::bootstrap() { return connect(bootstrap_host_, bootstrap_port_); }

Connection& Cluster::connect(const std::string& host, int port) {
  std::string key = host + ":" + std::to_string(port);
  auto& slot = connections_[key];
  if (!slot) slot = std::make_unique<Connection>(host, port, timeout_ms_);
  return *slot;
}

Connection& Cluster::broker(std::int32_t node_id) {
  auto it = brokers_.find(node_id);
  if (it == brokers_.end()) die("broker %d is not in the metadata: LEADER_NOT_AVAILABLE", node_id);
  return connect(it->second.host, it->second.port);
}

p::MetadataResponse Cluster::metadata(const std::optional<std::vector<std::string>>& topics) {
  Connection& connection = bootstrap();
  std::int16_t version = connection.version_for<p::MetadataRequest>(1);
  p::MetadataRequest request;
  request.allow_auto_topic_creation = false;
  if (topics) {
    request.topics.emplace();
    for (const auto& name : *topics) request.topics->push_back(p::MetadataRequest::Topic{Uuid{}, name});
  }
  auto response = connection.call<p::MetadataRequest, p::MetadataResponse>(request, version);
  for (const auto& b : response.brokers) brokers_[b.node_id] = Node{b.host, b.port};
  return response;
}

Cluster::Coordinator Cluster::find_coordinator_once(const std::string& group, std::int16_t* error_code) {
  Connection& connection = bootstrap();
  std::int16_t version = connection.version_for<p::FindCoordinatorRequest>();
  p::FindCoordinatorRequest request;
  request.key = group;
  request.coordinator_keys = {group};
  auto response = connection.call<p::FindCoordinatorRequest, p::FindCoordinatorResponse>(request, version);
  if (version < 4) {
    *error_code = response.error_code;
    return Coordinator{response.node_id, Node{response.host, response.port}};
  }
  if (response.coordinators.size() != 1) die("FindCoordinator v4 answered %zu keys", response.coordinators.size());
  const auto& c = response.coordinators[0];
  *error_code = c.error_code;
  return Coordinator{c.node_id, Node{c.host, c.port}};
}

Connection& Cluster::coordinator(const std::string& group) {
  auto it = coordinators_.find(group);
  if (it != coordinators_.end()) return connect(it->second.node.host, it->second.node.port);
  std::int64_t deadline_ms = now_ms() + std::max(coordinator_wait_ms_max, timeout_ms_);
  for (;;) {
    std::int16_t error_code = 0;
    Coordinator found = find_coordinator_once(group, &error_code);
    if (error_code == 0) {
      coordinators_[group] = found;
      return connect(found.node.host, found.node.port);
    }
    if (!coordinator_retriable(error_code) || now_ms() >= deadline_ms)
      die("FindCoordinator for group '%s': %s", group.c_str(), kafka_error_name(error_code).c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(coordinator_retry_ms));
  }
}

std::string Cluster::coordinator_label(const std::string& group) {
  coordinator(group);
  const Coordinator& c = coordinators_.at(group);
  return c.node.host + ":" + std::to_string(c.node.port) + " (" + std::to_string(c.node_id) + ")";
}

}  // namespace sluice::tools
