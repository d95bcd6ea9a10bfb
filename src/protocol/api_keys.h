// The Kafka APIs Sluice serves, with the version ranges it advertises in ApiVersions and the first
// flexible version of each (which decides the request/response header versions).
#pragma once

#include <cstdint>
#include <span>

namespace sluice::protocol {

enum class ApiKey : std::int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  describe_groups = 15,
  list_groups = 16,
  api_versions = 18,
  create_topics = 19,
  delete_topics = 20,
  delete_records = 21,
  init_producer_id = 22,
  offset_for_leader_epoch = 23,
  describe_configs = 32,
  alter_configs = 33,
  describe_log_dirs = 35,
  create_partitions = 37,
  delete_groups = 42,
  incremental_alter_configs = 44,
  offset_delete = 47,
  describe_cluster = 60,
};

struct ApiSupport {
  ApiKey api_key;
  std::int16_t version_min;  // advertised minimum
  std::int16_t version_max;
  std::int16_t flexible_min;  // first flexible version (INT16_MAX: none)
};

// Every API we answer, in api key order.
std::span<const ApiSupport> supported_apis();
// Null when the key is not served.
const ApiSupport* find_api(std::int16_t api_key);

// Request header v2 / response header v1 for flexible versions; ApiVersions responses always use
// response header v0 (clients parse them before they know our ranges).
inline bool request_header_flexible(const ApiSupport& api, std::int16_t version) {
  return version >= api.flexible_min;
}
inline bool response_header_flexible(const ApiSupport& api, std::int16_t version) {
  return api.api_key != ApiKey::api_versions && version >= api.flexible_min;
}

}  // namespace sluice::protocol
