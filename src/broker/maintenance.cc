// Housekeeping that runs on the I/O threads on timers: flushes by flush.ms (async mode), expiry
// of idle idempotent producers, and the periodic checkpoint of recovery points and high
// watermarks (Kafka's log.flush.offset.checkpoint.interval.ms), so that recovery after a crash
// scans only what was written since.
#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"

namespace sluice::broker {
namespace {

// Each partition this I/O thread owns.
template <class Visit>
void for_each_owned(const TopicRegistry& registry, int io_thread, Visit visit) {
  auto topics = registry.snapshot();
  for (const auto& [name, topic] : topics->by_name)
    for (const auto& partition : topic->partitions)
      if (partition->io_thread == io_thread) visit(partition);
}

}  // namespace

void Broker::schedule_maintenance(int io_thread) {
  io::EventLoop& loop = io_threads_[static_cast<std::size_t>(io_thread)]->loop();
  loop.post([this, io_thread, &loop] {
    loop.add_timer(config_.flush_check_ms, [this, io_thread] { run_flush_policy(io_thread); });
    loop.add_timer(config_.producer_expiration_check_ms, [this, io_thread] { expire_producers(io_thread); });
    loop.add_timer(config_.retention_check_ms, [this, io_thread] { enforce_retention(io_thread); });
    if (io_thread == 0) loop.add_timer(config_.checkpoint_interval_ms, [this] { checkpoint_periodically(); });
  });
}

void Broker::run_flush_policy(int io_thread) {
  IoThread& thread = *io_threads_[static_cast<std::size_t>(io_thread)];
  const std::int64_t now = wall_ms();
  for_each_owned(*registry_, io_thread, [&](const std::shared_ptr<Partition>& partition) {
    flush_if_due(partition, thread.flusher(), now);
  });
  thread.loop().add_timer(config_.flush_check_ms, [this, io_thread] { run_flush_policy(io_thread); });
}

void Broker::expire_producers(int io_thread) {
  const std::int64_t now = wall_ms();
  std::size_t expired = 0;
  for_each_owned(*registry_, io_thread, [&](const std::shared_ptr<Partition>& partition) {
    expired += partition->log->producer_state().expire(now, config_.producer_expiration_ms);
  });
  if (expired > 0) LOG_INFO("producers_expired", "io_thread=%d count=%zu", io_thread, expired);
  io_threads_[static_cast<std::size_t>(io_thread)]->loop().add_timer(
      config_.producer_expiration_check_ms, [this, io_thread] { expire_producers(io_thread); });
}

void Broker::enforce_retention(int io_thread) {
  // Kafka's LogManager.cleanupLogs: every log.retention.check.interval.ms, each log deletes the
  // whole segments its retention.ms / retention.bytes (cleanup.policy=delete) or its log start
  // offset (DeleteRecords) no longer needs.
  const std::int64_t now = wall_ms();
  for_each_owned(*registry_, io_thread, [&](const std::shared_ptr<Partition>& partition) {
    const auto& settings = partition->settings;
    if (partition->log->offline()) return;
    auto deleted = partition->log->delete_retained_segments(settings.cleanup_delete ? settings.retention_ms : -1,
                                                            settings.cleanup_delete ? settings.retention_bytes : -1, now);
    if (!deleted.is_ok())
      LOG_ERROR("retention_failed", "topic=%s partition=%d error=\"%s\"", partition->topic.c_str(), partition->index,
                deleted.status().to_string().c_str());
  });
  io_threads_[static_cast<std::size_t>(io_thread)]->loop().add_timer(
      config_.retention_check_ms, [this, io_thread] { enforce_retention(io_thread); });
}

void Broker::checkpoint_periodically() {
  // The checkpoint files are small; writing them (with their fsync) here delays this thread's
  // appends by about one fsync a minute.
  Status written = write_checkpoints();
  if (!written.is_ok()) LOG_ERROR("checkpoint_failed", "error=\"%s\"", written.to_string().c_str());
  io_threads_[0]->loop().add_timer(config_.checkpoint_interval_ms, [this] { checkpoint_periodically(); });
}

}  // namespace sluice::broker
