// OffsetCommit: offsets go to __consumer_offsets before the answer.
#include "broker/respond.h"
#include "protocol/offset_commit.h"

namespace sluice::broker {

void Broker::handle_offset_commit(const RequestPtr& request) {
  auto body = std::make_shared<protocol::OffsetCommitRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  CommitParams params;
  params.group_id = body->group_id;
  params.generation_id = body->generation_id;
  params.member_id = body->member_id;
  params.group_instance_id = body->group_instance_id;
  for (const auto& topic : body->topics)
    for (const auto& partition : topic.partitions)
      params.entries.push_back({topic.name, partition.partition_index, partition.committed_offset,
                                partition.committed_leader_epoch, partition.committed_metadata});
  // Copied first: the lambda below moves params, and argument evaluation order is unspecified.
  std::string group_id = params.group_id;
  with_coordinator(group_id, [this, request, body, params = std::move(params)](GroupCoordinator& coordinator) mutable {
    coordinator.commit(std::move(params), [this, request, body](ErrorCode, std::vector<ErrorCode> errors) {
      on_network(request, [this, request, body, errors = std::move(errors)] {
        protocol::OffsetCommitResponse response;
        std::size_t index = 0;
        for (const auto& topic : body->topics) {
          auto& topic_out = response.topics.emplace_back();
          topic_out.name = topic.name;
          for (const auto& partition : topic.partitions) {
            ErrorCode error = index < errors.size() ? errors[index] : ErrorCode::unknown_server_error;
            ++index;
            topic_out.partitions.push_back({partition.partition_index, static_cast<std::int16_t>(error)});
          }
        }
        respond(*request, response);
      });
    });
  });
}

}  // namespace sluice::broker
