// DescribeConfigs (key 32), v0-v4 (flexible from v4). v1 adds include_synonyms and, in the
// response, config_source and synonyms (replacing v0's is_default); v3 adds include_documentation
// and the response's config_type and documentation. v2 is v1 with the throttle sent first.
// Also the home of the resource type, config source and config type codes shared with
// AlterConfigs and IncrementalAlterConfigs.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

// ConfigResource.Type codes (the int8 `resource_type` of the config APIs).
namespace config_resource_type {
inline constexpr std::int8_t unknown = 0;
inline constexpr std::int8_t topic = 2;
inline constexpr std::int8_t broker = 4;
inline constexpr std::int8_t broker_logger = 8;
inline constexpr std::int8_t client_metrics = 16;
inline constexpr std::int8_t group = 32;
}  // namespace config_resource_type

// Where a described value comes from (DescribeConfigsResponse config_source / synonym source).
namespace config_source {
inline constexpr std::int8_t unknown = 0;
inline constexpr std::int8_t dynamic_topic = 1;
inline constexpr std::int8_t dynamic_broker = 2;
inline constexpr std::int8_t dynamic_default_broker = 3;
inline constexpr std::int8_t static_broker = 4;
inline constexpr std::int8_t default_config = 5;
inline constexpr std::int8_t dynamic_broker_logger = 6;
inline constexpr std::int8_t client_metrics = 7;
inline constexpr std::int8_t group = 8;
}  // namespace config_source

// The data type of a described value (config_type, v3+).
namespace config_type {
inline constexpr std::int8_t unknown = 0;
inline constexpr std::int8_t boolean = 1;
inline constexpr std::int8_t string = 2;
inline constexpr std::int8_t int32 = 3;  // Kafka's INT
inline constexpr std::int8_t int16 = 4;  // SHORT
inline constexpr std::int8_t int64 = 5;  // LONG
inline constexpr std::int8_t float64 = 6;  // DOUBLE
inline constexpr std::int8_t list = 7;
inline constexpr std::int8_t class_name = 8;  // CLASS
inline constexpr std::int8_t password = 9;
}  // namespace config_type

struct DescribeConfigsRequest {
  static constexpr ApiKey api_key = ApiKey::describe_configs;
  static constexpr std::int16_t version_min = 0, version_max = 4, flexible_min = 4;
  struct Resource {
    std::int8_t resource_type = 0;
    std::string resource_name;  // a topic name, a broker id in decimal, or "" for the cluster default
    std::optional<std::vector<std::string>> configuration_keys;  // null: every key
    template <class V>
    void visit(V& v) {
      v.field(resource_type, Versions{0});
      v.field(resource_name, Versions{0});
      v.field(configuration_keys, Versions{0});
    }
  };
  std::vector<Resource> resources;
  // Both default to false, which is also what a v0 request (without them) means.
  bool include_synonyms = false;       // v1+
  bool include_documentation = false;  // v3+
  template <class V>
  void visit(V& v) {
    v.field(resources, Versions{0});
    v.field(include_synonyms, Versions{1});
    v.field(include_documentation, Versions{3});
  }
};

struct DescribeConfigsResponse {
  static constexpr std::int16_t flexible_min = 4;
  struct Synonym {
    std::string name;
    std::optional<std::string> value;
    std::int8_t source = 0;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{1});
      v.field(value, Versions{1});
      v.field(source, Versions{1});
    }
  };
  struct Config {
    std::string name;
    std::optional<std::string> value;  // null for sensitive values
    bool read_only = false;
    bool is_default = false;         // v0 only; v1+ say config_source == default_config instead
    std::int8_t config_source = -1;  // v1+; -1 is Kafka's placeholder default
    bool is_sensitive = false;
    std::vector<Synonym> synonyms;   // v1+, filled only when the request asked for them
    std::int8_t config_type = config_type::unknown;  // v3+
    std::optional<std::string> documentation;        // v3+, null unless asked for
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(value, Versions{0});
      v.field(read_only, Versions{0});
      v.field(is_default, Versions{0, 0});
      v.field(config_source, Versions{1});
      v.field(is_sensitive, Versions{0});
      v.field(synonyms, Versions{1});
      v.field(config_type, Versions{3});
      v.field(documentation, Versions{3});
    }
  };
  struct Result {
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
    template <class V>
    void visit(V& v) {
      v.field(error_code, Versions{0});
      v.field(error_message, Versions{0});
      v.field(resource_type, Versions{0});
      v.field(resource_name, Versions{0});
      v.field(configs, Versions{0});
    }
  };
  std::int32_t throttle_time_ms = 0;
  std::vector<Result> results;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{0});
    v.field(results, Versions{0});
  }
};

}  // namespace sluice::protocol
