// A small blocking Kafka client for command-line tools: one TCP connection per broker, one request
// in flight, every socket operation bounded by a timeout. It speaks the wire protocol with our
// codec (protocol/), negotiates versions with ApiVersions, and finds group coordinators.
//
// Made for short-lived tools: a failure of the environment (connect refused, timeout, a response
// that does not parse, an API the broker lacks) prints "Error: ..." to stderr and exits the process
// with status 1, so callers only handle Kafka error codes, which are data.
// Single-threaded: one Cluster and its connections belong to the calling thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/api_keys.h"
#include "protocol/codec.h"
#include "protocol/metadata.h"

namespace sluice::tools {

// Kafka's name for an error code ("NON_EMPTY_GROUP"); "UNKNOWN_ERROR_<n>" for codes it lacks.
std::string kafka_error_name(std::int16_t error_code);

// Prints "Error: <message>" to stderr and exits with status 1.
[[noreturn]] void die(const char* format, ...) __attribute__((format(printf, 1, 2)));

class Connection {
 public:
  // Connects to host:port and runs ApiVersions. Requires: timeout_ms > 0.
  Connection(const std::string& host, int port, int timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& address() const { return address_; }

  // The highest version both sides speak within [our Request range, and at least version_min];
  // dies with UNSUPPORTED_VERSION when the ranges do not overlap.
  template <class Request>
  std::int16_t version_for(std::int16_t version_min = Request::version_min) const {
    return pick_version(static_cast<std::int16_t>(Request::api_key),
                        std::max(version_min, Request::version_min), Request::version_max);
  }

  // Sends `request` at `version` and decodes the response of that version.
  template <class Request, class Response>
  Response call(const Request& request, std::int16_t version) {
    protocol::Writer body;
    protocol::encode(body, request, version);
    std::vector<std::byte> frame =
        round_trip(static_cast<std::int16_t>(Request::api_key), version,
                   version >= Request::flexible_min, body);
    protocol::Reader reader(frame.data(), frame.size());
    if (version >= Response::flexible_min) skip_header_tags(reader);
    Response response;
    if (!protocol::decode(reader, response, version))
      die("%s: response to api key %d v%d does not parse", address_.c_str(),
          static_cast<int>(Request::api_key), version);
    return response;
  }

 private:
  void connect_bounded(const std::string& host, int port);
  void negotiate();
  std::int16_t pick_version(std::int16_t api_key, std::int16_t ours_min, std::int16_t ours_max) const;
  // Frames and sends one request, reads its response and returns the bytes after the correlation id.
  std::vector<std::byte> round_trip(std::int16_t api_key, std::int16_t version, bool flexible,
                                    protocol::Writer& body);
  void send_all(const std::byte* data, std::size_t bytes);
  void receive_all(std::byte* data, std::size_t bytes);
  void skip_header_tags(protocol::Reader& reader);

  struct Range {
    std::int16_t min;
    std::int16_t max;
  };
  std::string address_;
  int fd_ = -1;
  int timeout_ms_;
  std::int32_t correlation_id_ = 0;
  std::map<std::int16_t, Range> ranges_;  // the broker's ApiVersions answer
};

// The brokers reachable from one bootstrap address: connections by address, coordinators by group.
class Cluster {
 public:
  // Requires: bootstrap is "host:port".
  Cluster(const std::string& bootstrap, int timeout_ms);

  Connection& bootstrap();
  Connection& connect(const std::string& host, int port);
  // The broker with `node_id` in the last metadata answer; dies if it is unknown.
  Connection& broker(std::int32_t node_id);
  // Metadata for `topics` (all topics when null); remembers the brokers it lists.
  protocol::MetadataResponse metadata(const std::optional<std::vector<std::string>>& topics);
  // The group's coordinator (FindCoordinator, retried while it is loading or moving).
  Connection& coordinator(const std::string& group);
  // Forgets the coordinator of `group` (after NOT_COORDINATOR) so the next call looks it up again.
  void forget_coordinator(const std::string& group) { coordinators_.erase(group); }
  int timeout_ms() const { return timeout_ms_; }
  // The coordinator's "host:port (id)" for display.
  std::string coordinator_label(const std::string& group);

 private:
  struct Node {
    std::string host;
    int port;
  };
  struct Coordinator {
    std::int32_t node_id;
    Node node;
  };
  Coordinator find_coordinator_once(const std::string& group, std::int16_t* error_code);

  std::string bootstrap_host_;
  int bootstrap_port_;
  int timeout_ms_;
  std::map<std::string, std::unique_ptr<Connection>> connections_;  // by "host:port"
  std::map<std::int32_t, Node> brokers_;
  std::map<std::string, Coordinator> coordinators_;
};

// Splits "host:port" (host may be a bracketed IPv6 literal); dies when it does not parse.
void split_host_port(const std::string& address, std::string* host, int* port);

// True for errors after which a group request should go to a freshly found coordinator.
inline bool coordinator_retriable(std::int16_t error_code) {
  return error_code == 14 || error_code == 15 || error_code == 16;  // LOAD_IN_PROGRESS, NOT_AVAILABLE, NOT_COORDINATOR
}

}  // namespace sluice::tools
