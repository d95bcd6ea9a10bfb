// DeleteRecords (key 21), v0-v2 (flexible from v2; v1 is v0 with the throttle sent before
// throttling). Moves each partition's log start offset up to the requested offset.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct DeleteRecordsRequest {
  // ApiKey has no enumerator for 21 yet; the lead names it when wiring the handler.
  static constexpr ApiKey api_key = ApiKey::delete_records;
  static constexpr std::int16_t version_min = 0, version_max = 2, flexible_min = 2;
  // `offset` -1 means "up to the high watermark".
  static constexpr std::int64_t offset_high_watermark = -1;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int64_t offset = 0;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
      v.field(offset, Versions{0});
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
  std::vector<Topic> topics;
  std::int32_t timeout_ms = 0;
  template <class V>
  void visit(V& v) {
    v.field(topics, Versions{0});
    v.field(timeout_ms, Versions{0});
  }
};

struct DeleteRecordsResponse {
  static constexpr std::int16_t flexible_min = 2;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int64_t low_watermark = 0;
    std::int16_t error_code = 0;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
      v.field(low_watermark, Versions{0});
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
  std::int32_t throttle_time_ms = 0;  // v0+ (unlike most APIs, DeleteRecords had it from v0)
  std::vector<Topic> topics;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{0});
    v.field(topics, Versions{0});
  }
};

}  // namespace sluice::protocol
