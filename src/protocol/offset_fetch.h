// OffsetFetch (key 9), v0-v8 (flexible from v6). v0-v7 ask for one group (topics null from v2 =
// every committed partition); v8 batches groups, each answered with its own error code. v2 adds a
// top-level error code, v5 the committed leader epoch, v7 require_stable.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct OffsetFetchRequest {
  static constexpr ApiKey api_key = ApiKey::offset_fetch;
  static constexpr std::int16_t version_min = 0, version_max = 8, flexible_min = 6;
  struct Topic {
    std::string name;
    std::vector<std::int32_t> partition_indexes;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(partition_indexes, Versions{0});
    }
  };
  struct Group {
    std::string group_id;
    std::optional<std::vector<Topic>> topics;  // null: every committed partition
    template <class V>
    void visit(V& v) {
      v.field(group_id, Versions{8});
      v.field(topics, Versions{8});
    }
  };
  std::string group_id;                      // v0-v7
  // v0-v7; nullable only from v2 (a null in v0/v1 would be sent as length -1).
  std::optional<std::vector<Topic>> topics;
  std::vector<Group> groups;                 // v8+
  bool require_stable = false;               // v7+
  template <class V>
  void visit(V& v) {
    v.field(group_id, Versions{0, 7});
    v.field(topics, Versions{0, 7});
    v.field(groups, Versions{8});
    v.field(require_stable, Versions{7});
  }
};

struct OffsetFetchResponse {
  static constexpr std::int16_t flexible_min = 6;
  // The same layout serves v0-v7 (Topics) and v8 (Groups[].Topics).
  struct Partition {
    std::int32_t partition_index = 0;
    std::int64_t committed_offset = -1;
    std::int32_t committed_leader_epoch = -1;  // v5+
    std::optional<std::string> metadata;
    std::int16_t error_code = 0;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
      v.field(committed_offset, Versions{0});
      v.field(committed_leader_epoch, Versions{5});
      v.field(metadata, Versions{0});
      v.field(error_code, Versions{0});
    }
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(partitions, Versions{0});
    }
  };
  struct Group {
    std::string group_id;
    std::vector<Topic> topics;
    std::int16_t error_code = 0;
    template <class V>
    void visit(V& v) {
      v.field(group_id, Versions{8});
      v.field(topics, Versions{8});
      v.field(error_code, Versions{8});
    }
  };
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<Topic> topics;          // v0-v7
  std::int16_t error_code = 0;        // v2-v7
  std::vector<Group> groups;          // v8+
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{3});
    v.field(topics, Versions{0, 7});
    v.field(error_code, Versions{2, 7});
    v.field(groups, Versions{8});
  }
};

}  // namespace sluice::protocol
