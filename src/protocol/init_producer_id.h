// InitProducerId (key 22), v0-v4 (flexible from v2). Hands an idempotent or transactional
// producer its producer id and epoch.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct InitProducerIdRequest {
  static constexpr ApiKey api_key = ApiKey::init_producer_id;
  static constexpr std::int16_t version_min = 0, version_max = 4, flexible_min = 2;
  std::optional<std::string> transactional_id;
  std::int32_t transaction_timeout_ms = 0;
  std::int64_t producer_id = -1;    // v3+: the id being re-initialized, or -1
  std::int16_t producer_epoch = -1;  // v3+
  template <class V>
  void visit(V& v) {
    v.field(transactional_id, Versions{0});
    v.field(transaction_timeout_ms, Versions{0});
    v.field(producer_id, Versions{3});
    v.field(producer_epoch, Versions{3});
  }
};

struct InitProducerIdResponse {
  static constexpr std::int16_t flexible_min = 2;
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = 0;
  template <class V>
  void visit(V& v) {
    v.field(throttle_time_ms, Versions{0});
    v.field(error_code, Versions{0});
    v.field(producer_id, Versions{0});
    v.field(producer_epoch, Versions{0});
  }
};

}  // namespace sluice::protocol
