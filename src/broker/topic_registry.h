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
#include "broker/config_catalog.h"
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

  // CreatePartitions: grows the topic to `total_count` partitions (never shrinks). The new
  // partitions' directories and empty logs are made before the bigger topic is published.
  CreateTopicResult add_partitions(const std::string& name, std::int32_t total_count, bool validate_only);

  // Kafka's rules: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
  static bool valid_topic_name(std::string_view name);
  // Checks one topic config key and value; returns an error message naming the key, or "".
  static std::string check_topic_config(const std::string& key, const std::string& value);
  // Every topic config with its value for this topic (its own, else the broker's layers).
  std::map<std::string, std::string> effective_configs(const Topic& topic) const;
  // The layers behind a topic's configs, for DescribeConfigs (`topic` may be null: broker only).
  // The maps stay valid while the returned holder lives.
  struct LayersHolder {
    std::shared_ptr<const std::map<std::string, std::string>> dynamic_broker, dynamic_default;
    ConfigLayers layers;
  };
  LayersHolder config_layers(const Topic* topic) const;

  // Broker configs changed at run time (AlterConfigs / IncrementalAlterConfigs on a BROKER
  // resource): `for_every_broker` is the cluster default (resource name ""), else this broker's.
  // `configs` replaces that layer whole. Checks each key (dynamic ones only), stores the layer in
  // the log directory (it survives restarts, over the properties file), and returns, for each
  // topic whose settings changed, the settings its partitions must now run with.
  struct BrokerConfigChange {
    ErrorCode error = ErrorCode::none;
    std::string message;
    std::vector<std::pair<std::shared_ptr<const Topic>, TopicSettings>> topics;
  };
  BrokerConfigChange alter_broker_configs(bool for_every_broker, const std::map<std::string, std::string>& configs,
                                          bool validate_only);
  std::map<std::string, std::string> dynamic_broker_configs(bool for_every_broker) const;

 private:
  // Why `partition_count` more partitions cannot be created (partitions.max, open-files limit), or "".
  std::string check_partition_limits(const TopicMap& current, std::int32_t partition_count) const;
  // The settings a topic with these own configs runs with, through the broker's layers.
  TopicSettings settings_for(const std::map<std::string, std::string>& configs) const;
  std::shared_ptr<Partition> make_partition(const Topic& topic, std::int32_t index, const TopicSettings& settings,
                                            Status* status);
  // Appends partitions until the topic has total_count, each with its directory and empty log; on
  // a failure removes the ones it made (directories included) and returns the error.
  Status make_partitions(Topic& topic, std::int32_t total_count, const TopicSettings& settings);
  Status save_broker_configs();
  Status load_broker_configs();
  int owner_for(const std::string& topic, std::int32_t partition) const;
  // A log just opened at start-up: sync a recovered tail (durable mode), set the high watermark,
  // bound and expire its producer state.
  Status prepare_loaded_log(Partition& partition) const;
  // Threads that open the logs at start-up: num.recovery.threads.per.data.dir, or with 0 one per
  // CPU this process may run on.
  std::size_t recovery_threads() const;
  Status save_topic_configs(const TopicMap& map);
  Result<std::map<std::string, std::map<std::string, std::string>>> load_topic_configs();

  const Config& config_;
  std::filesystem::path log_dir_;
  int io_thread_count_;
  std::mutex create_mutex_;  // serializes every change (topics, configs)
  std::atomic<std::shared_ptr<const TopicMap>> topics_;
  // The run-time broker config layers (broker keys), replaced whole under create_mutex_.
  std::atomic<std::shared_ptr<const std::map<std::string, std::string>>> dynamic_broker_, dynamic_default_;
};

// The file in the log directory where Sluice keeps topic configs that differ from the broker's
// defaults (Kafka keeps them in its metadata log, which a single Sluice node does not have).
inline constexpr const char* topic_configs_file = "sluice-topic-configs";
// Broker configs set at run time: "<broker|default> <key>=<value>" lines.
inline constexpr const char* broker_configs_file = "sluice-broker-configs";

}  // namespace sluice::broker
