// A topic and its partitions as the broker sees them.
//
// A Partition's log is appended to only by its owning I/O thread (io_thread); any thread may read
// it (storage::Log publishes snapshots). fetch_waiters has one bit per network thread with a
// parked fetch on this partition: the appender clears it and wakes those threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/uuid.h"
#include "metrics/histogram.h"
#include "storage/flusher.h"
#include "storage/log.h"

namespace sluice::broker {

struct TopicSettings {
  std::uint32_t message_bytes_max = 1048588;  // max.message.bytes
  bool log_append_time = false;               // message.timestamp.type=LogAppendTime
  storage::LogConfig log;
  // Durability (see Broker::commit): in durable mode the high watermark is the log's durable
  // point and acks=all waits for it; in async mode it is the log end, and the log is synced
  // every flush_messages messages or flush_ms milliseconds (Kafka's flush.messages / flush.ms).
  bool flush_durable = true;                  // flush.mode
  std::int64_t flush_messages = INT64_MAX;    // flush.messages
  std::int64_t flush_ms = INT64_MAX;          // flush.ms
  // Delete retention (cleanup.policy contains delete): -1 means no limit.
  bool cleanup_delete = true;
  std::int64_t retention_ms = 168ll * 3600 * 1000;  // retention.ms
  std::int64_t retention_bytes = -1;                // retention.bytes
  // Compaction (cleanup.policy contains compact).
  bool cleanup_compact = false;
  double min_cleanable_ratio = 0.5;                     // min.cleanable.dirty.ratio
  std::int64_t min_compaction_lag_ms = 0;               // min.compaction.lag.ms
  std::int64_t max_compaction_lag_ms = INT64_MAX;       // max.compaction.lag.ms
  std::int64_t delete_retention_ms = 86400000;          // delete.retention.ms
  friend bool operator==(const TopicSettings&, const TopicSettings&) = default;
};

// Threads: `settings` belongs to the owner I/O thread once the partition is published (an altered
// topic config reaches it as a task on that thread); the network threads read only the atomics.
struct Partition {
  std::string topic;
  std::int32_t index = 0;
  Uuid topic_id;
  int io_thread = 0;
  std::int32_t leader_epoch = 0;
  TopicSettings settings;
  std::unique_ptr<storage::Log> log;
  std::atomic<std::uint64_t> fetch_waiters{0};
  std::atomic<std::uint32_t> message_bytes_max{1048588};  // settings.message_bytes_max, for validation
  std::atomic<bool> deleted{false};  // the topic was deleted: appends are refused
  std::int64_t flushed_ms = 0;  // owner I/O thread: when its last flush was asked for (flush.ms)
  // Produced record bytes and records appended (client produces only), written by the owner I/O
  // thread alone, so no other thread contends for the line; a scrape reads them.
  metrics::LocalCounter bytes_in;
  metrics::LocalCounter records_in;
};

struct Topic {
  std::string name;
  Uuid id;
  bool internal = false;
  std::map<std::string, std::string> configs;  // explicitly set topic configs
  std::vector<std::shared_ptr<Partition>> partitions;
};

// Appends one batch to the partition's log and applies its flush policy. Owner I/O thread only;
// `flusher` is that thread's. Logs a failure. `on_high_watermark` runs on this thread once the
// high watermark has moved past the batch: before this returns in async mode, after the group
// commit that makes the batch durable in durable mode (not at all if that commit fails). The
// caller wakes parked fetches from it.
Result<storage::AppendInfo> append_and_commit(Partition& partition, storage::Flusher& flusher, std::span<std::byte> batch,
                                              std::int64_t now_ms, std::function<void()> on_high_watermark);

// Owner I/O thread: runs `done` once the log is durable below `offset` in durable mode (the answer
// to acks=all), at once in async mode. Requires: offset <= log end.
void wait_durable(Partition& partition, storage::Flusher& flusher, std::int64_t offset, storage::Flusher::Done done);

// Owner I/O thread: starts a flush when flush.ms has passed since the last one and something is
// unflushed (async mode; durable mode flushes on every append).
void flush_if_due(const std::shared_ptr<Partition>& partition, storage::Flusher& flusher, std::int64_t now_ms);

}  // namespace sluice::broker
