#include "broker/topic_registry.h"

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <sstream>

#include "base/clock.h"
#include "base/log.h"
#include "storage/segment.h"

namespace sluice::broker {
namespace {

bool parse_int64(const std::string& text, std::int64_t& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

TopicRegistry::TopicRegistry(const Config& config, std::filesystem::path log_dir, int io_thread_count)
    : config_(config), log_dir_(std::move(log_dir)), io_thread_count_(io_thread_count) {
  SLUICE_ASSERT(io_thread_count > 0);
  topics_.store(std::make_shared<const TopicMap>());
  dynamic_broker_.store(std::make_shared<const std::map<std::string, std::string>>());
  dynamic_default_.store(std::make_shared<const std::map<std::string, std::string>>());
}

bool TopicRegistry::valid_topic_name(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string TopicRegistry::check_topic_config(const std::string& key, const std::string& value) {
  return check_topic_config_value(key, value);
}

TopicRegistry::LayersHolder TopicRegistry::config_layers(const Topic* topic) const {
  LayersHolder holder;
  holder.dynamic_broker = dynamic_broker_.load(std::memory_order_acquire);
  holder.dynamic_default = dynamic_default_.load(std::memory_order_acquire);
  holder.layers.topic = topic ? &topic->configs : nullptr;
  holder.layers.dynamic_broker = holder.dynamic_broker.get();
  holder.layers.dynamic_default = holder.dynamic_default.get();
  holder.layers.static_broker = &config_.static_properties;
  return holder;
}

std::map<std::string, std::string> TopicRegistry::effective_configs(const Topic& topic) const {
  return effective_topic_configs(config_layers(&topic).layers);
}

std::map<std::string, std::string> TopicRegistry::dynamic_broker_configs(bool for_every_broker) const {
  return *(for_every_broker ? dynamic_default_ : dynamic_broker_).load(std::memory_order_acquire);
}

TopicRegistry::BrokerConfigChange TopicRegistry::alter_broker_configs(bool for_every_broker,
                                                                      const std::map<std::string, std::string>& configs,
                                                                      bool validate_only) {
  BrokerConfigChange change;
  for (const auto& [key, value] : configs) {
    std::string problem;
    if (!broker_config_dynamic(key)) {
      problem = check_broker_property(key, value).rfind("unknown", 0) == 0
                    ? "unknown broker config " + key
                    : "broker config " + key + " cannot be changed without a restart";
    } else {
      // A synonym of a topic config takes the topic config's rules (in its unit).
      for (const auto& def : topic_config_defs()) {
        for (const auto& synonym : def.synonyms) {
          if (!synonym.broker_key || key != synonym.broker_key) continue;
          std::int64_t number = 0;
          std::string in_topic_unit = value;
          if (synonym.scale != 1) {
            if (!parse_int64(value, number)) problem = "invalid value '" + value + "' for " + key;
            else if (number > 0) in_topic_unit = std::to_string(number * synonym.scale);
          }
          if (problem.empty()) {
            problem = check_topic_config_value(def.name, in_topic_unit);
            if (!problem.empty()) problem = "invalid value '" + value + "' for " + key;
          }
        }
      }
      if (problem.empty() && (key == "log.cleaner.io.max.bytes.per.second" || key == "log.cleaner.backoff.ms"))
        problem = check_broker_property(key, value);
    }
    if (!problem.empty()) {
      change.error = ErrorCode::invalid_config;
      change.message = problem;
      return change;
    }
  }
  if (validate_only) return change;
  std::lock_guard lock(create_mutex_);
  auto& layer = for_every_broker ? dynamic_default_ : dynamic_broker_;
  auto previous = layer.load(std::memory_order_acquire);
  auto current = snapshot();
  std::map<std::string, TopicSettings> before;
  for (const auto& [name, topic] : current->by_name) before[name] = settings_for(topic->configs);
  layer.store(std::make_shared<const std::map<std::string, std::string>>(configs), std::memory_order_release);
  if (Status saved = save_broker_configs(); !saved.is_ok()) {
    layer.store(previous, std::memory_order_release);
    change.error = ErrorCode::kafka_storage_error;
    change.message = saved.to_string();
    return change;
  }
  for (const auto& [name, topic] : current->by_name) {
    TopicSettings after = settings_for(topic->configs);
    if (after == before[name]) continue;
    for (const auto& partition : topic->partitions) partition->message_bytes_max.store(after.message_bytes_max);
    change.topics.emplace_back(topic, after);
  }
  LOG_INFO("broker_configs_altered", "scope=%s count=%zu topics_changed=%zu", for_every_broker ? "default" : "broker",
           configs.size(), change.topics.size());
  return change;
}

Status TopicRegistry::save_broker_configs() {
  std::string text = "# broker configs set at run time: <broker|default> <key>=<value>\n";
  for (const auto& [key, value] : *dynamic_broker_.load()) text += "broker " + key + "=" + value + "\n";
  for (const auto& [key, value] : *dynamic_default_.load()) text += "default " + key + "=" + value + "\n";
  return storage::write_file_atomically(log_dir_ / broker_configs_file, text);
}

Status TopicRegistry::load_broker_configs() {
  auto text = storage::read_whole_file(log_dir_ / broker_configs_file);
  if (!text.is_ok()) return text.status().errno_value() == ENOENT ? Status::ok() : text.status();
  std::map<std::string, std::string> broker, every;
  std::istringstream in(text.value());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::size_t space = line.find(' ');
    std::size_t equals = line.find('=', space == std::string::npos ? 0 : space);
    if (space == std::string::npos || equals == std::string::npos) continue;
    std::string scope = line.substr(0, space);
    std::string key = line.substr(space + 1, equals - space - 1);
    if (!broker_config_dynamic(key)) {
      LOG_WARN("broker_config_ignored", "key=%s reason=\"not dynamic\"", key.c_str());
      continue;
    }
    (scope == "default" ? every : broker)[key] = line.substr(equals + 1);
  }
  dynamic_broker_.store(std::make_shared<const std::map<std::string, std::string>>(std::move(broker)));
  dynamic_default_.store(std::make_shared<const std::map<std::string, std::string>>(std::move(every)));
  return Status::ok();
}

CreateTopicResult TopicRegistry::alter_configs(const std::string& name, const std::map<std::string, std::string>& configs,
                                               bool validate_only, TopicSettings* settings) {
  CreateTopicResult result;
  for (const auto& [key, value] : configs) {
    std::string problem = check_topic_config(key, value);
    if (!problem.empty()) {
      result.error = ErrorCode::invalid_config;
      result.message = problem;
      return result;
    }
  }
  std::lock_guard lock(create_mutex_);
  auto current = snapshot();
  auto existing = current->by_name.find(name);
  if (existing == current->by_name.end()) {
    result.error = ErrorCode::unknown_topic_or_partition;
    result.message = "topic '" + name + "' does not exist";
    return result;
  }
  *settings = settings_for(configs);
  if (validate_only) return result;
  // The topic object is immutable once published: a copy with the new configs replaces it, and
  // shares the partitions.
  auto topic = std::make_shared<Topic>(*existing->second);
  topic->configs = configs;
  auto next = std::make_shared<TopicMap>(*current);
  next->by_name[name] = topic;
  next->by_id[topic->id.bytes] = topic;
  if (Status saved = save_topic_configs(*next); !saved.is_ok()) {
    result.error = ErrorCode::kafka_storage_error;
    result.message = saved.to_string();
    return result;
  }
  topics_.store(next, std::memory_order_release);
  for (const auto& partition : topic->partitions) partition->message_bytes_max.store(settings->message_bytes_max);
  result.topic = topic;
  LOG_INFO("topic_configs_altered", "topic=%s count=%zu", name.c_str(), configs.size());
  return result;
}

std::shared_ptr<const Topic> TopicRegistry::remove(const std::string& name) {
  std::lock_guard lock(create_mutex_);
  auto current = snapshot();
  auto existing = current->by_name.find(name);
  if (existing == current->by_name.end()) return nullptr;
  std::shared_ptr<const Topic> topic = existing->second;
  auto next = std::make_shared<TopicMap>(*current);
  next->by_name.erase(name);
  next->by_id.erase(topic->id.bytes);
  for (const auto& partition : topic->partitions) partition->deleted.store(true, std::memory_order_release);
  topics_.store(next, std::memory_order_release);
  if (Status saved = save_topic_configs(*next); !saved.is_ok())
    LOG_ERROR("topic_configs_save_failed", "error=\"%s\"", saved.to_string().c_str());
  LOG_INFO("topic_deleted", "topic=%s partitions=%zu", name.c_str(), topic->partitions.size());
  return topic;
}

TopicSettings TopicRegistry::settings_for(const std::map<std::string, std::string>& own) const {
  Topic shape;
  shape.configs = own;
  const auto configs = effective_configs(shape);
  auto number = [&configs](const char* key, std::int64_t fallback) {
    std::int64_t value = 0;
    auto it = configs.find(key);
    return it != configs.end() && parse_int64(it->second, value) ? value : fallback;
  };
  auto text = [&configs](const char* key) {
    auto it = configs.find(key);
    return it == configs.end() ? std::string() : it->second;
  };
  TopicSettings settings;
  settings.message_bytes_max = static_cast<std::uint32_t>(number("max.message.bytes", settings.message_bytes_max));
  settings.log_append_time = text("message.timestamp.type") == "LogAppendTime";
  settings.log.segment_bytes = static_cast<std::uint64_t>(number("segment.bytes", 1 << 30));
  settings.log.segment_ms = number("segment.ms", settings.log.segment_ms);
  settings.log.index_interval_bytes = static_cast<std::uint32_t>(number("index.interval.bytes", 4096));
  settings.log.index_bytes_max = static_cast<std::uint32_t>(number("segment.index.bytes", 10 << 20));
  settings.flush_durable = text("flush.mode") != "async";
  settings.flush_messages = number("flush.messages", INT64_MAX);
  settings.flush_ms = number("flush.ms", INT64_MAX);
  const std::string policy = text("cleanup.policy");
  settings.cleanup_delete = policy.find("delete") != std::string::npos;
  settings.cleanup_compact = policy.find("compact") != std::string::npos;
  settings.retention_ms = number("retention.ms", settings.retention_ms);
  settings.retention_bytes = number("retention.bytes", -1);
  double ratio = 0.5;
  std::string ratio_text = text("min.cleanable.dirty.ratio");
  auto [end, error] = std::from_chars(ratio_text.data(), ratio_text.data() + ratio_text.size(), ratio);
  settings.min_cleanable_ratio = error == std::errc() ? ratio : 0.5;
  settings.min_compaction_lag_ms = number("min.compaction.lag.ms", 0);
  settings.max_compaction_lag_ms = number("max.compaction.lag.ms", INT64_MAX);
  settings.delete_retention_ms = number("delete.retention.ms", 86400000);
  return settings;
}

int TopicRegistry::owner_for(const std::string& topic, std::int32_t partition) const {
  std::size_t hash = std::hash<std::string>{}(topic) * 31 + static_cast<std::size_t>(partition);
  return static_cast<int>(hash % static_cast<std::size_t>(io_thread_count_));
}

std::shared_ptr<const Topic> TopicRegistry::find(std::string_view name) const {
  auto map = snapshot();
  auto it = map->by_name.find(name);
  return it == map->by_name.end() ? nullptr : it->second;
}

std::shared_ptr<const Topic> TopicRegistry::find(const Uuid& id) const {
  auto map = snapshot();
  auto it = map->by_id.find(id.bytes);
  return it == map->by_id.end() ? nullptr : it->second;
}

Result<std::map<std::string, std::map<std::string, std::string>>> TopicRegistry::load_topic_configs() {
  std::map<std::string, std::map<std::string, std::string>> configs;
  auto text = storage::read_whole_file(log_dir_ / topic_configs_file);
  if (!text.is_ok()) {
    if (text.status().errno_value() == ENOENT) return configs;
    return text.status();
  }
  std::istringstream in(text.value());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::size_t space = line.find(' ');
    std::size_t equals = line.find('=', space == std::string::npos ? 0 : space);
    if (space == std::string::npos || equals == std::string::npos) continue;
    configs[line.substr(0, space)][line.substr(space + 1, equals - space - 1)] = line.substr(equals + 1);
  }
  return configs;
}

Status TopicRegistry::save_topic_configs(const TopicMap& map) {
  std::string text = "# topic config overrides: <topic> <key>=<value>\n";
  for (const auto& [name, topic] : map.by_name)
    for (const auto& [key, value] : topic->configs) text += name + " " + key + "=" + value + "\n";
  return storage::write_file_atomically(log_dir_ / topic_configs_file, text);
}

std::string TopicRegistry::check_partition_limits(const TopicMap& current, std::int32_t partition_count) const {
  std::int64_t existing = 0;
  for (const auto& [name, topic] : current.by_name) existing += static_cast<std::int64_t>(topic->partitions.size());
  if (existing + partition_count > config_.partitions_max)
    return "the broker would hold " + std::to_string(existing + partition_count) + " partitions, over partitions.max=" +
           std::to_string(config_.partitions_max);
  // Each segment keeps its .log open (indexes hold no fd), so an idle partition costs one; keep
  // room for sockets and the extra segments of busy partitions.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    std::int64_t needed = existing + partition_count + 1024;
    if (needed > static_cast<std::int64_t>(files.rlim_cur))
      return "not enough file descriptors for " + std::to_string(existing + partition_count) +
             " partitions (open files limit " + std::to_string(files.rlim_cur) + "; raise LimitNOFILE)";
  }
  return "";
}

std::shared_ptr<Partition> TopicRegistry::make_partition(const Topic& topic, std::int32_t index,
                                                         const TopicSettings& settings, Status* status) {
  auto partition = std::make_shared<Partition>();
  partition->topic = topic.name;
  partition->index = index;
  partition->topic_id = topic.id;
  partition->io_thread = owner_for(topic.name, index);
  partition->settings = settings;
  partition->message_bytes_max.store(settings.message_bytes_max);
  auto dir = log_dir_ / storage::partition_dir_name(topic.name, index);
  auto log = storage::Log::open(dir, settings.log, 0, true);
  // Synced and published with the other new partitions' by make_partitions.
  *status = log.is_ok() ? storage::write_new_partition_metadata(dir, topic.id) : log.status();
  if (!status->is_ok()) {
    LOG_ERROR("partition_create_failed", "topic=%s partition=%d error=\"%s\"", topic.name.c_str(), index,
              status->to_string().c_str());
    return nullptr;
  }
  partition->log = std::move(log).value();
  partition->log->producer_state().set_producers_max(static_cast<std::size_t>(config_.producers_max));
  return partition;
}

Status TopicRegistry::make_partitions(Topic& topic, std::int32_t total_count, const TopicSettings& settings) {
  const auto first = static_cast<std::int32_t>(topic.partitions.size());
  // Leaves no partial partitions behind: their directories would be loaded at the next start.
  auto discard = [&](std::int32_t end, Status failure) {
    topic.partitions.resize(static_cast<std::size_t>(first));
    for (std::int32_t created = first; created < end; ++created) {
      std::error_code ignored;
      std::filesystem::remove_all(log_dir_ / storage::partition_dir_name(topic.name, created), ignored);
    }
    return failure;
  };
  std::vector<std::filesystem::path> files, dirs;
  for (std::int32_t index = first; index < total_count; ++index) {
    Status made;
    auto partition = make_partition(topic, index, settings, &made);
    if (!made.is_ok()) return discard(index + 1, made);
    files.push_back(storage::partition_metadata_tmp(partition->log->dir()));
    dirs.push_back(partition->log->dir());
    topic.partitions.push_back(std::move(partition));
  }
  // In batches (concurrent fsyncs share the file system's journal commits; one after another,
  // 10,000 partitions took 20 s): every new metadata file is synced before it gets its final
  // name, then the directories that hold those names and the segment files', then the log dir
  // that holds the directories' names. Without the last, a power cut after the answer could lose
  // a partition directory, and a start refuses a topic with a gap in its partitions.
  Status synced = storage::fsync_all(files);
  for (std::size_t i = 0; synced.is_ok() && i < dirs.size(); ++i) synced = storage::publish_partition_metadata(dirs[i]);
  if (synced.is_ok()) synced = storage::fsync_all(dirs);
  if (synced.is_ok()) synced = storage::fsync_dir(log_dir_);
  if (!synced.is_ok()) {
    LOG_ERROR("partition_create_failed", "topic=%s error=\"%s\"", topic.name.c_str(), synced.to_string().c_str());
    return discard(total_count, synced);
  }
  return Status::ok();
}

CreateTopicResult TopicRegistry::add_partitions(const std::string& name, std::int32_t total_count, bool validate_only) {
  CreateTopicResult result;
  std::lock_guard lock(create_mutex_);
  auto current = snapshot();
  auto existing = current->by_name.find(name);
  if (existing == current->by_name.end()) {
    result.error = ErrorCode::unknown_topic_or_partition;
    result.message = "topic '" + name + "' does not exist";
    return result;
  }
  const auto& old_topic = *existing->second;
  const auto have = static_cast<std::int32_t>(old_topic.partitions.size());
  if (total_count <= have) {
    result.error = ErrorCode::invalid_partitions;
    result.message = "topic '" + name + "' has " + std::to_string(have) + " partitions; the new count must be larger, not " +
                     std::to_string(total_count);
    return result;
  }
  if (total_count > 100000) {
    result.error = ErrorCode::invalid_partitions;
    result.message = "number of partitions must be at most 100000";
    return result;
  }
  if (std::string limit = check_partition_limits(*current, total_count - have); !limit.empty()) {
    result.error = ErrorCode::policy_violation;
    result.message = limit;
    return result;
  }
  if (validate_only) return result;
  auto topic = std::make_shared<Topic>(old_topic);
  if (Status made = make_partitions(*topic, total_count, settings_for(topic->configs)); !made.is_ok()) {
    result.error = ErrorCode::kafka_storage_error;
    result.message = made.to_string();
    return result;
  }
  auto next = std::make_shared<TopicMap>(*current);
  next->by_name[name] = topic;
  next->by_id[topic->id.bytes] = topic;
  topics_.store(next, std::memory_order_release);
  LOG_INFO("partitions_created", "topic=%s from=%d to=%d", name.c_str(), have, total_count);
  result.topic = topic;
  return result;
}

CreateTopicResult TopicRegistry::create(const std::string& name, std::int32_t partition_count,
                                        const std::map<std::string, std::string>& configs,
                                        bool validate_only) {
  CreateTopicResult result;
  if (!valid_topic_name(name)) {
    result.error = ErrorCode::invalid_topic_exception;
    result.message = "invalid topic name '" + name + "'";
    return result;
  }
  if (partition_count < 1 || partition_count > 100000) {
    result.error = ErrorCode::invalid_partitions;
    result.message = "number of partitions must be 1-100000";
    return result;
  }
  for (const auto& [key, value] : configs) {
    std::string problem = check_topic_config(key, value);
    if (!problem.empty()) {
      result.error = ErrorCode::invalid_config;
      result.message = problem;
      return result;
    }
  }
  std::lock_guard lock(create_mutex_);
  auto current = snapshot();
  std::string limit_problem = check_partition_limits(*current, partition_count);
  if (!limit_problem.empty()) {
    result.error = ErrorCode::policy_violation;
    result.message = limit_problem;
    return result;
  }
  if (auto existing = current->by_name.find(name); existing != current->by_name.end()) {
    result.error = ErrorCode::topic_already_exists;
    result.message = "topic '" + name + "' already exists";
    result.topic = existing->second;
    return result;
  }
  if (validate_only) return result;
  auto topic = std::make_shared<Topic>();
  topic->name = name;
  topic->id = Uuid::random();
  topic->internal = name.rfind("__", 0) == 0;
  topic->configs = configs;
  TopicSettings settings = settings_for(configs);
  if (Status made = make_partitions(*topic, partition_count, settings); !made.is_ok()) {
    result.error = ErrorCode::kafka_storage_error;
    result.message = made.to_string();
    return result;
  }
  auto next = std::make_shared<TopicMap>(*current);
  next->by_name[name] = topic;
  next->by_id[topic->id.bytes] = topic;
  if (!configs.empty()) {
    Status saved = save_topic_configs(*next);
    if (!saved.is_ok()) LOG_ERROR("topic_configs_save_failed", "error=\"%s\"", saved.to_string().c_str());
  }
  topics_.store(next, std::memory_order_release);
  LOG_INFO("topic_created", "topic=%s partitions=%d id=%s", name.c_str(), partition_count, topic->id.to_base64().c_str());
  result.topic = topic;
  return result;
}

}  // namespace sluice::broker
