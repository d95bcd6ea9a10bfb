// IncrementalAlterConfigs v0-v1: SET, DELETE, APPEND and SUBTRACT single keys of a topic, of this
// broker (or "" for every broker), and the level of the BROKER_LOGGER "root" (Sluice has one level
// for every component; DELETE puts back the level the broker started with).
#include <algorithm>

#include "broker/config_catalog.h"
#include "broker/respond.h"
#include "protocol/describe_configs.h"
#include "protocol/incremental_alter_configs.h"

namespace sluice::broker {
namespace {

using Request = protocol::IncrementalAlterConfigsRequest;

struct AlterJob {
  protocol::IncrementalAlterConfigsResponse response;
  std::size_t pending = 0;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

// Applies the operations to `configs` (the resource's explicitly set keys); `current` gives the
// effective value a list operation starts from when the key is not set. "" or the problem.
std::string apply_operations(const std::vector<Request::Config>& operations, bool topic,
                             const std::map<std::string, std::string>& current,
                             std::map<std::string, std::string>& configs, ErrorCode* error) {
  std::vector<std::string> seen;
  for (const auto& op : operations) {
    if (std::find(seen.begin(), seen.end(), op.name) != seen.end()) {
      *error = ErrorCode::invalid_request;
      return "config key " + op.name + " is given twice";
    }
    seen.push_back(op.name);
    *error = ErrorCode::invalid_config;
    switch (op.config_operation) {
      case Request::operation_set:
        if (!op.value.has_value()) return "SET of " + op.name + " needs a value";
        configs[op.name] = *op.value;
        break;
      case Request::operation_delete:
        configs.erase(op.name);
        break;
      case Request::operation_append:
      case Request::operation_subtract: {
        const TopicConfigDef* def = topic ? find_topic_config(op.name) : nullptr;
        if (!def || def->type != protocol::config_type::list)
          return "config " + op.name + " is not a list: APPEND and SUBTRACT need one";
        if (!op.value.has_value()) return "APPEND or SUBTRACT of " + op.name + " needs a value";
        auto it = configs.find(op.name);
        std::string base = it != configs.end() ? it->second : (current.count(op.name) ? current.at(op.name) : "");
        auto items = split_list(base);
        for (const auto& item : split_list(*op.value)) {
          auto found = std::find(items.begin(), items.end(), item);
          if (op.config_operation == Request::operation_append && found == items.end()) items.push_back(item);
          if (op.config_operation == Request::operation_subtract && found != items.end()) items.erase(found);
        }
        configs[op.name] = join_list(items);
        break;
      }
      default:
        *error = ErrorCode::invalid_request;
        return "unknown config operation " + std::to_string(op.config_operation) + " for " + op.name;
    }
  }
  *error = ErrorCode::none;
  return "";
}

}  // namespace

void Broker::handle_incremental_alter_configs(const RequestPtr& request) {
  Request body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  auto job = std::make_shared<AlterJob>();
  job->response.responses.resize(body.resources.size());
  job->pending = body.resources.size() + 1;
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
    ErrorCode error = ErrorCode::none;
    if (resource.resource_type == protocol::config_resource_type::topic) {
      auto topic = registry_->find(resource.resource_name);
      if (!topic) {
        done(ErrorCode::unknown_topic_or_partition, "topic '" + resource.resource_name + "' does not exist");
        continue;
      }
      auto configs = topic->configs;
      std::string problem = apply_operations(resource.configs, true, registry_->effective_configs(*topic), configs, &error);
      if (!problem.empty()) {
        done(error, problem);
        continue;
      }
      change_topic_configs(request, resource.resource_name, configs, body.validate_only, done);
    } else if (resource.resource_type == protocol::config_resource_type::broker) {
      auto configs = registry_->dynamic_broker_configs(resource.resource_name.empty());
      std::string problem = apply_operations(resource.configs, false, {}, configs, &error);
      if (!problem.empty()) {
        done(error, problem);
        continue;
      }
      change_broker_configs(request, resource.resource_name, configs, body.validate_only, done);
    } else if (resource.resource_type == protocol::config_resource_type::broker_logger) {
      if (resource.resource_name != std::to_string(config_.node_id)) {
        done(ErrorCode::invalid_request, "this is broker " + std::to_string(config_.node_id));
        continue;
      }
      std::optional<LogLevel> level;
      std::string problem;
      for (const auto& op : resource.configs) {
        if (op.name != "root") {
          problem = "unknown logger " + op.name + " (Sluice has one: root)";
          break;
        }
        if (op.config_operation == Request::operation_delete) {
          level = log_level_from_name(config_.log_level).value_or(LogLevel::info);
        } else if (op.config_operation == Request::operation_set && op.value.has_value() &&
                   log_level_from_name(*op.value).has_value()) {
          level = log_level_from_name(*op.value);
        } else {
          problem = "invalid log level for root: give SET with DEBUG, INFO, WARN or ERROR, or DELETE";
          break;
        }
      }
      if (!problem.empty()) {
        done(ErrorCode::invalid_config, problem);
        continue;
      }
      if (level.has_value() && !body.validate_only) {
        log_set_level(*level);
        static const char* const names[] = {"debug", "info", "warn", "error"};
        LOG_WARN("log_level_changed", "logger=root level=%s", names[static_cast<int>(*level)]);
      }
      done(ErrorCode::none, "");
    } else {
      done(ErrorCode::invalid_request, "resource type " + std::to_string(resource.resource_type) + " is not served");
    }
  }
  finish_one();
}

}  // namespace sluice::broker
