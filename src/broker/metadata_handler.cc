// Metadata: this broker is every partition's leader and the controller; topics are created on
// demand when auto.create.topics.enable and the request allow it (then on the admin thread).
#include "broker/respond.h"
#include "protocol/metadata.h"

namespace sluice::broker {
namespace {

protocol::MetadataResponse::Topic describe(const Topic& topic, std::int32_t node_id) {
  protocol::MetadataResponse::Topic out;
  out.name = topic.name;
  out.topic_id = topic.id;
  out.is_internal = topic.internal;
  for (const auto& partition : topic.partitions) {
    protocol::MetadataResponse::Partition p;
    p.partition_index = partition->index;
    p.leader_id = node_id;
    p.leader_epoch = partition->leader_epoch;
    p.replica_nodes = {node_id};
    p.isr_nodes = {node_id};
    out.partitions.push_back(std::move(p));
  }
  return out;
}

protocol::MetadataResponse::Topic topic_error(ErrorCode error, std::optional<std::string> name, Uuid id) {
  protocol::MetadataResponse::Topic out;
  out.error_code = static_cast<std::int16_t>(error);
  out.name = std::move(name);
  out.topic_id = id;
  return out;
}

}  // namespace

void Broker::handle_metadata(const RequestPtr& request) {
  auto body = std::make_shared<protocol::MetadataRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  const std::int16_t version = request->header.api_version;
  // A topic to create makes its partitions' directories and files (with fsyncs): then the whole
  // answer is built on the admin thread, as CreateTopics is, so the network thread goes on.
  bool creates = false;
  if (body->topics.has_value() && may_auto_create(*body, version)) {
    for (const auto& wanted : *body->topics)
      if (wanted.name && TopicRegistry::valid_topic_name(*wanted.name) && !registry_->find(*wanted.name)) creates = true;
  }
  if (creates) return respond_after(admin_thread_->loop(), request, [this, body, version] { return metadata(*body, version); });
  respond(*request, metadata(*body, version));
}

bool Broker::may_auto_create(const protocol::MetadataRequest& body, std::int16_t version) const {
  return config_.topic_auto_create && (version < 4 || body.allow_auto_topic_creation);
}

protocol::MetadataResponse Broker::metadata(const protocol::MetadataRequest& body, std::int16_t version) {
  protocol::MetadataResponse response;
  auto [host, port] = advertised_endpoint();
  response.brokers.push_back({config_.node_id, host, port, std::nullopt});
  response.cluster_id = meta_.cluster_id;
  response.controller_id = config_.node_id;
  // Null means every topic; so does an empty list in v0 (kafka-python probes with v0).
  bool all_topics = !body.topics.has_value() || (version == 0 && body.topics->empty());
  if (all_topics) {
    auto topics = registry_->snapshot();
    for (const auto& [name, topic] : topics->by_name) response.topics.push_back(describe(*topic, config_.node_id));
    return response;
  }
  const bool may_create = may_auto_create(body, version);
  for (const auto& wanted : *body.topics) {
    if (!wanted.name.has_value()) {
      auto topic = registry_->find(wanted.topic_id);
      response.topics.push_back(topic ? describe(*topic, config_.node_id)
                                      : topic_error(ErrorCode::unknown_topic_id, std::nullopt, wanted.topic_id));
      continue;
    }
    const std::string& name = *wanted.name;
    auto topic = registry_->find(name);
    if (!topic && may_create && TopicRegistry::valid_topic_name(name)) {
      auto created = registry_->create(name, config_.partitions_default, {}, false);
      topic = created.topic;
    }
    if (topic) {
      response.topics.push_back(describe(*topic, config_.node_id));
    } else {
      ErrorCode error = TopicRegistry::valid_topic_name(name) ? ErrorCode::unknown_topic_or_partition
                                                              : ErrorCode::invalid_topic_exception;
      response.topics.push_back(topic_error(error, name, Uuid{}));
    }
  }
  return response;
}

}  // namespace sluice::broker
