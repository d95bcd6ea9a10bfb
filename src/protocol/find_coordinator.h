// FindCoordinator (key 10), v0-v4 (flexible from v3). v0-v3 ask for one key; v4 batches keys and
// answers one Coordinator per key.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct FindCoordinatorRequest {
  static constexpr ApiKey api_key = ApiKey::find_coordinator;
  static constexpr std::int16_t version_min = 0, version_max = 4, flexible_min = 3;
  static constexpr std::int8_t key_type_group = 0;
  static constexpr std::int8_t key_type_transaction = 1;
  std::string key;
  std::int8_t key_type = key_type_group;
  std::vector<std::string> coordinator_keys;
  template <class V>
  void visit(V& v) {
    v.field(key, Versions{0, 3});
    v.field(key_type, Versions{1});
    v.field(coordinator_keys, Versions{4});
  }
};

struct FindCoordinatorResponse {
  static constexpr std::int16_t flexible_min = 3;
  struct Coordinator {
    std::string key;
    std::int32_t node_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;
    template <class V>
    void visit(V& v) {
      v.field(key, Versions{4});
      v.field(node_id, Versions{4});
      v.field(host, Versions{4});
      v.field(port, Versions{4});
      v.field(error_code, Versions{4});
      v.field(error_message, Versions{4});
    }
  };
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::int32_t node_id = 0;
  std::string host;
  std::int32_t port = 0;
  std::vector<Coordinator> coordinators;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{1});
    v.field(error_code, Versions{0, 3});
    v.field(error_message, Versions{1, 3});
    v.field(node_id, Versions{0, 3});
    v.field(host, Versions{0, 3});
    v.field(port, Versions{0, 3});
    v.field(coordinators, Versions{4});
  }
};

}  // namespace sluice::protocol
