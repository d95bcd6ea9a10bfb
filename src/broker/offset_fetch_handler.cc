// OffsetFetch: committed offsets of one group (v0-v7) or several (v8), all of a group's when the
// topic list is null.
#include "broker/respond.h"
#include "protocol/offset_fetch.h"

namespace sluice::broker {
namespace {

using TopicQuery = std::optional<std::vector<std::pair<std::string, std::vector<std::int32_t>>>>;

TopicQuery query_of(const std::optional<std::vector<protocol::OffsetFetchRequest::Topic>>& topics) {
  if (!topics) return std::nullopt;
  std::vector<std::pair<std::string, std::vector<std::int32_t>>> out;
  for (const auto& topic : *topics) out.emplace_back(topic.name, topic.partition_indexes);
  return out;
}

// Groups the flat answer by topic, keeping the order topics first appear in.
std::vector<protocol::OffsetFetchResponse::Topic> by_topic(const std::vector<FetchedOffset>& fetched) {
  std::vector<protocol::OffsetFetchResponse::Topic> topics;
  for (const auto& offset : fetched) {
    auto topic = std::find_if(topics.begin(), topics.end(), [&](const auto& t) { return t.name == offset.topic; });
    if (topic == topics.end()) {
      topics.emplace_back();
      topics.back().name = offset.topic;
      topic = topics.end() - 1;
    }
    protocol::OffsetFetchResponse::Partition partition;
    partition.partition_index = offset.partition;
    partition.committed_offset = offset.offset;
    partition.committed_leader_epoch = offset.leader_epoch;
    partition.metadata = offset.metadata.value_or("");
    partition.error_code = static_cast<std::int16_t>(offset.error);
    topic->partitions.push_back(std::move(partition));
  }
  return topics;
}

struct FetchJob {
  protocol::OffsetFetchResponse response;
  std::size_t pending = 0;
};

}  // namespace

void Broker::handle_offset_fetch(const RequestPtr& request) {
  auto body = std::make_shared<protocol::OffsetFetchRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  const bool batched = request->header.api_version >= 8;
  std::vector<std::pair<std::string, TopicQuery>> groups;
  if (batched) {
    for (const auto& group : body->groups) groups.emplace_back(group.group_id, query_of(group.topics));
  } else {
    groups.emplace_back(body->group_id, query_of(body->topics));
  }
  auto job = std::make_shared<FetchJob>();
  job->pending = groups.size();
  if (batched) job->response.groups.resize(groups.size());
  if (groups.empty()) return respond(*request, job->response);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto [group_id, query] = groups[i];
    with_coordinator(group_id, [this, request, job, i, batched, group_id, query](GroupCoordinator& coordinator) {
      auto [error, fetched] = coordinator.fetch_offsets(group_id, query);
      on_network(request, [this, request, job, i, batched, group_id, error = error, fetched = std::move(fetched)] {
        if (batched) {
          auto& group = job->response.groups[i];
          group.group_id = group_id;
          group.error_code = static_cast<std::int16_t>(error);
          group.topics = by_topic(fetched);
        } else {
          job->response.error_code = static_cast<std::int16_t>(error);
          job->response.topics = by_topic(fetched);
        }
        if (--job->pending == 0) respond(*request, job->response);
      });
    });
  }
}

}  // namespace sluice::broker
