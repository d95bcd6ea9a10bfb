// DescribeConfigs v0-v4: a topic's configs (each with its source, synonyms and type, as Kafka
// reports them), this broker's configs (the properties file, run-time changes, defaults) or the
// run-time cluster defaults (resource name ""), and the BROKER_LOGGER levels.
#include <charconv>

#include "broker/config_catalog.h"
#include "broker/respond.h"
#include "protocol/describe_configs.h"

namespace sluice::broker {
namespace {

using Response = protocol::DescribeConfigsResponse;
namespace source = protocol::config_source;

bool wanted(const std::optional<std::vector<std::string>>& keys, const std::string& name) {
  if (!keys.has_value() || keys->empty()) return true;
  for (const auto& key : *keys)
    if (key == name) return true;
  return false;
}

Response::Config entry(const std::string& name, std::optional<std::string> value, std::int8_t config_source,
                       bool read_only, std::int8_t type, const char* documentation,
                       const protocol::DescribeConfigsRequest& body) {
  Response::Config config;
  config.name = name;
  config.value = std::move(value);
  config.read_only = read_only;
  config.is_default = config_source == source::default_config;
  config.config_source = config_source;
  config.config_type = type;
  if (body.include_documentation && documentation && *documentation) config.documentation = documentation;
  return config;
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "DEBUG";
    case LogLevel::warn: return "WARN";
    case LogLevel::error: return "ERROR";
    default: return "INFO";
  }
}

}  // namespace

void Broker::handle_describe_configs(const RequestPtr& request) {
  protocol::DescribeConfigsRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  Response response;
  for (const auto& resource : body.resources) {
    auto& result = response.results.emplace_back();
    result.resource_type = resource.resource_type;
    result.resource_name = resource.resource_name;
    auto fail = [&result](ErrorCode error, std::string message) {
      result.error_code = static_cast<std::int16_t>(error);
      result.error_message = std::move(message);
    };
    if (resource.resource_type == protocol::config_resource_type::topic) {
      auto topic = registry_->find(resource.resource_name);
      if (!topic) {
        fail(ErrorCode::unknown_topic_or_partition, "topic '" + resource.resource_name + "' does not exist");
        continue;
      }
      auto holder = registry_->config_layers(topic.get());
      for (const auto& def : topic_config_defs()) {
        if (!wanted(resource.configuration_keys, def.name)) continue;
        ResolvedConfig resolved = resolve_topic_config(def, holder.layers);
        auto config = entry(def.name, resolved.value, resolved.source, false, def.type, def.documentation, body);
        if (body.include_synonyms)
          for (const auto& synonym : resolved.synonyms) config.synonyms.push_back({synonym.name, synonym.value, synonym.source});
        result.configs.push_back(std::move(config));
      }
    } else if (resource.resource_type == protocol::config_resource_type::broker) {
      const bool every_broker = resource.resource_name.empty();
      if (!every_broker && resource.resource_name != std::to_string(config_.node_id)) {
        fail(ErrorCode::invalid_request, "this is broker " + std::to_string(config_.node_id) + ", not '" +
                                             resource.resource_name + "'");
        continue;
      }
      const auto per_broker = registry_->dynamic_broker_configs(false);
      const auto defaults = registry_->dynamic_broker_configs(true);
      if (every_broker) {
        // Kafka describes only the run-time cluster defaults under the empty name.
        for (const auto& [key, value] : defaults) {
          if (!wanted(resource.configuration_keys, key)) continue;
          result.configs.push_back(entry(key, value, source::dynamic_default_broker, false, broker_config_type(key),
                                         nullptr, body));
        }
        continue;
      }
      for (const auto& [key, current] : broker_config_values(config_)) {
        if (!wanted(resource.configuration_keys, key)) continue;
        std::vector<Response::Synonym> synonyms;
        if (auto it = per_broker.find(key); it != per_broker.end()) synonyms.push_back({key, it->second, source::dynamic_broker});
        if (auto it = defaults.find(key); it != defaults.end()) synonyms.push_back({key, it->second, source::dynamic_default_broker});
        if (auto it = config_.static_properties.find(key); it != config_.static_properties.end())
          synonyms.push_back({key, it->second, source::static_broker});
        else if (current.has_value())
          synonyms.push_back({key, current, source::default_config});
        std::optional<std::string> value = synonyms.empty() ? std::nullopt : synonyms.front().value;
        std::int8_t from = synonyms.empty() ? source::default_config : synonyms.front().source;
        bool sensitive = key == "storage.faults";
        auto config = entry(key, sensitive ? std::nullopt : value, from, !broker_config_dynamic(key),
                            broker_config_type(key), nullptr, body);
        config.is_sensitive = sensitive;
        if (body.include_synonyms && !sensitive) config.synonyms = std::move(synonyms);
        result.configs.push_back(std::move(config));
      }
    } else if (resource.resource_type == protocol::config_resource_type::broker_logger) {
      if (resource.resource_name != std::to_string(config_.node_id)) {
        fail(ErrorCode::invalid_request, "this is broker " + std::to_string(config_.node_id));
        continue;
      }
      // One logger: Sluice's levels apply to every component.
      if (wanted(resource.configuration_keys, "root"))
        result.configs.push_back(entry("root", level_name(log_get_level()), source::dynamic_broker_logger, false,
                                       protocol::config_type::string, "the level of every component", body));
    } else {
      fail(ErrorCode::invalid_request, "resource type " + std::to_string(resource.resource_type) + " is not served");
    }
  }
  respond(*request, response);
}

}  // namespace sluice::broker
