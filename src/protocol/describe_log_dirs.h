// DescribeLogDirs (key 35), v0-v4 (flexible from v2; v1 is v0 with the throttle sent first). The
// request is the same in every version; the response adds a top-level error code in v3 and each
// directory's volume size (total and usable bytes) in v4.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct DescribeLogDirsRequest {
  // ApiKey has no enumerator for 35 yet; the lead names it when wiring the handler.
  static constexpr ApiKey api_key = ApiKey::describe_log_dirs;
  static constexpr std::int16_t version_min = 0, version_max = 4, flexible_min = 2;
  struct Topic {
    std::string topic;
    std::vector<std::int32_t> partitions;
    template <class V>
    void visit(V& v) {
      v.field(topic, Versions{0});
      v.field(partitions, Versions{0});
    }
  };
  std::optional<std::vector<Topic>> topics;  // null: every topic
  template <class V>
  void visit(V& v) {
    v.field(topics, Versions{0});
  }
};

struct DescribeLogDirsResponse {
  static constexpr std::int16_t flexible_min = 2;
  struct Partition {
    std::int32_t partition_index = 0;
    std::int64_t partition_size = 0;  // bytes of the partition's segments
    std::int64_t offset_lag = 0;
    bool is_future_key = false;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
      v.field(partition_size, Versions{0});
      v.field(offset_lag, Versions{0});
      v.field(is_future_key, Versions{0});
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
  struct Result {
    std::int16_t error_code = 0;
    std::string log_dir;
    std::vector<Topic> topics;
    std::int64_t total_bytes = -1;   // v4+; -1: unknown
    std::int64_t usable_bytes = -1;  // v4+; -1: unknown
    template <class V>
    void visit(V& v) {
      v.field(error_code, Versions{0});
      v.field(log_dir, Versions{0});
      v.field(topics, Versions{0});
      v.field(total_bytes, Versions{4});
      v.field(usable_bytes, Versions{4});
    }
  };
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;  // v3+
  std::vector<Result> results;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{0});
    v.field(error_code, Versions{3});
    v.field(results, Versions{0});
  }
};

}  // namespace sluice::protocol
