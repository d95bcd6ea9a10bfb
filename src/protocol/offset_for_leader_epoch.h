// OffsetForLeaderEpoch (key 23), v0-v4 (flexible from v4). Consumers use it to detect log
// truncation after a leader change; followers will use it for replication.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct OffsetForLeaderEpochRequest {
  static constexpr ApiKey api_key = ApiKey::offset_for_leader_epoch;
  static constexpr std::int16_t version_min = 0, version_max = 4, flexible_min = 4;
  // `replica_id` values: -1 for a consumer; -2 (the default) before v3, where it is not sent.
  struct Partition {
    std::int32_t partition = 0;
    std::int32_t current_leader_epoch = -1;
    std::int32_t leader_epoch = 0;
    template <class V>
    void visit(V& v) {
      v.field(partition, Versions{0});
      v.field(current_leader_epoch, Versions{2});
      v.field(leader_epoch, Versions{0});
    }
  };
  struct Topic {
    std::string topic;
    std::vector<Partition> partitions;
    template <class V>
    void visit(V& v) {
      v.field(topic, Versions{0});
      v.field(partitions, Versions{0});
    }
  };
  std::int32_t replica_id = -2;
  std::vector<Topic> topics;
  template <class V>
  void visit(V& v) {
    v.field(replica_id, Versions{3});
    v.field(topics, Versions{0});
  }
};

struct OffsetForLeaderEpochResponse {
  static constexpr std::int16_t flexible_min = 4;
  struct EpochEndOffset {
    std::int16_t error_code = 0;
    std::int32_t partition = 0;
    std::int32_t leader_epoch = -1;
    std::int64_t end_offset = -1;
    template <class V>
    void visit(V& v) {
      v.field(error_code, Versions{0});
      v.field(partition, Versions{0});
      v.field(leader_epoch, Versions{1});
      v.field(end_offset, Versions{0});
    }
  };
  struct Topic {
    std::string topic;
    std::vector<EpochEndOffset> partitions;
    template <class V>
    void visit(V& v) {
      v.field(topic, Versions{0});
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
