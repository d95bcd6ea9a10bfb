#include "protocol/api_keys.h"

#include <array>

namespace sluice::protocol {
namespace {
constexpr std::int16_t none = INT16_MAX;
// Produce is advertised from v0 although v0-v2 are refused with UNSUPPORTED_VERSION, as Kafka 4.0
// does: librdkafka 2.0 only compresses with gzip/snappy/lz4 when the Produce range starts at v0.
constexpr std::array kApis{
    ApiSupport{ApiKey::produce, 0, 9, 9},
    ApiSupport{ApiKey::fetch, 4, 13, 12},
    ApiSupport{ApiKey::list_offsets, 1, 7, 6},
    ApiSupport{ApiKey::metadata, 0, 12, 9},
    ApiSupport{ApiKey::find_coordinator, 0, 4, 3},
    ApiSupport{ApiKey::api_versions, 0, 3, 3},
    ApiSupport{ApiKey::create_topics, 0, 7, 5},
    ApiSupport{ApiKey::init_producer_id, 0, 4, 2},
    ApiSupport{ApiKey::offset_for_leader_epoch, 0, 4, 4},
    ApiSupport{ApiKey::describe_cluster, 0, 0, 0},
};
static_assert(none > 0);
}  // namespace

std::span<const ApiSupport> supported_apis() { return kApis; }

const ApiSupport* find_api(std::int16_t api_key) {
  for (const auto& api : kApis)
    if (static_cast<std::int16_t>(api.api_key) == api_key) return &api;
  return nullptr;
}

}  // namespace sluice::protocol
