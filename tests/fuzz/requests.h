// Every request decoder of src/protocol, once: X(name, Type), in api key order, including those
// declared before the broker serves them. fuzz_request.cc picks one by
// -DSLUICE_FUZZ_REQUEST=Type (tests/fuzz/meson.build makes one fuzz_<name> binary each).
// fuzz_request_header.cc dispatches a whole frame over all of them and checks at start-up that
// this list covers protocol::supported_apis(), so a new API cannot go unfuzzed silently.
#pragma once

#include "protocol/alter_configs.h"
#include "protocol/api_versions.h"
#include "protocol/create_partitions.h"
#include "protocol/create_topics.h"
#include "protocol/delete_groups.h"
#include "protocol/delete_records.h"
#include "protocol/delete_topics.h"
#include "protocol/describe_cluster.h"
#include "protocol/describe_configs.h"
#include "protocol/describe_groups.h"
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

// Keep in step with fuzz_requests in tests/fuzz/meson.build.
#define SLUICE_FUZZ_REQUESTS(X)                               \
  X(produce, ProduceRequest)                                  \
  X(fetch, FetchRequest)                                      \
  X(list_offsets, ListOffsetsRequest)                         \
  X(metadata, MetadataRequest)                                \
  X(offset_commit, OffsetCommitRequest)                       \
  X(offset_fetch, OffsetFetchRequest)                         \
  X(find_coordinator, FindCoordinatorRequest)                 \
  X(join_group, JoinGroupRequest)                             \
  X(heartbeat, HeartbeatRequest)                              \
  X(leave_group, LeaveGroupRequest)                           \
  X(sync_group, SyncGroupRequest)                             \
  X(describe_groups, DescribeGroupsRequest)                   \
  X(list_groups, ListGroupsRequest)                           \
  X(api_versions, ApiVersionsRequest)                         \
  X(create_topics, CreateTopicsRequest)                       \
  X(delete_topics, DeleteTopicsRequest)                       \
  X(delete_records, DeleteRecordsRequest)                     \
  X(init_producer_id, InitProducerIdRequest)                  \
  X(offset_for_leader_epoch, OffsetForLeaderEpochRequest)     \
  X(describe_configs, DescribeConfigsRequest)                 \
  X(alter_configs, AlterConfigsRequest)                       \
  X(describe_log_dirs, DescribeLogDirsRequest)                \
  X(create_partitions, CreatePartitionsRequest)               \
  X(delete_groups, DeleteGroupsRequest)                       \
  X(incremental_alter_configs, IncrementalAlterConfigsRequest) \
  X(offset_delete, OffsetDeleteRequest)                       \
  X(describe_cluster, DescribeClusterRequest)

#include <span>
#include <type_traits>

#include "fuzz_support.h"
#include "protocol/record_batch.h"

namespace sluice::fuzz {

// What the broker does with a request body, minus the handler: decode it at `version` and, when it
// parses, check the round trip. For Produce, also the next step of the handler: validate each
// partition's records as a produced batch (any answer is fine; it must not crash).
// Requires: body is a buffer of its own (decoded Records point into it).
template <class Request>
void fuzz_request_body(std::span<std::byte> body, std::int16_t version) {
  protocol::Reader reader(body.data(), body.size());
  Request decoded;
  if (!protocol::decode(reader, decoded, version)) return;
  check_round_trip(decoded, version);
  if constexpr (std::is_same_v<Request, protocol::ProduceRequest>) {
    for (const auto& topic : decoded.topics) {
      for (const auto& partition : topic.partitions) {
        BatchesInfo info;
        (void)validate_record_batches(partition.records.bytes, BatchLimits{1048588}, &info);
      }
    }
  }
}

}  // namespace sluice::fuzz
