#include "broker/config_catalog.h"

#include <charconv>
#include <climits>
#include <cstdio>

#include "protocol/describe_configs.h"

namespace sluice::broker {
namespace {

namespace type = protocol::config_type;
namespace source = protocol::config_source;

constexpr const char* kMax = "9223372036854775807";

// Kafka's topic configs (TopicConfig / LogConfig), with Sluice's flush.mode.
constexpr TopicConfigDef kTopicConfigs[] = {
    {"cleanup.policy", type::list, "delete", 0, {{{"log.cleanup.policy"}}},
     "delete (retention by time and size), compact (keep the latest record per key), or both"},
    {"compression.type", type::string, "producer", 0, {{{"compression.type"}}},
     "the codec the broker keeps; Sluice stores batches as produced (producer)"},
    {"delete.retention.ms", type::int64, "86400000", 0, {{{"log.cleaner.delete.retention.ms"}}},
     "how long a tombstone stays in a compacted log after its segment was cleaned"},
    {"file.delete.delay.ms", type::int64, "60000", 0, {{{"log.segment.delete.delay.ms"}}},
     "Kafka's delay before a deleted segment's files go; Sluice unlinks at once and open readers keep them"},
    {"flush.messages", type::int64, kMax, 1, {{{"log.flush.interval.messages"}}},
     "async flush mode: sync after this many messages"},
    {"flush.mode", type::string, "durable", 0, {{{"flush.mode"}}},
     "durable: acks=all is answered after fdatasync; async: after the page-cache write (Sluice)"},
    {"flush.ms", type::int64, kMax, 0, {{{"log.flush.interval.ms"}}},
     "async flush mode: sync when this long has passed since the last sync"},
    {"follower.replication.throttled.replicas", type::list, "", 0, {},
     "replication throttling (no replication in Sluice yet)"},
    {"index.interval.bytes", type::int32, "4096", 0, {{{"log.index.interval.bytes"}}},
     "bytes of log between two offset index entries"},
    {"leader.replication.throttled.replicas", type::list, "", 0, {},
     "replication throttling (no replication in Sluice yet)"},
    {"local.retention.bytes", type::int64, "-2", -2, {{{"log.local.retention.bytes"}}},
     "tiered storage local retention (not served)"},
    {"local.retention.ms", type::int64, "-2", -2, {{{"log.local.retention.ms"}}},
     "tiered storage local retention (not served)"},
    {"max.compaction.lag.ms", type::int64, kMax, 1, {{{"log.cleaner.max.compaction.lag.ms"}}},
     "a record stays uncompacted at most this long"},
    {"max.message.bytes", type::int32, "1048588", 0, {{{"message.max.bytes"}}},
     "the largest record batch the topic accepts"},
    {"message.downconversion.enable", type::boolean, "true", 0, {{{"log.message.downconversion.enable"}}},
     "down-conversion for old consumers (Sluice serves magic 2 only)"},
    {"message.format.version", type::string, "3.0-IV1", 0, {{{"log.message.format.version"}}},
     "the message format (magic 2 only)"},
    {"message.timestamp.after.max.ms", type::int64, kMax, 0, {{{"log.message.timestamp.after.max.ms"}}},
     "how far in the future a CreateTime timestamp may be"},
    {"message.timestamp.before.max.ms", type::int64, kMax, 0, {{{"log.message.timestamp.before.max.ms"}}},
     "how far in the past a CreateTime timestamp may be"},
    {"message.timestamp.difference.max.ms", type::int64, kMax, 0, {{{"log.message.timestamp.difference.max.ms"}}},
     "the older form of the two keys above"},
    {"message.timestamp.type", type::string, "CreateTime", 0, {{{"log.message.timestamp.type"}}},
     "CreateTime (the producer's) or LogAppendTime (the broker's)"},
    {"min.cleanable.dirty.ratio", type::float64, "0.5", 0, {{{"log.cleaner.min.cleanable.ratio"}}},
     "the dirty share of a log above which the cleaner compacts it"},
    {"min.compaction.lag.ms", type::int64, "0", 0, {{{"log.cleaner.min.compaction.lag.ms"}}},
     "a record stays uncompacted at least this long"},
    {"min.insync.replicas", type::int32, "1", 1, {{{"min.insync.replicas"}}},
     "replicas that must have a batch before acks=all (one broker: 1)"},
    {"preallocate", type::boolean, "false", 0, {{{"log.preallocate"}}},
     "preallocate a new segment's file (Sluice preallocates in steps always)"},
    {"remote.storage.enable", type::boolean, "false", 0, {}, "tiered storage (not served)"},
    {"retention.bytes", type::int64, "-1", -1, {{{"log.retention.bytes"}}},
     "delete old segments to keep each partition under this size (-1: no limit)"},
    {"retention.ms", type::int64, "604800000", -1,
     {{{"log.retention.ms"}, {"log.retention.minutes", 60000}, {"log.retention.hours", 3600000}}},
     "delete segments whose newest record is older than this (-1: keep forever)"},
    {"segment.bytes", type::int32, "1073741824", 14, {{{"log.segment.bytes"}}},
     "roll to a new segment when the active one would grow past this"},
    {"segment.index.bytes", type::int32, "10485760", 4096, {{{"log.index.size.max.bytes"}}},
     "the largest offset or time index of a segment"},
    {"segment.jitter.ms", type::int64, "0", 0, {{{"log.roll.jitter.ms"}, {"log.roll.jitter.hours", 3600000}}},
     "random jitter subtracted from segment.ms"},
    {"segment.ms", type::int64, "604800000", 1, {{{"log.roll.ms"}, {"log.roll.hours", 3600000}}},
     "roll to a new segment when the active one's first record is this old"},
    {"unclean.leader.election.enable", type::boolean, "false", 0, {{{"unclean.leader.election.enable"}}},
     "replication (one broker: no effect)"},
};

bool parse_int64(const std::string& text, std::int64_t& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool parse_double(const std::string& text, double& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

// A broker value in the topic key's unit.
std::string scaled(const std::string& value, std::int64_t scale) {
  if (scale == 1) return value;
  std::int64_t number = 0;
  if (!parse_int64(value, number)) return value;
  if (number < 0) return std::to_string(number);  // -1: no limit, in every unit
  if (number > LLONG_MAX / scale) return kMax;
  return std::to_string(number * scale);
}

}  // namespace

std::span<const TopicConfigDef> topic_config_defs() { return kTopicConfigs; }

const TopicConfigDef* find_topic_config(std::string_view name) {
  for (const auto& def : kTopicConfigs)
    if (name == def.name) return &def;
  return nullptr;
}

std::string check_topic_config_value(const std::string& key, const std::string& value) {
  const TopicConfigDef* def = find_topic_config(key);
  if (!def) return "unknown topic config " + key;
  const std::string invalid = "invalid value '" + value + "' for " + key;
  if (key == "cleanup.policy") {
    if (value == "delete" || value == "compact" || value == "compact,delete" || value == "delete,compact") return "";
    return invalid + ": must be delete, compact or both";
  }
  if (key == "flush.mode") return value == "durable" || value == "async" ? "" : invalid + ": must be durable or async";
  if (key == "message.timestamp.type")
    return value == "CreateTime" || value == "LogAppendTime" ? "" : invalid + ": must be CreateTime or LogAppendTime";
  if (key == "compression.type") {
    for (const char* codec : {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"})
      if (value == codec) return "";
    return invalid + ": must be producer, uncompressed, gzip, snappy, lz4 or zstd";
  }
  switch (def->type) {
    case type::int32:
    case type::int64: {
      std::int64_t number = 0;
      if (!parse_int64(value, number)) return invalid + ": not a number";
      if (number < def->min_value) return invalid + ": at least " + std::to_string(def->min_value);
      if (def->type == type::int32 && number > INT32_MAX) return invalid + ": at most " + std::to_string(INT32_MAX);
      return "";
    }
    case type::float64: {
      double number = 0;
      if (!parse_double(value, number) || !(number >= 0 && number <= 1)) return invalid + ": must be between 0 and 1";
      return "";
    }
    case type::boolean:
      return value == "true" || value == "false" ? "" : invalid + ": must be true or false";
    default:
      return "";
  }
}

ResolvedConfig resolve_topic_config(const TopicConfigDef& def, const ConfigLayers& layers) {
  ResolvedConfig resolved;
  if (layers.topic) {
    if (auto it = layers.topic->find(def.name); it != layers.topic->end())
      resolved.synonyms.push_back({def.name, it->second, source::dynamic_topic});
  }
  const std::pair<const std::map<std::string, std::string>*, std::int8_t> broker_layers[] = {
      {layers.dynamic_broker, source::dynamic_broker},
      {layers.dynamic_default, source::dynamic_default_broker},
      {layers.static_broker, source::static_broker},
  };
  for (const auto& [map, layer_source] : broker_layers) {
    if (!map) continue;
    for (const auto& synonym : def.synonyms) {
      if (!synonym.broker_key) break;
      if (auto it = map->find(synonym.broker_key); it != map->end())
        resolved.synonyms.push_back({synonym.broker_key, scaled(it->second, synonym.scale), layer_source});
    }
  }
  const char* default_name = def.synonyms[0].broker_key ? def.synonyms[0].broker_key : def.name;
  resolved.synonyms.push_back({default_name, def.default_value, source::default_config});
  resolved.value = resolved.synonyms.front().value;
  resolved.source = resolved.synonyms.front().source;
  return resolved;
}

std::map<std::string, std::string> effective_topic_configs(const ConfigLayers& layers) {
  std::map<std::string, std::string> configs;
  for (const auto& def : kTopicConfigs) configs[def.name] = resolve_topic_config(def, layers).value;
  return configs;
}

bool broker_config_dynamic(std::string_view key) {
  for (const auto& def : kTopicConfigs)
    for (const auto& synonym : def.synonyms)
      if (synonym.broker_key && key == synonym.broker_key) return true;
  return key == "log.cleaner.io.max.bytes.per.second" || key == "log.cleaner.backoff.ms";
}

std::int8_t broker_config_type(std::string_view key) {
  for (const auto& def : kTopicConfigs)
    for (const auto& synonym : def.synonyms)
      if (synonym.broker_key && key == synonym.broker_key) return synonym.scale == 1 ? def.type : type::int64;
  if (key == "log.cleaner.io.max.bytes.per.second") return type::float64;
  if (key.find(".ms") != std::string_view::npos || key.find(".bytes") != std::string_view::npos) return type::int64;
  if (key.find(".enable") != std::string_view::npos) return type::boolean;
  return type::string;
}

}  // namespace sluice::broker
