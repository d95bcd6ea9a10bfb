// OffsetDelete (key 47), v0 only (never flexible). Deletes committed offsets of partitions a group
// no longer subscribes to. Note the response puts error_code before throttle_time_ms.
#pragma once

#include <cstdint>

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct OffsetDeleteRequest {
  static constexpr ApiKey api_key = ApiKey::offset_delete;
  static constexpr std::int16_t version_min = 0, version_max = 0, flexible_min = INT16_MAX;
  struct Partition {
    std::int32_t partition_index = 0;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
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
  std::vector<Topic> topics;
  template <class V>
  void visit(V& v) {
    v.field(group_id, Versions{0});
    v.field(topics, Versions{0});
  }
};

struct OffsetDeleteResponse {
  static constexpr std::int16_t flexible_min = INT16_MAX;
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
  std::int16_t error_code = 0;
  std::int32_t throttle_time_ms = 0;
  std::vector<Topic> topics;
  template <class V>
  void visit(V& v) {
    v.field(error_code, Versions{0});
    v.field(throttle_time_ms, Versions{0});
    v.field(topics, Versions{0});
  }
};

}  // namespace sluice::protocol
