// AlterConfigs (key 33), v0-v2 (flexible from v2; v1 is v0 with the throttle sent first). Replaces
// the whole dynamic config of each resource with the given keys: a key left out is reset.
// Resource type codes: config_resource_type in describe_configs.h.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct AlterConfigsRequest {
  // ApiKey has no enumerator for 33 yet; the lead names it when wiring the handler.
  static constexpr ApiKey api_key = ApiKey::alter_configs;
  static constexpr std::int16_t version_min = 0, version_max = 2, flexible_min = 2;
  struct Config {
    std::string name;
    std::optional<std::string> value;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
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

struct AlterConfigsResponse {
  static constexpr std::int16_t flexible_min = 2;
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
