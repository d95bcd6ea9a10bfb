// CreatePartitions (key 37), v0-v3 (flexible from v2; v1 and v3 only change broker behaviour:
// throttle before sending, THROTTLING_QUOTA_EXCEEDED). Raises a topic's partition count.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct CreatePartitionsRequest {
  // ApiKey has no enumerator for 37 yet; the lead names it when wiring the handler.
  static constexpr ApiKey api_key = ApiKey::create_partitions;
  static constexpr std::int16_t version_min = 0, version_max = 3, flexible_min = 2;
  // The replicas of one new partition; one assignment per new partition, in partition order.
  struct Assignment {
    std::vector<std::int32_t> broker_ids;
    template <class V>
    void visit(V& v) {
      v.field(broker_ids, Versions{0});
    }
  };
  struct Topic {
    std::string name;
    std::int32_t count = 0;  // the new total partition count, not the number added
    std::optional<std::vector<Assignment>> assignments;  // null: the broker places the replicas
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(count, Versions{0});
      v.field(assignments, Versions{0});
    }
  };
  std::vector<Topic> topics;
  std::int32_t timeout_ms = 0;
  bool validate_only = false;
  template <class V>
  void visit(V& v) {
    v.field(topics, Versions{0});
    v.field(timeout_ms, Versions{0});
    v.field(validate_only, Versions{0});
  }
};

struct CreatePartitionsResponse {
  static constexpr std::int16_t flexible_min = 2;
  struct Result {
    std::string name;
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;  // null when there was no error
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(error_code, Versions{0});
      v.field(error_message, Versions{0});
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
