// ListOffsets (key 2), served v1-v7 (flexible from v6). v0 fields are declared too (they are
// trivial), but v0 is not advertised.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct ListOffsetsRequest {
  static constexpr ApiKey api_key = ApiKey::list_offsets;
  static constexpr std::int16_t version_min = 1, version_max = 7, flexible_min = 6;
  // Special values of `timestamp`: latest (-1), earliest (-2), max timestamp (-3, v7+).
  static constexpr std::int64_t timestamp_latest = -1;
  static constexpr std::int64_t timestamp_earliest = -2;
  static constexpr std::int64_t timestamp_max = -3;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int32_t current_leader_epoch = -1;
    std::int64_t timestamp = 0;
    std::int32_t max_num_offsets = 1;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
      v.field(current_leader_epoch, Versions{4});
      v.field(timestamp, Versions{0});
      v.field(max_num_offsets, Versions{0, 0});
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
  std::int32_t replica_id = -1;
  std::int8_t isolation_level = 0;
  std::vector<Topic> topics;
  template <class V>
  void visit(V& v) {
    v.field(replica_id, Versions{0});
    v.field(isolation_level, Versions{2});
    v.field(topics, Versions{0});
  }
};

struct ListOffsetsResponse {
  static constexpr std::int16_t flexible_min = 6;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
    std::vector<std::int64_t> old_style_offsets;
    std::int64_t timestamp = -1;
    std::int64_t offset = -1;
    std::int32_t leader_epoch = -1;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
      v.field(error_code, Versions{0});
      v.field(old_style_offsets, Versions{0, 0});
      v.field(timestamp, Versions{1});
      v.field(offset, Versions{1});
      v.field(leader_epoch, Versions{4});
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
  std::int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{2});
    v.field(topics, Versions{0});
  }
};

}  // namespace sluice::protocol
