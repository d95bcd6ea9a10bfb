#include "broker/topic_registry.h"

#include <sys/resource.h>

#include <charconv>
#include <functional>
#include <sstream>

#include "base/clock.h"
#include "base/log.h"

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
  std::int64_t number = 0;
  if (key == "cleanup.policy") {
    if (value == "delete" || value == "compact" || value == "compact,delete" || value == "delete,compact") return "";
    return "cleanup.policy must be delete and/or compact";
  }
  if (key == "flush.mode") return value == "durable" || value == "async" ? "" : "flush.mode must be durable or async";
  if (key == "message.timestamp.type") {
    return value == "CreateTime" || value == "LogAppendTime" ? "" : "message.timestamp.type must be CreateTime or LogAppendTime";
  }
  static const std::map<std::string, std::int64_t> numeric_min = {
      {"segment.bytes", 14}, {"segment.ms", 1}, {"max.message.bytes", 0}, {"index.interval.bytes", 0},
      {"retention.ms", -1}, {"retention.bytes", -1}, {"segment.index.bytes", 4096},
      {"flush.messages", 1}, {"flush.ms", 0}, {"min.insync.replicas", 1},
      {"delete.retention.ms", 0}, {"min.compaction.lag.ms", 0}, {"max.compaction.lag.ms", 1},
      {"min.cleanable.dirty.ratio", 0}, {"file.delete.delay.ms", 0}, {"segment.jitter.ms", 0},
      {"message.timestamp.difference.max.ms", 0}, {"message.timestamp.before.max.ms", 0},
      {"message.timestamp.after.max.ms", 0}, {"local.retention.ms", -2}, {"local.retention.bytes", -2},
  };
  auto numeric = numeric_min.find(key);
  if (numeric != numeric_min.end()) {
    if (key == "min.cleanable.dirty.ratio") return "";  // a double; checked by the compaction issue
    if (!parse_int64(value, number) || number < numeric->second) return "invalid value for " + key;
    return "";
  }
  static const char* const text_keys[] = {"compression.type", "preallocate", "unclean.leader.election.enable",
                                          "message.downconversion.enable", "follower.replication.throttled.replicas",
                                          "leader.replication.throttled.replicas", "remote.storage.enable",
                                          "message.format.version"};
  for (const char* text_key : text_keys)
    if (key == text_key) return "";
  return "unknown topic config " + key;
}

std::map<std::string, std::string> TopicRegistry::effective_configs(const Topic& topic) const {
  auto configs = config_.topic_defaults();
  for (const auto& [key, value] : topic.configs) configs[key] = value;
  return configs;
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

TopicSettings TopicRegistry::settings_for(const std::map<std::string, std::string>& configs) const {
  TopicSettings settings;
  settings.message_bytes_max = config_.message_bytes_max;
  settings.log_append_time = config_.log_append_time;
  settings.log.segment_bytes = config_.segment_bytes;
  settings.log.segment_ms = config_.segment_ms;
  settings.log.index_interval_bytes = config_.index_interval_bytes;
  settings.log.index_bytes_max = config_.index_bytes_max;
  settings.flush_durable = config_.flush_durable;
  settings.retention_ms = config_.retention_ms;
  settings.retention_bytes = config_.retention_bytes;
  settings.flush_messages = config_.flush_messages;
  settings.flush_ms = config_.flush_ms;
  std::int64_t number = 0;
  for (const auto& [key, value] : configs) {
    if (key == "max.message.bytes" && parse_int64(value, number)) settings.message_bytes_max = static_cast<std::uint32_t>(number);
    if (key == "message.timestamp.type") settings.log_append_time = value == "LogAppendTime";
    if (key == "segment.bytes" && parse_int64(value, number)) settings.log.segment_bytes = static_cast<std::uint64_t>(number);
    if (key == "segment.ms" && parse_int64(value, number)) settings.log.segment_ms = number;
    if (key == "index.interval.bytes" && parse_int64(value, number)) settings.log.index_interval_bytes = static_cast<std::uint32_t>(number);
    if (key == "segment.index.bytes" && parse_int64(value, number)) settings.log.index_bytes_max = static_cast<std::uint32_t>(number);
    if (key == "flush.mode") settings.flush_durable = value == "durable";
    if (key == "cleanup.policy") settings.cleanup_delete = value.find("delete") != std::string::npos;
    if (key == "retention.ms" && parse_int64(value, number)) settings.retention_ms = number;
    if (key == "retention.bytes" && parse_int64(value, number)) settings.retention_bytes = number;
    if (key == "flush.messages" && parse_int64(value, number)) settings.flush_messages = number;
    if (key == "flush.ms" && parse_int64(value, number)) settings.flush_ms = number;
  }
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

Status TopicRegistry::prepare_loaded_log(Partition& partition) const {
  storage::Log& log = *partition.log;
  // After a crash the recovered tail may still be only in the page cache. In durable mode the
  // high watermark is the durable point, so sync it before anyone can read it.
  if (partition.settings.flush_durable && log.recovery_point() < log.log_end_offset()) {
    LOG_INFO("storage.flush_recovered_tail", "dir=%s from=%lld to=%lld", log.dir().c_str(),
             (long long)log.recovery_point(), (long long)log.log_end_offset());
    if (Status s = log.flush(); !s.is_ok()) return s;
  }
  log.set_high_watermark(log.log_end_offset());
  auto& producers = log.producer_state();
  producers.set_producers_max(static_cast<std::size_t>(config_.producers_max));
  producers.expire(wall_ms(), config_.producer_expiration_ms);
  return Status::ok();
}

Status TopicRegistry::load(bool clean_shutdown, const storage::OffsetCheckpoint& recovery_points,
                           const storage::OffsetCheckpoint& log_start_offsets) {
  // A topic deletion cut short by a crash leaves <topic>-<partition>.<id>-delete: finish it.
  std::error_code listing;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir_, listing)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(listing) && name.size() > 7 && name.compare(name.size() - 7, 7, "-delete") == 0) {
      std::error_code ignored;
      std::filesystem::remove_all(entry.path(), ignored);
      LOG_INFO("deleted_topic_leftover_removed", "dir=%s", entry.path().c_str());
    }
  }
  auto dirs = storage::list_partition_dirs(log_dir_);
  if (!dirs.is_ok()) return dirs.status();
  auto configs = load_topic_configs();
  if (!configs.is_ok()) return configs.status();
  auto map = std::make_shared<TopicMap>();
  for (const auto& dir : dirs.value()) {
    auto& topic = map->by_name[dir.topic];
    if (!topic) {
      topic = std::make_shared<Topic>();
      topic->name = dir.topic;
      topic->internal = dir.topic.rfind("__", 0) == 0;
      topic->configs = configs.value()[dir.topic];
    }
    auto partition = std::make_shared<Partition>();
    partition->topic = dir.topic;
    partition->index = dir.partition;
    partition->io_thread = owner_for(dir.topic, dir.partition);
    partition->settings = settings_for(topic->configs);
    partition->message_bytes_max.store(partition->settings.message_bytes_max);
    auto id = storage::read_partition_metadata(dir.path);
    if (!id.is_ok()) return id.status();
    if (id.value().has_value()) {
      if (!topic->id.is_zero() && !(topic->id == *id.value()))
        return Status::error("partition " + dir.path.string() + " has a different topic id than its siblings");
      topic->id = *id.value();
    }
    auto point = recovery_points.find({dir.topic, dir.partition});
    std::int64_t recovery_point = point == recovery_points.end() ? 0 : point->second;
    auto log = storage::Log::open(dir.path, partition->settings.log, recovery_point, clean_shutdown);
    if (!log.is_ok()) return log.status();
    partition->log = std::move(log).value();
    if (auto start = log_start_offsets.find({dir.topic, dir.partition}); start != log_start_offsets.end())
      partition->log->restore_log_start_offset(start->second);
    if (Status s = prepare_loaded_log(*partition); !s.is_ok()) return s;
    auto epochs = partition->log->epoch_entries();
    if (!epochs.empty()) partition->leader_epoch = epochs.back().epoch;
    topic->partitions.push_back(std::move(partition));
  }
  for (auto& [name, topic] : map->by_name) {
    // Partition directories must be 0..n-1; a gap means a damaged directory.
    for (std::size_t i = 0; i < topic->partitions.size(); ++i) {
      if (topic->partitions[i]->index != static_cast<std::int32_t>(i))
        return Status::error("topic " + name + " is missing partition " + std::to_string(i));
    }
    if (topic->id.is_zero()) {
      topic->id = Uuid::random();
      for (auto& partition : topic->partitions) {
        Status written = storage::write_partition_metadata(partition->log->dir(), topic->id);
        if (!written.is_ok()) return written;
      }
    }
    for (auto& partition : topic->partitions) partition->topic_id = topic->id;
    map->by_id[topic->id.bytes] = topic;
    LOG_INFO("topic_loaded", "topic=%s partitions=%zu id=%s", name.c_str(), topic->partitions.size(),
             topic->id.to_base64().c_str());
  }
  topics_.store(std::move(map), std::memory_order_release);
  return Status::ok();
}

std::string TopicRegistry::check_partition_limits(const TopicMap& current, std::int32_t partition_count) const {
  std::int64_t existing = 0;
  for (const auto& [name, topic] : current.by_name) existing += static_cast<std::int64_t>(topic->partitions.size());
  if (existing + partition_count > config_.partitions_max)
    return "the broker would hold " + std::to_string(existing + partition_count) + " partitions, over partitions.max=" +
           std::to_string(config_.partitions_max);
  // Each partition keeps its segment, offset index and time index open; keep room for sockets.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    std::int64_t needed = (existing + partition_count) * 3 + 1024;
    if (needed > static_cast<std::int64_t>(files.rlim_cur))
      return "not enough file descriptors for " + std::to_string(existing + partition_count) +
             " partitions (open files limit " + std::to_string(files.rlim_cur) + "; raise LimitNOFILE)";
  }
  return "";
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
  for (std::int32_t index = 0; index < partition_count; ++index) {
    auto partition = std::make_shared<Partition>();
    partition->topic = name;
    partition->index = index;
    partition->topic_id = topic->id;
    partition->io_thread = owner_for(name, index);
    partition->settings = settings;
    partition->message_bytes_max.store(settings.message_bytes_max);
    auto dir = log_dir_ / storage::partition_dir_name(name, index);
    auto log = storage::Log::open(dir, settings.log, 0, true);
    Status written = log.is_ok() ? storage::write_partition_metadata(dir, topic->id) : log.status();
    if (!written.is_ok()) {
      LOG_ERROR("topic_create_failed", "topic=%s error=\"%s\"", name.c_str(), written.to_string().c_str());
      // Leave no partial topic behind: its directories would be loaded at the next start.
      topic->partitions.clear();
      for (std::int32_t created = 0; created <= index; ++created) {
        std::error_code ignored;
        std::filesystem::remove_all(log_dir_ / storage::partition_dir_name(name, created), ignored);
      }
      result.error = ErrorCode::kafka_storage_error;
      result.message = written.to_string();
      return result;
    }
    partition->log = std::move(log).value();
    partition->log->producer_state().set_producers_max(static_cast<std::size_t>(config_.producers_max));
    topic->partitions.push_back(std::move(partition));
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
