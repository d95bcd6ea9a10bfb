// Metadata (key 3), v0-v12.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct MetadataRequest {
  static constexpr ApiKey api_key = ApiKey::metadata;
  static constexpr std::int16_t version_min = 0, version_max = 12, flexible_min = 9;
  struct Topic {
    Uuid topic_id;
    std::optional<std::string> name;
    template <class V>
    void visit(V& v) {
      v.field(topic_id, Versions{10});
      v.field(name, Versions{0});
    }
  };
  // Null means every topic (v1+); in v0 an empty list means every topic.
  std::optional<std::vector<Topic>> topics;
  bool allow_auto_topic_creation = true;
  bool include_cluster_authorized_operations = false;
  bool include_topic_authorized_operations = false;
  template <class V>
  void visit(V& v) {
    v.field(topics, Versions{0});
    v.field(allow_auto_topic_creation, Versions{4});
    v.field(include_cluster_authorized_operations, Versions{8, 10});
    v.field(include_topic_authorized_operations, Versions{8});
  }
};

struct MetadataResponse {
  static constexpr std::int16_t flexible_min = 9;
  struct Broker {
    std::int32_t node_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;
    template <class V>
    void visit(V& v) {
      v.field(node_id, Versions{0});
      v.field(host, Versions{0});
      v.field(port, Versions{0});
      v.field(rack, Versions{1});
    }
  };
  struct Partition {
    std::int16_t error_code = 0;
    std::int32_t partition_index = 0;
    std::int32_t leader_id = 0;
    std::int32_t leader_epoch = -1;
    std::vector<std::int32_t> replica_nodes;
    std::vector<std::int32_t> isr_nodes;
    std::vector<std::int32_t> offline_replicas;
    template <class V>
    void visit(V& v) {
      v.field(error_code, Versions{0});
      v.field(partition_index, Versions{0});
      v.field(leader_id, Versions{0});
      v.field(leader_epoch, Versions{7});
      v.field(replica_nodes, Versions{0});
      v.field(isr_nodes, Versions{0});
      v.field(offline_replicas, Versions{5});
    }
  };
  struct Topic {
    std::int16_t error_code = 0;
    std::optional<std::string> name;
    Uuid topic_id;
    bool is_internal = false;
    std::vector<Partition> partitions;
    std::int32_t topic_authorized_operations = INT32_MIN;
    template <class V>
    void visit(V& v) {
      v.field(error_code, Versions{0});
      v.field(name, Versions{0});
      v.field(topic_id, Versions{10});
      v.field(is_internal, Versions{1});
      v.field(partitions, Versions{0});
      v.field(topic_authorized_operations, Versions{8});
    }
  };
  std::int32_t throttle_time_ms = 0;
  std::vector<Broker> brokers;
  std::optional<std::string> cluster_id;
  std::int32_t controller_id = -1;
  std::vector<Topic> topics;
  std::int32_t cluster_authorized_operations = INT32_MIN;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{3});
    v.field(brokers, Versions{0});
    v.field(cluster_id, Versions{2});
    v.field(controller_id, Versions{1});
    v.field(topics, Versions{0});
    v.field(cluster_authorized_operations, Versions{8, 10});
  }
};

}  // namespace sluice::protocol
