// A topic and its partitions as the broker sees them.
//
// A Partition's log is appended to only by its owning I/O thread (io_thread); any thread may read
// it (storage::Log publishes snapshots). fetch_waiters has one bit per network thread with a
// parked fetch on this partition: the appender clears it and wakes those threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/uuid.h"
#include "storage/log.h"

namespace sluice::broker {

struct TopicSettings {
  std::uint32_t message_bytes_max = 1048588;  // max.message.bytes
  bool log_append_time = false;               // message.timestamp.type=LogAppendTime
  storage::LogConfig log;
};

struct Partition {
  std::string topic;
  std::int32_t index = 0;
  Uuid topic_id;
  int io_thread = 0;
  std::int32_t leader_epoch = 0;
  TopicSettings settings;
  std::unique_ptr<storage::Log> log;
  std::atomic<std::uint64_t> fetch_waiters{0};
};

struct Topic {
  std::string name;
  Uuid id;
  bool internal = false;
  std::map<std::string, std::string> configs;  // explicitly set topic configs
  std::vector<std::shared_ptr<Partition>> partitions;
};

// Appends one batch to the partition's log and moves the high watermark past it (on one node,
// what is appended is committed; the durability issue moves this to the flush point). Logs a
// failure. Owner I/O thread only; the caller wakes parked fetches.
Result<storage::AppendInfo> append_and_commit(Partition& partition, std::span<std::byte> batch, std::int64_t now_ms);

}  // namespace sluice::broker
