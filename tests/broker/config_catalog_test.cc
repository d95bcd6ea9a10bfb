// The config catalog: precedence of the layers, synonyms in other units, value checks, and that
// every broker key DescribeConfigs reports is one the properties file accepts.
#include "broker/config_catalog.h"

#include <gtest/gtest.h>

#include "base/config.h"
#include "protocol/describe_configs.h"

namespace sluice::broker {
namespace {

namespace source = protocol::config_source;

TEST(ConfigCatalog, DefaultWhenNoLayerSetsIt) {
  ConfigLayers layers;
  auto resolved = resolve_topic_config(*find_topic_config("retention.ms"), layers);
  EXPECT_EQ(resolved.value, "604800000");
  EXPECT_EQ(resolved.source, source::default_config);
  ASSERT_EQ(resolved.synonyms.size(), 1u);
  EXPECT_EQ(resolved.synonyms[0].name, "log.retention.ms");
}

TEST(ConfigCatalog, LayersFromStrongestToWeakest) {
  std::map<std::string, std::string> topic{{"retention.ms", "5"}};
  std::map<std::string, std::string> broker{{"log.retention.minutes", "2"}};
  std::map<std::string, std::string> every{{"log.retention.ms", "7"}};
  std::map<std::string, std::string> file{{"log.retention.hours", "3"}, {"log.retention.ms", "9"}};
  ConfigLayers layers{&topic, &broker, &every, &file};
  const auto& def = *find_topic_config("retention.ms");
  auto resolved = resolve_topic_config(def, layers);
  EXPECT_EQ(resolved.value, "5");
  EXPECT_EQ(resolved.source, source::dynamic_topic);
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& s : resolved.synonyms) names.emplace_back(s.name, s.value);
  std::vector<std::pair<std::string, std::string>> expected{
      {"retention.ms", "5"}, {"log.retention.minutes", "120000"}, {"log.retention.ms", "7"},
      {"log.retention.ms", "9"}, {"log.retention.hours", "10800000"}, {"log.retention.ms", "604800000"}};
  EXPECT_EQ(names, expected);
  layers.topic = nullptr;
  EXPECT_EQ(resolve_topic_config(def, layers).value, "120000");
  EXPECT_EQ(resolve_topic_config(def, layers).source, source::dynamic_broker);
  layers.dynamic_broker = nullptr;
  EXPECT_EQ(resolve_topic_config(def, layers).source, source::dynamic_default_broker);
  layers.dynamic_default = nullptr;
  // Within one layer log.retention.ms wins over .hours, as in Kafka.
  EXPECT_EQ(resolve_topic_config(def, layers).value, "9");
  EXPECT_EQ(resolve_topic_config(def, layers).source, source::static_broker);
}

TEST(ConfigCatalog, NoLimitStaysNoLimitInEveryUnit) {
  std::map<std::string, std::string> file{{"log.retention.hours", "-1"}};
  ConfigLayers layers{nullptr, nullptr, nullptr, &file};
  EXPECT_EQ(resolve_topic_config(*find_topic_config("retention.ms"), layers).value, "-1");
}

TEST(ConfigCatalog, ChecksNameTheKey) {
  EXPECT_EQ(check_topic_config_value("retention.ms", "-1"), "");
  EXPECT_NE(check_topic_config_value("retention.ms", "-2").find("retention.ms"), std::string::npos);
  EXPECT_NE(check_topic_config_value("segment.bytes", "3000000000").find("segment.bytes"), std::string::npos);
  EXPECT_EQ(check_topic_config_value("min.cleanable.dirty.ratio", "0.25"), "");
  EXPECT_NE(check_topic_config_value("min.cleanable.dirty.ratio", "1.5"), "");
  EXPECT_NE(check_topic_config_value("min.cleanable.dirty.ratio", "half"), "");
  EXPECT_EQ(check_topic_config_value("cleanup.policy", "compact,delete"), "");
  EXPECT_NE(check_topic_config_value("cleanup.policy", "keep"), "");
  EXPECT_NE(check_topic_config_value("preallocate", "yes"), "");
  EXPECT_NE(check_topic_config_value("compression.type", "brotli"), "");
  EXPECT_NE(check_topic_config_value("no.such.key", "1").find("no.such.key"), std::string::npos);
}

TEST(ConfigCatalog, EveryDescribedBrokerKeyIsAccepted) {
  Config config;
  auto values = broker_config_values(config);
  EXPECT_GT(values.size(), 50u);
  for (const auto& [key, value] : values) {
    EXPECT_EQ(check_broker_property(key, "").find("unknown"), std::string::npos) << key;
    if (value.has_value() && key != "log.dirs" && key != "listeners") {
      EXPECT_EQ(check_broker_property(key, *value), "") << key << "=" << *value;
    }
  }
}

TEST(ConfigCatalog, DynamicBrokerKeys) {
  EXPECT_TRUE(broker_config_dynamic("log.retention.ms"));
  EXPECT_TRUE(broker_config_dynamic("log.retention.hours"));
  EXPECT_TRUE(broker_config_dynamic("log.cleaner.io.max.bytes.per.second"));
  EXPECT_FALSE(broker_config_dynamic("num.io.threads"));
  EXPECT_FALSE(broker_config_dynamic("listeners"));
}

}  // namespace
}  // namespace sluice::broker
