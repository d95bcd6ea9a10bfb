// DescribeGroups (key 15), v0-v5 (flexible from v5). Describes groups and their members. v3 adds
// authorized operations, v4 each member's group_instance_id.
#pragma once

#include <climits>

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct DescribeGroupsRequest {
  static constexpr ApiKey api_key = ApiKey::describe_groups;
  static constexpr std::int16_t version_min = 0, version_max = 5, flexible_min = 5;
  std::vector<std::string> groups;
  bool include_authorized_operations = false;  // v3+
  template <class V>
  void visit(V& v) {
    v.field(groups, Versions{0});
    v.field(include_authorized_operations, Versions{3});
  }
};

struct DescribeGroupsResponse {
  static constexpr std::int16_t flexible_min = 5;
  // Kafka's default for authorized_operations when they were not requested.
  static constexpr std::int32_t authorized_operations_omitted = INT32_MIN;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v4+
    std::string client_id;
    std::string client_host;
    std::vector<std::byte> member_metadata;
    std::vector<std::byte> member_assignment;
    template <class V>
    void visit(V& v) {
      v.field(member_id, Versions{0});
      v.field(group_instance_id, Versions{4});
      v.field(client_id, Versions{0});
      v.field(client_host, Versions{0});
      v.field(member_metadata, Versions{0});
      v.field(member_assignment, Versions{0});
    }
  };
  struct Group {
    std::int16_t error_code = 0;
    std::string group_id;
    std::string group_state;
    std::string protocol_type;
    std::string protocol_data;
    std::vector<Member> members;
    std::int32_t authorized_operations = authorized_operations_omitted;  // v3+
    template <class V>
    void visit(V& v) {
      v.field(error_code, Versions{0});
      v.field(group_id, Versions{0});
      v.field(group_state, Versions{0});
      v.field(protocol_type, Versions{0});
      v.field(protocol_data, Versions{0});
      v.field(members, Versions{0});
      v.field(authorized_operations, Versions{3});
    }
  };
  std::int32_t throttle_time_ms = 0;  // v1+
  std::vector<Group> groups;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{1});
    v.field(groups, Versions{0});
  }
};

}  // namespace sluice::protocol
