// CreatePartitions v0-v3: grows a topic to a new total partition count. Replicas are this broker
// only; given assignments must say so. The new partitions are in Metadata when the answer goes out.
// The work runs on the admin thread (Broker::admin_thread_).
#include "broker/respond.h"
#include "protocol/create_partitions.h"

namespace sluice::broker {

void Broker::handle_create_partitions(const RequestPtr& request) {
  auto body = std::make_shared<protocol::CreatePartitionsRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  respond_after(admin_thread_->loop(), request, [this, body] { return create_partitions(*body); });
}

protocol::CreatePartitionsResponse Broker::create_partitions(const protocol::CreatePartitionsRequest& body) {
  protocol::CreatePartitionsResponse response;
  for (std::size_t i = 0; i < body.topics.size(); ++i) {
    const auto& wanted = body.topics[i];
    auto& out = response.results.emplace_back();
    out.name = wanted.name;
    auto fail = [&out](ErrorCode error, std::string message) {
      out.error_code = static_cast<std::int16_t>(error);
      out.error_message = std::move(message);
    };
    bool duplicate = false;
    for (std::size_t j = 0; j < i; ++j) duplicate = duplicate || body.topics[j].name == wanted.name;
    if (duplicate) {
      fail(ErrorCode::invalid_request, "topic '" + wanted.name + "' is given twice");
      continue;
    }
    auto topic = registry_->find(wanted.name);
    if (topic && topic->internal) {
      fail(ErrorCode::invalid_request, "partitions of internal topics cannot be added");
      continue;
    }
    if (topic && wanted.assignments.has_value()) {
      std::size_t adding = wanted.count > static_cast<std::int32_t>(topic->partitions.size())
                               ? static_cast<std::size_t>(wanted.count) - topic->partitions.size()
                               : 0;
      bool valid = wanted.assignments->size() == adding;
      for (const auto& assignment : *wanted.assignments)
        valid = valid && assignment.broker_ids.size() == 1 && assignment.broker_ids[0] == config_.node_id;
      if (!valid) {
        fail(ErrorCode::invalid_replica_assignment,
             "give one assignment per new partition, each with this broker (" + std::to_string(config_.node_id) + ") only");
        continue;
      }
    }
    auto added = registry_->add_partitions(wanted.name, wanted.count, body.validate_only);
    if (added.error != ErrorCode::none) fail(added.error, added.message);
  }
  return response;
}

}  // namespace sluice::broker
