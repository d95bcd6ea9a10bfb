// CreateTopics (key 19), v0-v7 (flexible from v5; configs echoed from v5, topic id from v7).
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct CreateTopicsRequest {
  static constexpr ApiKey api_key = ApiKey::create_topics;
  static constexpr std::int16_t version_min = 0, version_max = 7, flexible_min = 5;
  struct Assignment {
    std::int32_t partition_index = 0;
    std::vector<std::int32_t> broker_ids;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
      v.field(broker_ids, Versions{0});
    }
  };
  struct Config {
    std::string name;
    std::optional<std::string> value;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(value, Versions{0});
    }
  };
  struct Topic {
    std::string name;
    std::int32_t num_partitions = -1;      // -1: the broker default (or taken from assignments)
    std::int16_t replication_factor = -1;  // -1: the broker default
    std::vector<Assignment> assignments;
    std::vector<Config> configs;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(num_partitions, Versions{0});
      v.field(replication_factor, Versions{0});
      v.field(assignments, Versions{0});
      v.field(configs, Versions{0});
    }
  };
  std::vector<Topic> topics;
  std::int32_t timeout_ms = 60000;
  bool validate_only = false;
  template <class V>
  void visit(V& v) {
    v.field(topics, Versions{0});
    v.field(timeout_ms, Versions{0});
    v.field(validate_only, Versions{1});
  }
};

struct CreateTopicsResponse {
  static constexpr std::int16_t flexible_min = 5;
  struct Config {
    std::string name;
    std::optional<std::string> value;
    bool read_only = false;
    std::int8_t config_source = -1;
    bool is_sensitive = false;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{5});
      v.field(value, Versions{5});
      v.field(read_only, Versions{5});
      v.field(config_source, Versions{5});
      v.field(is_sensitive, Versions{5});
    }
  };
  struct Topic {
    std::string name;
    Uuid topic_id;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::optional<std::int16_t> topic_config_error_code;  // tag 0, v5+
    std::int32_t num_partitions = -1;
    std::int16_t replication_factor = -1;
    std::optional<std::vector<Config>> configs;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(topic_id, Versions{7});
      v.field(error_code, Versions{0});
      v.field(error_message, Versions{1});
      v.tagged(topic_config_error_code, 0, Versions{5});
      v.field(num_partitions, Versions{5});
      v.field(replication_factor, Versions{5});
      v.field(configs, Versions{5});
    }
  };
  std::int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{2});
    v.field(topics, Versions{0});
  }
};

}  // namespace sluice::protocol
