// What sluice-groups asks a cluster about its groups: describe a group (members and their
// decoded consumer-protocol assignments), its committed offsets, partition leaders and
// ListOffsets answers, and the list of every group. Blocking calls through tools/kafka_client.h;
// any broker error the caller cannot act on ends the tool (die()).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kafka_client.h"

namespace sluice::tools {

using TopicPartition = std::pair<std::string, std::int32_t>;

inline constexpr std::int16_t error_group_id_not_found = 69;
inline constexpr std::int16_t error_unknown_topic_or_partition = 3;
// How many times a group request follows a moved or loading coordinator before giving up.
inline constexpr int coordinator_attempts_max = 20;

struct MemberView {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string host;
  bool assignment_ok = true;
  std::vector<TopicPartition> assignment;
};

struct GroupView {
  std::string group_id;
  bool exists = true;  // false: GROUP_ID_NOT_FOUND or the Dead state
  std::string state;
  std::string protocol_type;
  std::string protocol;
  std::vector<MemberView> members;
};

// Runs `attempt(connection)`, which returns a Kafka error code, against the group's coordinator,
// looking the coordinator up again while the answer says it moved or is loading. Returns the
// last error code.
template <class Attempt>
std::int16_t with_coordinator(Cluster& cluster, const std::string& group, Attempt attempt) {
  std::int16_t error_code = 0;
  for (int i = 0; i < coordinator_attempts_max; ++i) {
    error_code = attempt(cluster.coordinator(group));
    if (!coordinator_retriable(error_code)) return error_code;
    cluster.forget_coordinator(group);
    ::usleep(200 * 1000);
  }
  return error_code;
}

// The partitions in a member's assignment bytes; nullopt when they do not parse. Empty bytes
// (a member that has not synced yet) are an empty assignment.
std::optional<std::vector<TopicPartition>> decode_assignment(std::vector<std::byte> bytes);
// "t1(0,1),t2(3)" for the members table.
std::string assignment_text(const std::vector<TopicPartition>& partitions);
GroupView describe_group(Cluster& cluster, const std::string& group);
// Committed offsets of the group (partitions without one are left out).
std::map<TopicPartition, std::int64_t> committed_offsets(Cluster& cluster, const std::string& group);

struct OffsetAnswer {
  std::int64_t offset = -1;
  std::int16_t error_code = 0;
};

// Leader node id of each partition of `topics`; partitions without a leader map to -1.
std::map<TopicPartition, std::int32_t> partition_leaders(Cluster& cluster, const std::set<std::string>& topics);
// ListOffsets for `timestamp` (latest -1, earliest -2, or a time in ms) on each partition's leader.
std::map<TopicPartition, OffsetAnswer> list_offsets(Cluster& cluster, const std::set<TopicPartition>& partitions,
                                                    std::int64_t timestamp);
// Like list_offsets, but any partition error ends the tool.
std::map<TopicPartition, std::int64_t> list_offsets_or_die(Cluster& cluster, const std::set<TopicPartition>& partitions,
                                                           std::int64_t timestamp);

struct ListedGroup {
  std::string protocol_type;
  std::string state;
};

// Every group of every broker, with its state.
std::map<std::string, ListedGroup> list_all_groups(Cluster& cluster);

}  // namespace sluice::tools
