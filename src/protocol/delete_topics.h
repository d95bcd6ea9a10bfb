// DeleteTopics (key 20), v0-v6 (flexible from v4). v0-v3 share one layout; v1 adds the response
// throttle time, v5 the response error message. v6 replaces the request's list of names by a list
// of (name, topic id) pairs where either may be unset: a null name means "by id", a zero id means
// "by name"; the response then carries the topic id, and its name may be null (topic id unknown).
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct DeleteTopicsRequest {
  static constexpr ApiKey api_key = ApiKey::delete_topics;
  static constexpr std::int16_t version_min = 0, version_max = 6, flexible_min = 4;
  struct Topic {
    std::optional<std::string> name;  // null (the default): the topic is named by `topic_id`
    Uuid topic_id;                    // zero: the topic is named by `name`
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{6});
      v.field(topic_id, Versions{6});
    }
  };
  std::vector<Topic> topics;              // v6+
  std::vector<std::string> topic_names;   // v0-v5
  std::int32_t timeout_ms = 0;
  template <class V>
  void visit(V& v) {
    v.field(topics, Versions{6});
    v.field(topic_names, Versions{0, 5});
    v.field(timeout_ms, Versions{0});
  }
};

struct DeleteTopicsResponse {
  static constexpr std::int16_t flexible_min = 4;
  struct Result {
    // Nullable only from v6 (a topic asked for by an unknown id); Requires: set below v6, where a
    // null would go out as length -1.
    std::optional<std::string> name;
    Uuid topic_id;                             // v6+
    std::int16_t error_code = 0;
    std::optional<std::string> error_message;  // v5+, null when there was no error
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{0});
      v.field(topic_id, Versions{6});
      v.field(error_code, Versions{0});
      v.field(error_message, Versions{5});
    }
  };
  std::int32_t throttle_time_ms = 0;  // v1+
  std::vector<Result> responses;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{1});
    v.field(responses, Versions{0});
  }
};

}  // namespace sluice::protocol
