// ApiVersions (key 18), v0-v3. The response always goes out with response header v0.
#pragma once

#include "protocol/api_keys.h"
#include "protocol/codec.h"

namespace sluice::protocol {

struct ApiVersionsRequest {
  static constexpr ApiKey api_key = ApiKey::api_versions;
  static constexpr std::int16_t version_min = 0, version_max = 3, flexible_min = 3;
  std::string client_software_name;
  std::string client_software_version;
  template <class V>
  void visit(V& v) {
    v.field(client_software_name, Versions{3});
    v.field(client_software_version, Versions{3});
  }
};

struct ApiVersionsResponse {
  static constexpr std::int16_t flexible_min = 3;
  struct ApiVersion {
    std::int16_t api_key = 0;
    std::int16_t min_version = 0;
    std::int16_t max_version = 0;
    template <class V>
    void visit(V& v) {
      v.field(api_key, Versions{0});
      v.field(min_version, Versions{0});
      v.field(max_version, Versions{0});
    }
  };
  struct FeatureKey {
    std::string name;
    std::int16_t min_version = 0;
    std::int16_t max_version = 0;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{3});
      v.field(min_version, Versions{3});
      v.field(max_version, Versions{3});
    }
  };
  // Kafka orders a finalized feature's levels max before min (FinalizedFeatureKey).
  struct FinalizedFeatureKey {
    std::string name;
    std::int16_t max_version_level = 0;
    std::int16_t min_version_level = 0;
    template <class V>
    void visit(V& v) {
      v.field(name, Versions{3});
      v.field(max_version_level, Versions{3});
      v.field(min_version_level, Versions{3});
    }
  };
  std::int16_t error_code = 0;
  std::vector<ApiVersion> api_keys;
  std::int32_t throttle_time_ms = 0;
  std::optional<std::vector<FeatureKey>> supported_features;
  std::optional<std::int64_t> finalized_features_epoch;
  std::optional<std::vector<FinalizedFeatureKey>> finalized_features;
  template <class V>
  void visit(V& v) {
    v.field(error_code, Versions{0});
    v.field(api_keys, Versions{0});
    v.field(throttle_time_ms, Versions{1});
    v.tagged(supported_features, 0, Versions{3});
    v.tagged(finalized_features_epoch, 1, Versions{3});
    v.tagged(finalized_features, 2, Versions{3});
  }
};

}  // namespace sluice::protocol
