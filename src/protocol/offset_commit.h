// OffsetCommit (key 8), v0-v8 (flexible from v8). Commits consumed offsets for a group. v1 adds the
// generation and member id (and a per-partition commit timestamp, v1 only), v2-v4 a retention
// time, v6 the committed leader epoch, v7 group_instance_id.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct OffsetCommitRequest {
  static constexpr ApiKey api_key = ApiKey::offset_commit;
  static constexpr std::int16_t version_min = 0, version_max = 8, flexible_min = 8;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int64_t committed_offset = 0;
    std::int32_t committed_leader_epoch = -1;  // v6+
    std::int64_t commit_timestamp = -1;        // v1 only
    std::optional<std::string> committed_metadata;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
      v.field(committed_offset, Versions{0});
      v.field(committed_leader_epoch, Versions{6});
      v.field(commit_timestamp, Versions{1, 1});
      v.field(committed_metadata, Versions{0});
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
  std::string group_id;
  std::int32_t generation_id = -1;  // v1+; -1 (with an empty member id): a standalone commit
  std::string member_id;            // v1+
  std::optional<std::string> group_instance_id;  // v7+
  std::int64_t retention_time_ms = -1;           // v2-v4; -1: the broker's retention
  std::vector<Topic> topics;
  template <class V>
  void visit(V& v) {
    v.field(group_id, Versions{0});
    v.field(generation_id, Versions{1});
    v.field(member_id, Versions{1});
    v.field(group_instance_id, Versions{7});
    v.field(retention_time_ms, Versions{2, 4});
    v.field(topics, Versions{0});
  }
};

struct OffsetCommitResponse {
  static constexpr std::int16_t flexible_min = 8;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
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
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<Topic> topics;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{3});
    v.field(topics, Versions{0});
  }
};

}  // namespace sluice::protocol
