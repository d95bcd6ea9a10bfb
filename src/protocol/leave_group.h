// LeaveGroup (key 13), v0-v5 (flexible from v4). v0-v2 name one member; from v3 a request batches
// members (member id and/or group_instance_id) and the response answers each; v5 adds a reason.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct LeaveGroupRequest {
  static constexpr ApiKey api_key = ApiKey::leave_group;
  static constexpr std::int16_t version_min = 0, version_max = 5, flexible_min = 4;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::optional<std::string> reason;  // v5+
    template <class V>
    void visit(V& v) {
      v.field(member_id, Versions{3});
      v.field(group_instance_id, Versions{3});
      v.field(reason, Versions{5});
    }
  };
  std::string group_id;
  std::string member_id;        // v0-v2
  std::vector<Member> members;  // v3+
  template <class V>
  void visit(V& v) {
    v.field(group_id, Versions{0});
    v.field(member_id, Versions{0, 2});
    v.field(members, Versions{3});
  }
};

struct LeaveGroupResponse {
  static constexpr std::int16_t flexible_min = 4;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::int16_t error_code = 0;
    template <class V>
    void visit(V& v) {
      v.field(member_id, Versions{3});
      v.field(group_instance_id, Versions{3});
      v.field(error_code, Versions{3});
    }
  };
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::vector<Member> members;  // v3+
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{1});
    v.field(error_code, Versions{0});
    v.field(members, Versions{3});
  }
};

}  // namespace sluice::protocol
