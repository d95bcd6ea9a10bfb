#include "broker/partition.h"

#include "base/log.h"

namespace sluice::broker {
namespace {

void log_flush_failure(const Partition& partition, const Status& status) {
  if (status.is_ok()) return;
  LOG_ERROR("flush_failed", "topic=%s partition=%d error=\"%s\"", partition.topic.c_str(), partition.index,
            status.to_string().c_str());
}

// Async mode: a flush by policy, waited on by nobody.
void flush_in_background(Partition& partition, storage::Flusher& flusher, std::int64_t now_ms) {
  partition.flushed_ms = now_ms;
  flusher.flush_to(*partition.log, partition.log->log_end_offset(),
                   [&partition](const Status& status) { log_flush_failure(partition, status); });
}

}  // namespace

Result<storage::AppendInfo> append_and_commit(Partition& partition, storage::Flusher& flusher, std::span<std::byte> batch,
                                              std::int64_t now_ms, std::function<void()> on_high_watermark) {
  storage::Log& log = *partition.log;
  auto appended = log.append(batch, partition.leader_epoch, now_ms);
  if (!appended.is_ok()) {
    LOG_ERROR("append_failed", "topic=%s partition=%d error=\"%s\"", partition.topic.c_str(), partition.index,
              appended.status().to_string().c_str());
    return appended;
  }
  const std::int64_t end = appended.value().last_offset + 1;
  if (partition.settings.flush_durable) {
    // The high watermark is the durable point: it moves when the group commit that covers this
    // batch completes. Every append asks for one; appends during a round join the next.
    flusher.flush_to(log, end, [&partition, &log, on_high_watermark = std::move(on_high_watermark)](const Status& status) {
      log_flush_failure(partition, status);
      if (!status.is_ok()) return;
      std::int64_t durable = std::min(log.recovery_point(), log.log_end_offset());
      if (durable > log.high_watermark()) log.set_high_watermark(durable);
      on_high_watermark();
    });
    return appended;
  }
  log.set_high_watermark(end);
  on_high_watermark();
  // Kafka flushes a rolled segment right away, and every flush.messages messages.
  if (appended.value().rolled || end - log.recovery_point() >= partition.settings.flush_messages)
    flush_in_background(partition, flusher, now_ms);
  return appended;
}

void wait_durable(Partition& partition, storage::Flusher& flusher, std::int64_t offset, storage::Flusher::Done done) {
  if (!partition.settings.flush_durable) return done(Status::ok());
  flusher.flush_to(*partition.log, offset, std::move(done));
}

void flush_if_due(const std::shared_ptr<Partition>& partition, storage::Flusher& flusher, std::int64_t now_ms) {
  const auto& settings = partition->settings;
  if (settings.flush_durable || settings.flush_ms == INT64_MAX) return;
  if (partition->log->recovery_point() >= partition->log->log_end_offset() || partition->log->offline()) return;
  if (now_ms - partition->flushed_ms < settings.flush_ms) return;
  flush_in_background(*partition, flusher, now_ms);
}

}  // namespace sluice::broker
