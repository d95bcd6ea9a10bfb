// Fetch (key 1), v4-v13 (topic ids from v13). The records of a response are file ranges that the
// network thread sends with sendfile/splice.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct FetchRequest {
  static constexpr ApiKey api_key = ApiKey::fetch;
  static constexpr std::int16_t version_min = 4, version_max = 13, flexible_min = 12;
  struct Partition {
    std::int32_t partition = 0;
    std::int32_t current_leader_epoch = -1;
    std::int64_t fetch_offset = 0;
    std::int32_t last_fetched_epoch = -1;
    std::int64_t log_start_offset = -1;
    std::int32_t partition_max_bytes = 0;
    template <class V>
    void visit(V& v) {
      v.field(partition, Versions{0});
      v.field(current_leader_epoch, Versions{9});
      v.field(fetch_offset, Versions{0});
      v.field(last_fetched_epoch, Versions{12});
      v.field(log_start_offset, Versions{5});
      v.field(partition_max_bytes, Versions{0});
    }
  };
  struct Topic {
    std::string topic;
    Uuid topic_id;
    std::vector<Partition> partitions;
    template <class V>
    void visit(V& v) {
      v.field(topic, Versions{0, 12});
      v.field(topic_id, Versions{13});
      v.field(partitions, Versions{0});
    }
  };
  struct ForgottenTopic {
    std::string topic;
    Uuid topic_id;
    std::vector<std::int32_t> partitions;
    template <class V>
    void visit(V& v) {
      v.field(topic, Versions{7, 12});
      v.field(topic_id, Versions{13});
      v.field(partitions, Versions{7});
    }
  };
  std::optional<std::string> cluster_id;
  std::int32_t replica_id = -1;
  std::int32_t max_wait_ms = 0;
  std::int32_t min_bytes = 0;
  std::int32_t max_bytes = INT32_MAX;
  std::int8_t isolation_level = 0;
  std::int32_t session_id = 0;
  std::int32_t session_epoch = -1;
  std::vector<Topic> topics;
  std::vector<ForgottenTopic> forgotten_topics_data;
  std::string rack_id;
  template <class V>
  void visit(V& v) {
    v.tagged(cluster_id, 0, Versions{12});
    v.field(replica_id, Versions{0, 14});
    v.field(max_wait_ms, Versions{0});
    v.field(min_bytes, Versions{0});
    v.field(max_bytes, Versions{3});
    v.field(isolation_level, Versions{4});
    v.field(session_id, Versions{7});
    v.field(session_epoch, Versions{7});
    v.field(topics, Versions{0});
    v.field(forgotten_topics_data, Versions{7});
    v.field(rack_id, Versions{11});
  }
};

struct FetchResponse {
  static constexpr std::int16_t flexible_min = 12;
  struct AbortedTransaction {
    std::int64_t producer_id = 0;
    std::int64_t first_offset = 0;
    template <class V>
    void visit(V& v) {
      v.field(producer_id, Versions{4});
      v.field(first_offset, Versions{4});
    }
  };
  struct Partition {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
    std::int64_t high_watermark = -1;
    std::int64_t last_stable_offset = -1;
    std::int64_t log_start_offset = -1;
    std::optional<std::vector<AbortedTransaction>> aborted_transactions;
    std::int32_t preferred_read_replica = -1;
    Records records;
    template <class V>
    void visit(V& v) {
      v.field(partition_index, Versions{0});
      v.field(error_code, Versions{0});
      v.field(high_watermark, Versions{0});
      v.field(last_stable_offset, Versions{4});
      v.field(log_start_offset, Versions{5});
      v.field(aborted_transactions, Versions{4});
      v.field(preferred_read_replica, Versions{11});
      v.field(records, Versions{0});
    }
  };
  struct Topic {
    std::string topic;
    Uuid topic_id;
    std::vector<Partition> partitions;
    template <class V>
    void visit(V& v) {
      v.field(topic, Versions{0, 12});
      v.field(topic_id, Versions{13});
      v.field(partitions, Versions{0});
    }
  };
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::int32_t session_id = 0;
  std::vector<Topic> responses;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{1});
    v.field(error_code, Versions{7});
    v.field(session_id, Versions{7});
    v.field(responses, Versions{0});
  }
};

}  // namespace sluice::protocol
