// Consumer groups inside the broker: the internal topic __consumer_offsets, one GroupCoordinator
// per I/O thread (the thread that owns the group's partition of that topic), loading the topic at
// start-up, and the appends that make commits and assignments durable.
#include "broker/group_runtime.h"

#include "base/clock.h"
#include "broker/respond.h"
#include "protocol/consumer_offsets.h"
#include "protocol/record_batch.h"
#include "protocol/records.h"

namespace sluice::broker {

Status Broker::open_consumer_offsets() {
  auto topic = registry_->find(consumer_offsets_topic);
  if (!topic) {
    auto created = registry_->create(consumer_offsets_topic, config_.offsets_topic_partitions,
                                     {{"cleanup.policy", "compact"},
                                      {"segment.bytes", std::to_string(config_.offsets_topic_segment_bytes)}},
                                     false);
    if (created.error != ErrorCode::none) return Status::error("cannot create __consumer_offsets: " + created.message);
    topic = created.topic;
  }
  consumer_offsets_ = topic;
  GroupConfig group_config;
  group_config.session_timeout_ms_min = config_.group_session_timeout_ms_min;
  group_config.session_timeout_ms_max = config_.group_session_timeout_ms_max;
  group_config.initial_rebalance_delay_ms = config_.group_initial_rebalance_delay_ms;
  group_config.group_size_max = config_.group_size_max;
  group_config.offset_metadata_bytes_max = config_.offset_metadata_bytes_max;
  group_config.offsets_retention_ms = config_.offsets_retention_ms;
  for (auto& thread : io_threads_)
    group_runtimes_.push_back(std::make_unique<GroupRuntime>(*this, *thread, group_config));
  // Loading runs before any request is served, so no request ever sees
  // COORDINATOR_LOAD_IN_PROGRESS; the I/O threads do not touch the coordinators yet.
  std::int64_t started = monotonic_ms();
  for (const auto& partition : topic->partitions) {
    Status loaded = load_consumer_offsets(*partition);
    if (!loaded.is_ok()) return loaded;
  }
  std::size_t groups = 0;
  for (std::size_t thread = 0; thread < group_runtimes_.size(); ++thread) {
    GroupRuntime* runtime = group_runtimes_[thread].get();
    groups += runtime->coordinator.group_count();
    // Restored members' session timers run on the coordinator's own thread.
    io_threads_[thread]->loop().post([runtime] { runtime->coordinator.start_loaded_sessions(); });
  }
  LOG_INFO("consumer_offsets_loaded", "partitions=%zu groups=%zu ms=%lld", topic->partitions.size(), groups,
           static_cast<long long>(monotonic_ms() - started));
  return Status::ok();
}

Status Broker::load_consumer_offsets(const Partition& partition) {
  GroupCoordinator& coordinator = group_runtimes_[static_cast<std::size_t>(partition.io_thread)]->coordinator;
  const storage::Log& log = *partition.log;
  std::int64_t offset = log.log_start_offset();
  std::vector<std::byte> buffer, decompressed;
  while (offset < log.high_watermark()) {
    auto read = log.read(offset, 8u << 20, true);
    if (read.error != ErrorCode::none || !read.range) break;
    buffer.resize(read.range->bytes);
    ssize_t got = ::pread(read.range->fd, buffer.data(), buffer.size(), static_cast<off_t>(read.range->position));
    if (got != static_cast<ssize_t>(buffer.size())) return Status::from_errno(got < 0 ? errno : EIO, "read __consumer_offsets");
    std::size_t at = 0;
    while (at + record_batch_header_bytes <= buffer.size()) {
      RecordBatchHeader header = parse_record_batch_header(buffer.data() + at);
      auto bytes = static_cast<std::size_t>(header.batch_bytes());
      if (bytes < record_batch_header_bytes || at + bytes > buffer.size()) break;
      std::span<const std::byte> batch(buffer.data() + at, bytes);
      at += bytes;
      offset = header.last_offset() + 1;
      if (header.is_control()) continue;
      auto area = batch_record_area(batch, &decompressed, 64u << 20);
      if (!area.is_ok()) {
        LOG_WARN("consumer_offsets_batch_skipped", "partition=%d offset=%lld error=\"%s\"", partition.index,
                 static_cast<long long>(header.base_offset), area.status().to_string().c_str());
        continue;
      }
      protocol::parse_records(area.value(), header.record_count, [&](const protocol::RecordView& record) {
        if (!record.key) return;
        auto decoded = protocol::decode_consumer_offsets_record(*record.key, record.value);
        if (!decoded.is_ok()) return;
        if (auto* commit = std::get_if<protocol::ConsumerOffsetsOffsetCommit>(&decoded.value())) {
          std::optional<CommittedOffset> committed;
          if (commit->value)
            committed = CommittedOffset{commit->value->offset, commit->value->leader_epoch, commit->value->metadata,
                                        commit->value->commit_timestamp};
          coordinator.load_offset(commit->key.group, commit->key.topic, commit->key.partition, committed);
        } else if (auto* group = std::get_if<protocol::ConsumerOffsetsGroupMetadata>(&decoded.value())) {
          std::optional<GroupCoordinator::LoadedGroup> loaded;
          if (group->value) loaded = GroupCoordinator::loaded_from(std::move(*group->value));
          coordinator.load_group(group->key.group, std::move(loaded));
        }
      });
    }
    if (at == 0) break;  // no whole batch in the range: nothing more to read
  }
  return Status::ok();
}

void Broker::append_internal(Partition& partition, const std::vector<GroupEnvironment::Record>& records,
                             std::function<void(ErrorCode)> done) {
  std::vector<protocol::RecordToWrite> to_write;
  to_write.reserve(records.size());
  for (const auto& record : records) to_write.push_back({record.key, record.value});
  std::int64_t now = wall_ms();
  auto batch = protocol::build_record_batch(to_write, now);
  auto& flusher = io_threads_[static_cast<std::size_t>(partition.io_thread)]->flusher();
  auto appended = append_and_commit(partition, flusher, batch, now, [this, &partition] { notify_fetch_waiters(partition); });
  if (!appended.is_ok()) return done(ErrorCode::kafka_storage_error);
  // Answered like acks=all: a commit or assignment acknowledged in durable mode survives a crash.
  wait_durable(partition, flusher, appended.value().last_offset + 1, [done = std::move(done)](const Status& status) {
    done(status.is_ok() ? ErrorCode::none : ErrorCode::kafka_storage_error);
  });
}

void Broker::with_coordinator(const std::string& group_id, std::function<void(GroupCoordinator&)> work) {
  const auto& partitions = consumer_offsets_->partitions;
  auto index = consumer_offsets_partition_for(group_id, static_cast<std::int32_t>(partitions.size()));
  int thread = partitions[static_cast<std::size_t>(index)]->io_thread;
  GroupRuntime* runtime = group_runtimes_[static_cast<std::size_t>(thread)].get();
  io_threads_[static_cast<std::size_t>(thread)]->loop().post([runtime, work = std::move(work)] { work(runtime->coordinator); });
}

std::size_t Broker::on_every_coordinator(const std::function<void(GroupCoordinator&)>& work) {
  for (std::size_t thread = 0; thread < group_runtimes_.size(); ++thread) {
    GroupRuntime* runtime = group_runtimes_[thread].get();
    io_threads_[thread]->loop().post([runtime, work] { work(runtime->coordinator); });
  }
  return group_runtimes_.size();
}

void Broker::on_network(const RequestPtr& request, std::function<void()> work) {
  request->connection->loop().post(std::move(work));
}

void Broker::schedule_offset_expiry(int io_thread) {
  io_threads_[static_cast<std::size_t>(io_thread)]->loop().post([this, io_thread] {
    io_threads_[static_cast<std::size_t>(io_thread)]->loop().add_timer(config_.offsets_retention_check_ms, [this, io_thread] {
      group_runtimes_[static_cast<std::size_t>(io_thread)]->coordinator.expire_offsets();
      schedule_offset_expiry(io_thread);
    });
  });
}

}  // namespace sluice::broker
