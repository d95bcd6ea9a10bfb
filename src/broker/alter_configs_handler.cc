// AlterConfigs v0-v2 (Kafka's older config API): each resource's configs are replaced whole, so a
// key left out goes back to its default. Topics and this broker (or "" for every broker); the
// BROKER_LOGGER levels change only through IncrementalAlterConfigs, as in Kafka.
#include "broker/respond.h"
#include "protocol/alter_configs.h"
#include "protocol/describe_configs.h"

namespace sluice::broker {
namespace {

struct AlterJob {
  protocol::AlterConfigsResponse response;
  std::size_t pending = 0;
};

}  // namespace

void Broker::handle_alter_configs(const RequestPtr& request) {
  protocol::AlterConfigsRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  auto job = std::make_shared<AlterJob>();
  job->response.responses.resize(body.resources.size());
  job->pending = body.resources.size() + 1;  // +1 until every resource has been started
  auto finish_one = [this, request, job] {
    if (--job->pending == 0) respond(*request, job->response);
  };
  for (std::size_t i = 0; i < body.resources.size(); ++i) {
    const auto& resource = body.resources[i];
    auto& out = job->response.responses[i];
    out.resource_type = resource.resource_type;
    out.resource_name = resource.resource_name;
    auto done = [job, i, finish_one](ErrorCode error, std::string message) {
      auto& result = job->response.responses[i];
      result.error_code = static_cast<std::int16_t>(error);
      if (error != ErrorCode::none) result.error_message = std::move(message);
      finish_one();
    };
    std::map<std::string, std::string> configs;
    bool duplicate = false;
    for (const auto& config : resource.configs) {
      if (!config.value.has_value()) continue;  // null: back to the default, as when left out
      duplicate = duplicate || !configs.emplace(config.name, *config.value).second;
    }
    if (duplicate) {
      done(ErrorCode::invalid_request, "a config key is given twice");
      continue;
    }
    if (resource.resource_type == protocol::config_resource_type::topic) {
      change_topic_configs(request, resource.resource_name, configs, body.validate_only, done);
    } else if (resource.resource_type == protocol::config_resource_type::broker) {
      change_broker_configs(request, resource.resource_name, configs, body.validate_only, done);
    } else {
      done(ErrorCode::invalid_request,
           "AlterConfigs does not serve resource type " + std::to_string(resource.resource_type));
    }
  }
  finish_one();
}

}  // namespace sluice::broker
