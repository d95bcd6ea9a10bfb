// DescribeCluster (key 60), v0 (flexible from v0). Admin clients use it to list brokers and
// find the controller.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct DescribeClusterRequest {
  static constexpr ApiKey api_key = ApiKey::describe_cluster;
  static constexpr std::int16_t version_min = 0, version_max = 0, flexible_min = 0;
  bool include_cluster_authorized_operations = false;
  std::int8_t endpoint_type = 1;  // 1: brokers, 2: controllers (v1+)
  template <class V>
  void visit(V& v) {
    v.field(include_cluster_authorized_operations, Versions{0});
    v.field(endpoint_type, Versions{1});
  }
};

struct DescribeClusterResponse {
  static constexpr std::int16_t flexible_min = 0;
  struct Broker {
    std::int32_t broker_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;
    template <class V>
    void visit(V& v) {
      v.field(broker_id, Versions{0});
      v.field(host, Versions{0});
      v.field(port, Versions{0});
      v.field(rack, Versions{0});
    }
  };
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::int8_t endpoint_type = 1;
  std::string cluster_id;
  std::int32_t controller_id = -1;
  std::vector<Broker> brokers;
  std::int32_t cluster_authorized_operations = INT32_MIN;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{0});
    v.field(error_code, Versions{0});
    v.field(error_message, Versions{0});
    v.field(endpoint_type, Versions{1});
    v.field(cluster_id, Versions{0});
    v.field(controller_id, Versions{0});
    v.field(brokers, Versions{0});
    v.field(cluster_authorized_operations, Versions{0});
  }
};

}  // namespace sluice::protocol
