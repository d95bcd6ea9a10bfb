// Produce (key 0): served v3-v9, advertised from v0 (see api_keys.cc).
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct ProduceRequest {
  static constexpr ApiKey api_key = ApiKey::produce;
  static constexpr std::int16_t version_min = 0, version_max = 9, flexible_min = 9;
  static constexpr std::int16_t version_served_min = 3;  // v0-v2 carry old message formats
  struct Partition {
    std::int32_t index = 0;
    Records records;
    template <class V>
    void visit(V& v) {
      v.field(index, Versions{0});
      v.field(records, Versions{0});
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
  std::optional<std::string> transactional_id;
  std::int16_t acks = 0;
  std::int32_t timeout_ms = 0;
  std::vector<Topic> topics;
  template <class V>
  void visit(V& v) {
    v.field(transactional_id, Versions{3});
    v.field(acks, Versions{0});
    v.field(timeout_ms, Versions{0});
    v.field(topics, Versions{0});
  }
};

struct ProduceResponse {
  static constexpr std::int16_t flexible_min = 9;
  struct RecordError {
    std::int32_t batch_index = 0;
    std::optional<std::string> message;
    template <class V>
    void visit(V& v) {
      v.field(batch_index, Versions{8});
      v.field(message, Versions{8});
    }
  };
  struct Partition {
    std::int32_t index = 0;
    std::int16_t error_code = 0;
    std::int64_t base_offset = -1;
    std::int64_t log_append_time_ms = -1;
    std::int64_t log_start_offset = -1;
    std::vector<RecordError> record_errors;
    std::optional<std::string> error_message;
    template <class V>
    void visit(V& v) {
      v.field(index, Versions{0});
      v.field(error_code, Versions{0});
      v.field(base_offset, Versions{0});
      v.field(log_append_time_ms, Versions{2});
      v.field(log_start_offset, Versions{5});
      v.field(record_errors, Versions{8});
      v.field(error_message, Versions{8});
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
  std::int32_t throttle_time_ms = 0;
  template <class V>
  void visit(V& v) {
    v.field(topics, Versions{0});
    v.field(throttle_time_ms, Versions{1});
  }
};

}  // namespace sluice::protocol
