#include "protocol/api_keys.h"

#include <array>

#include "protocol/alter_configs.h"
#include "protocol/api_versions.h"
#include "protocol/create_partitions.h"
#include "protocol/create_topics.h"
#include "protocol/delete_groups.h"
#include "protocol/delete_records.h"
#include "protocol/delete_topics.h"
#include "protocol/describe_groups.h"
#include "protocol/describe_cluster.h"
#include "protocol/describe_configs.h"
#include "protocol/describe_log_dirs.h"
#include "protocol/fetch.h"
#include "protocol/find_coordinator.h"
#include "protocol/heartbeat.h"
#include "protocol/incremental_alter_configs.h"
#include "protocol/init_producer_id.h"
#include "protocol/join_group.h"
#include "protocol/leave_group.h"
#include "protocol/list_groups.h"
#include "protocol/list_offsets.h"
#include "protocol/metadata.h"
#include "protocol/offset_commit.h"
#include "protocol/offset_delete.h"
#include "protocol/offset_fetch.h"
#include "protocol/offset_for_leader_epoch.h"
#include "protocol/produce.h"
#include "protocol/sync_group.h"

namespace sluice::protocol {
namespace {

// The ranges come from each message's own declaration, so a new version is changed in one place.
template <class Request>
constexpr ApiSupport support() {
  return ApiSupport{Request::api_key, Request::version_min, Request::version_max, Request::flexible_min};
}

// Produce is advertised from v0 although v0-v2 are refused with UNSUPPORTED_VERSION, as Kafka 4.0
// does: librdkafka 2.0 only compresses with gzip/snappy/lz4 when the Produce range starts at v0.
constexpr std::array kApis{
    support<ProduceRequest>(),
    support<FetchRequest>(),
    support<ListOffsetsRequest>(),
    support<MetadataRequest>(),
    support<OffsetCommitRequest>(),
    support<OffsetFetchRequest>(),
    support<FindCoordinatorRequest>(),
    support<JoinGroupRequest>(),
    support<HeartbeatRequest>(),
    support<LeaveGroupRequest>(),
    support<SyncGroupRequest>(),
    support<DescribeGroupsRequest>(),
    support<ListGroupsRequest>(),
    support<ApiVersionsRequest>(),
    support<CreateTopicsRequest>(),
    support<DeleteTopicsRequest>(),
    support<DeleteRecordsRequest>(),
    support<InitProducerIdRequest>(),
    support<OffsetForLeaderEpochRequest>(),
    support<DescribeConfigsRequest>(),
    support<AlterConfigsRequest>(),
    support<DescribeLogDirsRequest>(),
    support<CreatePartitionsRequest>(),
    support<DeleteGroupsRequest>(),
    support<IncrementalAlterConfigsRequest>(),
    support<OffsetDeleteRequest>(),
    support<DescribeClusterRequest>(),
};

}  // namespace

std::span<const ApiSupport> supported_apis() { return kApis; }

const ApiSupport* find_api(std::int16_t api_key) {
  for (const auto& api : kApis)
    if (static_cast<std::int16_t>(api.api_key) == api_key) return &api;
  return nullptr;
}

}  // namespace sluice::protocol
