// Heartbeat (key 12), v0-v4 (flexible from v4). A member of a classic group proves it is alive;
// the error code tells it to rejoin when a rebalance is in progress. v3 adds group_instance_id.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct HeartbeatRequest {
  static constexpr ApiKey api_key = ApiKey::heartbeat;
  static constexpr std::int16_t version_min = 0, version_max = 4, flexible_min = 4;
  std::string group_id;
  std::int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  template <class V>
  void visit(V& v) {
    v.field(group_id, Versions{0});
    v.field(generation_id, Versions{0});
    v.field(member_id, Versions{0});
    v.field(group_instance_id, Versions{3});
  }
};

struct HeartbeatResponse {
  static constexpr std::int16_t flexible_min = 4;
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{1});
    v.field(error_code, Versions{0});
  }
};

}  // namespace sluice::protocol
