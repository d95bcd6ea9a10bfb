// ListGroups (key 16), v0-v4 (flexible from v3). Lists the groups this coordinator owns; v4 adds a
// state filter in the request and each group's state in the response.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct ListGroupsRequest {
  static constexpr ApiKey api_key = ApiKey::list_groups;
  static constexpr std::int16_t version_min = 0, version_max = 4, flexible_min = 3;
  std::vector<std::string> states_filter;  // v4+; empty: every state
  template <class V>
  void visit(V& v) {
    v.field(states_filter, Versions{4});
  }
};

struct ListGroupsResponse {
  static constexpr std::int16_t flexible_min = 3;
  struct Group {
    std::string group_id;
    std::string protocol_type;
    std::string group_state;  // v4+
    template <class V>
    void visit(V& v) {
      v.field(group_id, Versions{0});
      v.field(protocol_type, Versions{0});
      v.field(group_state, Versions{4});
    }
  };
  std::int32_t throttle_time_ms = 0;  // v1+
  std::int16_t error_code = 0;
  std::vector<Group> groups;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{1});
    v.field(error_code, Versions{0});
    v.field(groups, Versions{0});
  }
};

}  // namespace sluice::protocol
