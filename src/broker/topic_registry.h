// The topics of this broker: loaded from the log directory at start-up, created by CreateTopics
// or Metadata auto-creation, looked up by every request.
//
// Threads: find() and snapshot() from any thread, lock-free (an immutable map published
// atomically). create() from any thread; creations are serialized by a mutex and do their file
// work (directories, partition.metadata, empty segments) before the topic becomes visible.
#pragma once

#include <array>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/config.h"
#include "base/error_code.h"
#include "broker/partition.h"
#include "storage/log_dir.h"

namespace sluice::broker {

struct TopicMap {
  std::map<std::string, std::shared_ptr<Topic>, std::less<>> by_name;
  std::map<std::array<std::uint8_t, 16>, std::shared_ptr<Topic>> by_id;  // the same topics (Fetch v13)
};

struct CreateTopicResult {
  ErrorCode error = ErrorCode::none;
  std::string message;
  std::shared_ptr<const Topic> topic;
};

class TopicRegistry {
 public:
  TopicRegistry(const Config& config, std::filesystem::path log_dir, int io_thread_count);

  // Opens every partition directory. Requires: called once, before serving.
  Status load(bool clean_shutdown, const storage::OffsetCheckpoint& recovery_points,
              const storage::OffsetCheckpoint& log_start_offsets);

  std::shared_ptr<const Topic> find(std::string_view name) const;
  std::shared_ptr<const Topic> find(const Uuid& id) const;
  std::shared_ptr<const TopicMap> snapshot() const { return topics_.load(std::memory_order_acquire); }

  // Creates a topic with `partition_count` partitions. validate_only checks without creating.
  CreateTopicResult create(const std::string& name, std::int32_t partition_count,
                           const std::map<std::string, std::string>& configs, bool validate_only);

  // Replaces a topic's explicitly set configs (AlterConfigs; IncrementalAlterConfigs computes the
  // map first). Checks every key, stores the configs (they survive restarts) and publishes the
  // topic with them; on success *settings are what its partitions must now run with (the caller
  // hands them to each partition's I/O thread). validate_only checks only.
  CreateTopicResult alter_configs(const std::string& name, const std::map<std::string, std::string>& configs,
                                  bool validate_only, TopicSettings* settings);

  // Removes a topic from the map (DeleteTopics) and rewrites the stored configs. Returns the topic
  // (its partitions still hold their logs: the caller deletes them on their I/O threads), or null
  // when there is no such topic.
  std::shared_ptr<const Topic> remove(const std::string& name);

  // Kafka's rules: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
  static bool valid_topic_name(std::string_view name);
  // Checks one topic config key and value; returns an error message or "".
  static std::string check_topic_config(const std::string& key, const std::string& value);
  // Broker defaults with the topic's own configs over them.
  std::map<std::string, std::string> effective_configs(const Topic& topic) const;

 private:
  // Why `partition_count` more partitions cannot be created (partitions.max, open-files limit), or "".
  std::string check_partition_limits(const TopicMap& current, std::int32_t partition_count) const;
  TopicSettings settings_for(const std::map<std::string, std::string>& configs) const;
  int owner_for(const std::string& topic, std::int32_t partition) const;
  // A log just opened at start-up: sync a recovered tail (durable mode), set the high watermark,
  // bound and expire its producer state.
  Status prepare_loaded_log(Partition& partition) const;
  Status save_topic_configs(const TopicMap& map);
  Result<std::map<std::string, std::map<std::string, std::string>>> load_topic_configs();

  const Config& config_;
  std::filesystem::path log_dir_;
  int io_thread_count_;
  std::mutex create_mutex_;
  std::atomic<std::shared_ptr<const TopicMap>> topics_;
};

// The file in the log directory where Sluice keeps topic configs that differ from the broker's
// defaults (Kafka keeps them in its metadata log, which a single Sluice node does not have).
inline constexpr const char* topic_configs_file = "sluice-topic-configs";

}  // namespace sluice::broker
