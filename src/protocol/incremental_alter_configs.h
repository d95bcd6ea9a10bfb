// IncrementalAlterConfigs (key 44), v0-v1 (flexible from v1). Applies one operation per key (set,
// delete, append to or subtract from a list) and leaves every other key as it is.
// Resource type codes: config_resource_type in describe_configs.h.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct IncrementalAlterConfigsRequest {
  // ApiKey has no enumerator for 44 yet; the lead names it when wiring the handler.
  static constexpr ApiKey api_key = ApiKey::incremental_alter_configs;
  static constexpr std::int16_t version_min = 0, version_max = 1, flexible_min = 1;
  // AlterConfigOp.OpType codes (`config_operation`).
  static constexpr std::int8_t operation_set = 0;
  static constexpr std::int8_t operation_delete = 1;
  static constexpr std::int8_t operation_append = 2;
  static constexpr std::int8_t operation_subtract = 3;
  struct Config {
    std::string name;
    std::int8_t config_operation = operation_set;
    std::optional<std::string> value;  // null for delete
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(config_operation, Versions{0});
      v.field(value, Versions{0});
    }
  };
  struct Resource {
    std::int8_t resource_type = 0;
    std::string resource_name;
    std::vector<Config> configs;
    template <class V>
    void visit(V& v) {
      v.field(resource_type, Versions{0});
      v.field(resource_name, Versions{0});
      v.field(configs, Versions{0});
    }
  };
  std::vector<Resource> resources;
  bool validate_only = false;
  template <class V>
  void visit(V& v) {
    v.field(resources, Versions{0});
    v.field(validate_only, Versions{0});
  }
};

struct IncrementalAlterConfigsResponse {
  static constexpr std::int16_t flexible_min = 1;
  struct Result {
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;  // null when there was no error
    std::int8_t resource_type = 0;
    std::string resource_name;
    template <class V>
    void visit(V& v) {
      v.field(error_code, Versions{0});
      v.field(error_message, Versions{0});
      v.field(resource_type, Versions{0});
      v.field(resource_name, Versions{0});
    }
  };
  std::int32_t throttle_time_ms = 0;
  std::vector<Result> responses;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{0});
    v.field(responses, Versions{0});
  }
};

}  // namespace sluice::protocol
