// JoinGroup (key 11), v0-v9 (flexible from v6). A member asks to join a classic group; the
// coordinator answers once the rebalance completes, sending the full member list to the leader only.
// v1 adds the rebalance timeout, v5 static membership (group_instance_id), v7 the protocol type in
// the response, v8 a join reason, v9 skip_assignment.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct JoinGroupRequest {
  static constexpr ApiKey api_key = ApiKey::join_group;
  static constexpr std::int16_t version_min = 0, version_max = 9, flexible_min = 6;
  struct Protocol {
    std::string name;
    std::vector<std::byte> metadata;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(metadata, Versions{0});
    }
  };
  std::string group_id;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = -1;  // v1+; v0 clients use the session timeout
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v5+
  std::string protocol_type;
  std::vector<Protocol> protocols;
  std::optional<std::string> reason;  // v8+
  template <class V>
  void visit(V& v) {
    v.field(group_id, Versions{0});
    v.field(session_timeout_ms, Versions{0});
    v.field(rebalance_timeout_ms, Versions{1});
    v.field(member_id, Versions{0});
    v.field(group_instance_id, Versions{5});
    v.field(protocol_type, Versions{0});
    v.field(protocols, Versions{0});
    v.field(reason, Versions{8});
  }
};

struct JoinGroupResponse {
  static constexpr std::int16_t flexible_min = 6;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v5+
    std::vector<std::byte> metadata;
    template <class V>
    void visit(V& v) {
      v.field(member_id, Versions{0});
      v.field(group_instance_id, Versions{5});
      v.field(metadata, Versions{0});
    }
  };
  std::int32_t throttle_time_ms = 0;  // v2+
  std::int16_t error_code = 0;
  std::int32_t generation_id = -1;
  std::optional<std::string> protocol_type;  // v7+
  // Nullable only from v7: below v7 the handler must send a string (empty on errors), since a null
  // would be written as length -1, which those clients reject.
  std::optional<std::string> protocol_name;
  std::string leader;
  bool skip_assignment = false;  // v9+
  std::string member_id;
  std::vector<Member> members;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{2});
    v.field(error_code, Versions{0});
    v.field(generation_id, Versions{0});
    v.field(protocol_type, Versions{7});
    v.field(protocol_name, Versions{0});
    v.field(leader, Versions{0});
    v.field(skip_assignment, Versions{9});
    v.field(member_id, Versions{0});
    v.field(members, Versions{0});
  }
};

}  // namespace sluice::protocol
