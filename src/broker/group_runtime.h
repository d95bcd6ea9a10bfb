// Broker::GroupRuntime: the GroupEnvironment of one I/O thread (its loop's timers, appends to the
// __consumer_offsets partitions it owns) and that thread's GroupCoordinator.
// Threads: everything runs on the I/O thread, except loading at start-up (before serving).
#pragma once

#include "base/clock.h"
#include "broker/broker.h"

namespace sluice::broker {

inline constexpr const char* consumer_offsets_topic = "__consumer_offsets";

class Broker::GroupRuntime : public GroupEnvironment {
 public:
  GroupRuntime(Broker& broker, IoThread& thread, const GroupConfig& config)
      : broker_(broker), thread_(thread), coordinator(config, *this) {}

  std::int64_t now_ms() override { return wall_ms(); }
  TimerId add_timer(std::int64_t delay_ms, std::function<void()> task) override {
    return thread_.loop().add_timer(delay_ms, std::move(task));
  }
  void cancel_timer(TimerId id) override {
    if (id != 0) thread_.loop().cancel_timer(id);
  }
  void persist(const std::string& group_id, std::vector<Record> records, std::function<void(ErrorCode)> done) override {
    const auto& partitions = broker_.consumer_offsets_->partitions;
    auto index = consumer_offsets_partition_for(group_id, static_cast<std::int32_t>(partitions.size()));
    Partition& partition = *partitions[static_cast<std::size_t>(index)];
    SLUICE_ASSERT(partition.io_thread == thread_.index(), "group %s handled on io thread %d, partition owned by %d",
                  group_id.c_str(), thread_.index(), partition.io_thread);
    broker_.append_internal(partition, records, std::move(done));
  }
  bool partition_exists(const std::string& topic, std::int32_t partition) override {
    auto found = broker_.registry_->find(topic);
    return found && partition >= 0 && static_cast<std::size_t>(partition) < found->partitions.size();
  }

 private:
  Broker& broker_;
  IoThread& thread_;

 public:
  GroupCoordinator coordinator;
};

}  // namespace sluice::broker
