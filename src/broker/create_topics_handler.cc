// CreateTopics: partitions on this broker (replication factor 1), per-topic configs checked and
// stored. The work runs on the admin thread (Broker::admin_thread_).
#include "broker/config_catalog.h"
#include "broker/respond.h"
#include "protocol/create_topics.h"

namespace sluice::broker {

void Broker::handle_create_topics(const RequestPtr& request) {
  auto body = std::make_shared<protocol::CreateTopicsRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  // Creating a partition makes its directory and files (with fsyncs): the admin thread does it.
  respond_after(admin_thread_->loop(), request, [this, body] { return create_topics(*body); });
}

protocol::CreateTopicsResponse Broker::create_topics(const protocol::CreateTopicsRequest& body) {
  protocol::CreateTopicsResponse response;
  for (const auto& wanted : body.topics) {
    auto& out = response.topics.emplace_back();
    out.name = wanted.name;
    auto fail = [&](ErrorCode error, std::string message) {
      out.error_code = static_cast<std::int16_t>(error);
      out.error_message = std::move(message);
    };
    std::int32_t partitions = wanted.num_partitions;
    if (!wanted.assignments.empty()) {
      if (wanted.num_partitions != -1 || wanted.replication_factor != -1) {
        fail(ErrorCode::invalid_request, "give either assignments or partitions and replication factor");
        continue;
      }
      bool valid = true;
      for (std::size_t i = 0; i < wanted.assignments.size(); ++i) {
        const auto& assignment = wanted.assignments[i];
        valid = valid && assignment.partition_index == static_cast<std::int32_t>(i) &&
                assignment.broker_ids.size() == 1 && assignment.broker_ids[0] == config_.node_id;
      }
      if (!valid) {
        fail(ErrorCode::invalid_replica_assignment, "replicas must be this broker, partitions 0..n-1");
        continue;
      }
      partitions = static_cast<std::int32_t>(wanted.assignments.size());
    }
    if (partitions == -1) partitions = config_.partitions_default;
    std::int16_t replication = wanted.replication_factor == -1 ? config_.replication_factor_default
                                                                 : wanted.replication_factor;
    if (replication != 1) {
      fail(ErrorCode::invalid_replication_factor, "replication factor must be 1 on a single broker");
      continue;
    }
    std::map<std::string, std::string> configs;
    for (const auto& config : wanted.configs)
      if (config.value.has_value()) configs[config.name] = *config.value;
    auto created = registry_->create(wanted.name, partitions, configs, body.validate_only);
    if (created.error != ErrorCode::none) {
      fail(created.error, created.message);
      continue;
    }
    out.num_partitions = partitions;
    out.replication_factor = replication;
    if (created.topic) out.topic_id = created.topic->id;
    Topic shape;
    shape.configs = configs;
    auto holder = registry_->config_layers(&shape);
    auto& listed = out.configs.emplace();
    for (const auto& def : topic_config_defs()) {
      ResolvedConfig resolved = resolve_topic_config(def, holder.layers);
      protocol::CreateTopicsResponse::Config entry;
      entry.name = def.name;
      entry.value = resolved.value;
      entry.config_source = resolved.source;
      listed.push_back(std::move(entry));
    }
  }
  return response;
}

}  // namespace sluice::broker
