// OffsetDelete: drops committed offsets of partitions the group is not consuming.
#include "broker/respond.h"
#include "protocol/offset_delete.h"

namespace sluice::broker {

void Broker::handle_offset_delete(const RequestPtr& request) {
  auto body = std::make_shared<protocol::OffsetDeleteRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  std::vector<std::pair<std::string, std::int32_t>> partitions;
  for (const auto& topic : body->topics)
    for (const auto& partition : topic.partitions) partitions.emplace_back(topic.name, partition.partition_index);
  with_coordinator(body->group_id, [this, request, body, partitions](GroupCoordinator& coordinator) {
    coordinator.delete_offsets(body->group_id, partitions,
                               [this, request, body](ErrorCode error, std::vector<ErrorCode> errors) {
      on_network(request, [this, request, body, error, errors = std::move(errors)] {
        protocol::OffsetDeleteResponse response;
        response.error_code = static_cast<std::int16_t>(error);
        std::size_t index = 0;
        if (error == ErrorCode::none) {
          for (const auto& topic : body->topics) {
            auto& topic_out = response.topics.emplace_back();
            topic_out.name = topic.name;
            for (const auto& partition : topic.partitions) {
              ErrorCode each = index < errors.size() ? errors[index] : ErrorCode::none;
              ++index;
              topic_out.partitions.push_back({partition.partition_index, static_cast<std::int16_t>(each)});
            }
          }
        }
        respond(*request, response);
      });
    });
  });
}

}  // namespace sluice::broker
