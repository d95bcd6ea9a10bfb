// DeleteGroups (key 42), v0-v2 (flexible from v2). Deletes empty groups and their offsets.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct DeleteGroupsRequest {
  static constexpr ApiKey api_key = ApiKey::delete_groups;
  static constexpr std::int16_t version_min = 0, version_max = 2, flexible_min = 2;
  std::vector<std::string> groups_names;
  template <class V>
  void visit(V& v) {
    v.field(groups_names, Versions{0});
  }
};

struct DeleteGroupsResponse {
  static constexpr std::int16_t flexible_min = 2;
  struct Result {
    std::string group_id;
    std::int16_t error_code = 0;
    template <class V>
    void visit(V& v) {
      v.field(group_id, Versions{0});
      v.field(error_code, Versions{0});
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
