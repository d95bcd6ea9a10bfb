#include "group_queries.h"

#include <algorithm>

#include "protocol/describe_groups.h"
#include "protocol/list_groups.h"
#include "protocol/list_offsets.h"
#include "protocol/offset_fetch.h"

namespace sluice::tools {
namespace p = sluice::protocol;

namespace {

// ConsumerProtocolAssignment (the bytes a consumer leader hands each member through SyncGroup):
// version int16, then [topic string, partitions int32 array] and user data bytes. v0-v3 share
// this layout (owned partitions and generations live in the subscription), and Kafka requires
// later versions to keep it as a prefix, so any version >= 0 decodes as v0.
struct ConsumerAssignment {
  static constexpr std::int16_t flexible_min = INT16_MAX;
  struct Topic {
    std::string topic;
    std::vector<std::int32_t> partitions;
    template <class V>
    void visit(V& v) {
      v.field(topic, p::Versions{0});
      v.field(partitions, p::Versions{0});
    }
  };
  std::vector<Topic> assigned_partitions;
  template <class V>
  void visit(V& v) {
    v.field(assigned_partitions, p::Versions{0});  // user data follows; not needed here
  }
};

MemberView member_view(const p::DescribeGroupsResponse::Member& m, bool consumer_protocol);

}  // namespace

// The partitions in a member's assignment bytes; nullopt when they do not parse. Empty bytes
// (a member that has not synced yet) are an empty assignment.
std::optional<std::vector<TopicPartition>> decode_assignment(std::vector<std::byte> bytes) {
  std::vector<TopicPartition> out;
  if (bytes.empty()) return out;
  p::Reader reader(bytes.data(), bytes.size());
  std::int16_t version = reader.get_i16();
  ConsumerAssignment assignment;
  if (!reader.ok() || version < 0 || !p::decode(reader, assignment, 0)) return std::nullopt;
  for (const auto& topic : assignment.assigned_partitions)
    for (std::int32_t partition : topic.partitions) out.emplace_back(topic.topic, partition);
  return out;
}

// "t1(0,1),t2(3)" for the members table.
std::string assignment_text(const std::vector<TopicPartition>& partitions) {
  std::map<std::string, std::vector<std::int32_t>> by_topic;
  for (const auto& [topic, partition] : partitions) by_topic[topic].push_back(partition);
  std::string out;
  for (auto& [topic, list] : by_topic) {
    std::sort(list.begin(), list.end());
    if (!out.empty()) out += ",";
    out += topic + "(";
    for (std::size_t i = 0; i < list.size(); ++i) out += (i ? "," : "") + std::to_string(list[i]);
    out += ")";
  }
  return out;
}

// ---- Group requests --------------------------------------------------------------------------




namespace {
MemberView member_view(const p::DescribeGroupsResponse::Member& m, bool consumer_protocol) {
  MemberView view{m.member_id, m.group_instance_id, m.client_id, m.client_host, true, {}};
  if (consumer_protocol) {
    auto partitions = decode_assignment(m.member_assignment);
    view.assignment_ok = partitions.has_value();
    if (partitions) view.assignment = std::move(*partitions);
  }
  return view;
}
}  // namespace

GroupView describe_group(Cluster& cluster, const std::string& group) {
  p::DescribeGroupsResponse::Group answer;
  std::int16_t error_code = with_coordinator(cluster, group, [&](Connection& c) {
    p::DescribeGroupsRequest request;
    request.groups = {group};
    auto response = c.call<p::DescribeGroupsRequest, p::DescribeGroupsResponse>(
        request, c.version_for<p::DescribeGroupsRequest>());
    if (response.groups.size() != 1) die("DescribeGroups answered %zu groups for one", response.groups.size());
    answer = std::move(response.groups[0]);
    return answer.error_code;
  });
  GroupView view;
  view.group_id = group;
  if (error_code == error_group_id_not_found || (error_code == 0 && answer.group_state == "Dead")) {
    view.exists = false;
    view.state = "Dead";
    return view;
  }
  if (error_code != 0) die("DescribeGroups for group '%s': %s", group.c_str(), kafka_error_name(error_code).c_str());
  view.state = answer.group_state;
  view.protocol_type = answer.protocol_type;
  view.protocol = answer.protocol_data;
  bool consumer_protocol = answer.protocol_type == "consumer" || answer.protocol_type.empty();
  for (const auto& m : answer.members) view.members.push_back(member_view(m, consumer_protocol));
  return view;
}

// Committed offsets of every partition the group has committed (OffsetFetch with null topics).
std::map<TopicPartition, std::int64_t> committed_offsets(Cluster& cluster, const std::string& group) {
  std::vector<p::OffsetFetchResponse::Topic> topics;
  std::int16_t error_code = with_coordinator(cluster, group, [&](Connection& c) {
    std::int16_t version = c.version_for<p::OffsetFetchRequest>(2);  // null topics need v2+
    p::OffsetFetchRequest request;
    request.group_id = group;
    request.groups = {p::OffsetFetchRequest::Group{group, std::nullopt}};
    auto response = c.call<p::OffsetFetchRequest, p::OffsetFetchResponse>(request, version);
    if (version < 8) {
      topics = std::move(response.topics);
      return response.error_code;
    }
    if (response.groups.size() != 1) die("OffsetFetch answered %zu groups for one", response.groups.size());
    topics = std::move(response.groups[0].topics);
    return response.groups[0].error_code;
  });
  if (error_code == error_group_id_not_found) return {};
  if (error_code != 0) die("OffsetFetch for group '%s': %s", group.c_str(), kafka_error_name(error_code).c_str());
  std::map<TopicPartition, std::int64_t> out;
  for (const auto& t : topics)
    for (const auto& partition : t.partitions) {
      if (partition.error_code != 0)
        die("OffsetFetch for group '%s' %s-%d: %s", group.c_str(), t.name.c_str(),
            partition.partition_index, kafka_error_name(partition.error_code).c_str());
      if (partition.committed_offset >= 0) out[{t.name, partition.partition_index}] = partition.committed_offset;
    }
  return out;
}


// Leader node id of each partition of `topics`; partitions without a leader map to -1.
std::map<TopicPartition, std::int32_t> partition_leaders(Cluster& cluster, const std::set<std::string>& topics) {
  auto metadata = cluster.metadata(std::vector<std::string>(topics.begin(), topics.end()));
  std::map<TopicPartition, std::int32_t> leaders;
  for (const auto& t : metadata.topics) {
    if (t.error_code != 0 || !t.name) continue;
    for (const auto& partition : t.partitions)
      leaders[{*t.name, partition.partition_index}] = partition.error_code == 0 ? partition.leader_id : -1;
  }
  return leaders;
}

// ListOffsets for `timestamp` (latest -1, earliest -2, or a time in ms) on each partition's leader.
std::map<TopicPartition, OffsetAnswer> list_offsets(Cluster& cluster, const std::set<TopicPartition>& partitions,
                                                    std::int64_t timestamp) {
  std::set<std::string> topics;
  for (const auto& tp : partitions) topics.insert(tp.first);
  auto leaders = partition_leaders(cluster, topics);
  std::map<TopicPartition, OffsetAnswer> out;
  std::map<std::int32_t, std::map<std::string, std::vector<std::int32_t>>> by_leader;
  for (const auto& tp : partitions) {
    auto it = leaders.find(tp);
    if (it == leaders.end()) out[tp].error_code = error_unknown_topic_or_partition;
    else if (it->second < 0) out[tp].error_code = 5;  // LEADER_NOT_AVAILABLE
    else by_leader[it->second][tp.first].push_back(tp.second);
  }
  for (const auto& [leader, by_topic] : by_leader) {
    Connection& c = cluster.broker(leader);
    p::ListOffsetsRequest request;
    for (const auto& [topic, list] : by_topic) {
      p::ListOffsetsRequest::Topic t{topic, {}};
      for (std::int32_t partition : list) t.partitions.push_back({partition, -1, timestamp, 1});
      request.topics.push_back(std::move(t));
    }
    auto response = c.call<p::ListOffsetsRequest, p::ListOffsetsResponse>(request, c.version_for<p::ListOffsetsRequest>());
    for (const auto& t : response.topics)
      for (const auto& partition : t.partitions)
        out[{t.name, partition.partition_index}] = OffsetAnswer{partition.offset, partition.error_code};
  }
  for (const auto& tp : partitions)
    if (!out.count(tp)) out[tp].error_code = error_unknown_topic_or_partition;
  return out;
}

// Like list_offsets, but any partition error ends the tool.
std::map<TopicPartition, std::int64_t> list_offsets_or_die(Cluster& cluster, const std::set<TopicPartition>& partitions,
                                                           std::int64_t timestamp) {
  std::map<TopicPartition, std::int64_t> out;
  for (const auto& [tp, answer] : list_offsets(cluster, partitions, timestamp)) {
    if (answer.error_code != 0)
      die("ListOffsets %s-%d: %s", tp.first.c_str(), tp.second, kafka_error_name(answer.error_code).c_str());
    out[tp] = answer.offset;
  }
  return out;
}

// ---- --list ----------------------------------------------------------------------------------


std::map<std::string, ListedGroup> list_all_groups(Cluster& cluster) {
  auto metadata = cluster.metadata(std::vector<std::string>{});
  std::map<std::string, ListedGroup> out;
  bool have_states = true;
  for (const auto& b : metadata.brokers) {
    Connection& c = cluster.broker(b.node_id);
    std::int16_t version = c.version_for<p::ListGroupsRequest>();
    auto response = c.call<p::ListGroupsRequest, p::ListGroupsResponse>(p::ListGroupsRequest{}, version);
    if (response.error_code != 0) die("ListGroups on %s: %s", c.address().c_str(), kafka_error_name(response.error_code).c_str());
    for (const auto& g : response.groups) out[g.group_id] = ListedGroup{g.protocol_type, g.group_state};
    have_states = have_states && version >= 4;
  }
  // Before ListGroups v4 the state comes from DescribeGroups.
  if (!have_states)
    for (auto& [group, listed] : out) listed.state = describe_group(cluster, group).state;
  return out;
}

}  // namespace sluice::tools
