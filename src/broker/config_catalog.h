// What Sluice knows about each topic config: its type, Kafka's default, the broker keys that set
// its default (Kafka's "synonyms", in precedence order), and one line of documentation; plus which
// broker keys can change without a restart. DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs all read this one table, so a key is added in one place.
//
// A topic config's value, from the strongest source to the weakest (Kafka's order):
//   the topic's own config (DYNAMIC_TOPIC_CONFIG), a synonym set for this broker at run time
//   (DYNAMIC_BROKER_CONFIG), a synonym set at run time for every broker (DYNAMIC_DEFAULT_BROKER_CONFIG),
//   a synonym in the properties file (STATIC_BROKER_CONFIG), Kafka's default (DEFAULT_CONFIG).
// Pure data and pure functions; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::broker {

struct ConfigSynonym {
  const char* broker_key = nullptr;
  std::int64_t scale = 1;  // topic value = broker value * scale (for numbers; 1 keeps text as is)
};

struct TopicConfigDef {
  const char* name;
  std::int8_t type;            // protocol::config_type
  const char* default_value;   // Kafka's default, in the topic key's unit
  std::int64_t min_value;      // the smallest value accepted (numbers)
  std::array<ConfigSynonym, 3> synonyms;
  const char* documentation;
};

std::span<const TopicConfigDef> topic_config_defs();
const TopicConfigDef* find_topic_config(std::string_view name);

// Checks a topic config value; "" or a message naming the key.
std::string check_topic_config_value(const std::string& key, const std::string& value);

// The layers a value can come from. Maps hold text as set (keys are broker keys for the broker
// layers).
struct ConfigLayers {
  const std::map<std::string, std::string>* topic = nullptr;          // the topic's own configs
  const std::map<std::string, std::string>* dynamic_broker = nullptr;  // this broker, at run time
  const std::map<std::string, std::string>* dynamic_default = nullptr;  // every broker, at run time
  const std::map<std::string, std::string>* static_broker = nullptr;    // the properties file
};

struct ResolvedConfig {
  std::string value;
  std::int8_t source;  // protocol::config_source
  struct Synonym {
    std::string name;
    std::string value;
    std::int8_t source;
  };
  std::vector<Synonym> synonyms;  // every layer that sets it, strongest first (Kafka's order)
};

// The value of topic config `def` through the layers.
ResolvedConfig resolve_topic_config(const TopicConfigDef& def, const ConfigLayers& layers);
// Every topic config key with its effective value.
std::map<std::string, std::string> effective_topic_configs(const ConfigLayers& layers);

// Broker keys that take effect without a restart (the topic defaults, the cleaner's throttle and
// pace). Others are refused by AlterConfigs with INVALID_CONFIG.
bool broker_config_dynamic(std::string_view key);
// The config_type of a broker key (string when unknown) and its documentation line (may be empty).
std::int8_t broker_config_type(std::string_view key);

}  // namespace sluice::broker
