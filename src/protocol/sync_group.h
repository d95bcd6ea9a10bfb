// SyncGroup (key 14), v0-v5 (flexible from v4). After a JoinGroup round the leader sends every
// member's assignment; each member receives its own. v3 adds group_instance_id, v5 the protocol
// type and name (checked by the coordinator against the group's).
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct SyncGroupRequest {
  static constexpr ApiKey api_key = ApiKey::sync_group;
  static constexpr std::int16_t version_min = 0, version_max = 5, flexible_min = 4;
  struct Assignment {
    std::string member_id;
    std::vector<std::byte> assignment;
    template <class V>
    void visit(V& v) {
      v.field(member_id, Versions{0});
      v.field(assignment, Versions{0});
    }
  };
  std::string group_id;
  std::int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  std::optional<std::string> protocol_type;      // v5+
  std::optional<std::string> protocol_name;      // v5+
  std::vector<Assignment> assignments;           // empty unless sent by the leader
  template <class V>
  void visit(V& v) {
    v.field(group_id, Versions{0});
    v.field(generation_id, Versions{0});
    v.field(member_id, Versions{0});
    v.field(group_instance_id, Versions{3});
    v.field(protocol_type, Versions{5});
    v.field(protocol_name, Versions{5});
    v.field(assignments, Versions{0});
  }
};

struct SyncGroupResponse {
  static constexpr std::int16_t flexible_min = 4;
  std::int32_t throttle_time_ms = 0;          // v1+
  std::int16_t error_code = 0;
  std::optional<std::string> protocol_type;  // v5+
  std::optional<std::string> protocol_name;  // v5+
  std::vector<std::byte> assignment;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{1});
    v.field(error_code, Versions{0});
    v.field(protocol_type, Versions{5});
    v.field(protocol_name, Versions{5});
    v.field(assignment, Versions{0});
  }
};

}  // namespace sluice::protocol
