// TopicRegistry's start-up: every partition directory of the log dir becomes a loaded log (opened,
// and after a crash recovered, on num.recovery.threads.per.data.dir threads), grouped into topics.
#include "broker/topic_registry.h"

#include <sched.h>

#include <algorithm>
#include <filesystem>

#include "base/clock.h"
#include "base/log.h"
#include "base/parallel.h"
#include "storage/segment.h"

namespace sluice::broker {

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

std::size_t TopicRegistry::recovery_threads() const {
  if (config_.recovery_threads > 0) return static_cast<std::size_t>(config_.recovery_threads);
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 1;
  return static_cast<std::size_t>(std::max(CPU_COUNT(&allowed), 1));
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
  if (Status loaded = load_broker_configs(); !loaded.is_ok()) return loaded;
  auto dirs = storage::list_partition_dirs(log_dir_);
  if (!dirs.is_ok()) return dirs.status();
  auto configs = load_topic_configs();
  if (!configs.is_ok()) return configs.status();
  auto map = std::make_shared<TopicMap>();
  // Each partition's log is opened (and, after a crash, recovered from its recovery point) on one
  // of num.recovery.threads.per.data.dir threads; the topics are put together afterwards in
  // directory order, so the first failure in that order is the one reported.
  struct Loading {
    const storage::PartitionDir* dir;
    std::shared_ptr<Topic> topic;
    std::shared_ptr<Partition> partition;
    std::optional<Uuid> topic_id;  // from partition.metadata
    Status status;
  };
  std::vector<Loading> loading;
  loading.reserve(dirs.value().size());
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
    loading.push_back({&dir, topic, std::move(partition), std::nullopt, Status::ok()});
  }
  for_each_parallel(loading.size(), recovery_threads(), [&](std::size_t i) {
    Loading& item = loading[i];
    Partition& partition = *item.partition;
    auto id = storage::read_partition_metadata(item.dir->path);
    if (!id.is_ok()) {
      item.status = id.status();
      return;
    }
    item.topic_id = id.value();
    auto point = recovery_points.find({partition.topic, partition.index});
    std::int64_t recovery_point = point == recovery_points.end() ? 0 : point->second;
    auto log = storage::Log::open(item.dir->path, partition.settings.log, recovery_point, clean_shutdown);
    if (!log.is_ok()) {
      item.status = log.status();
      return;
    }
    partition.log = std::move(log).value();
    if (auto start = log_start_offsets.find({partition.topic, partition.index}); start != log_start_offsets.end())
      partition.log->restore_log_start_offset(start->second);
    item.status = prepare_loaded_log(partition);
    if (!item.status.is_ok()) return;
    auto epochs = partition.log->epoch_entries();
    if (!epochs.empty()) partition.leader_epoch = epochs.back().epoch;
  });
  for (auto& item : loading) {
    if (!item.status.is_ok()) return item.status;
    Topic& topic = *item.topic;
    if (item.topic_id.has_value()) {
      if (!topic.id.is_zero() && !(topic.id == *item.topic_id))
        return Status::error("partition " + item.dir->path.string() + " has a different topic id than its siblings");
      topic.id = *item.topic_id;
    }
    topic.partitions.push_back(std::move(item.partition));
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

}  // namespace sluice::broker
