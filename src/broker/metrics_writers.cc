// The Prometheus text of a scrape, from the sums and the answers broker_metrics.cc gathered.
// Metric names follow Prometheus' conventions: sluice_ prefix, _total for counters, base units
// (_seconds, _bytes) in the name. Families are written whole, one after another.
#include <map>

#include "base/error_code.h"
#include "broker/broker_metrics.h"
#include "protocol/api_keys.h"

namespace sluice::broker {
namespace {

// Kafka's names for the APIs we serve, as its request metrics label them.
const char* api_name(protocol::ApiKey key) {
  using protocol::ApiKey;
  switch (key) {
    case ApiKey::produce: return "Produce";
    case ApiKey::fetch: return "Fetch";
    case ApiKey::list_offsets: return "ListOffsets";
    case ApiKey::metadata: return "Metadata";
    case ApiKey::offset_commit: return "OffsetCommit";
    case ApiKey::offset_fetch: return "OffsetFetch";
    case ApiKey::find_coordinator: return "FindCoordinator";
    case ApiKey::join_group: return "JoinGroup";
    case ApiKey::heartbeat: return "Heartbeat";
    case ApiKey::leave_group: return "LeaveGroup";
    case ApiKey::sync_group: return "SyncGroup";
    case ApiKey::describe_groups: return "DescribeGroups";
    case ApiKey::list_groups: return "ListGroups";
    case ApiKey::api_versions: return "ApiVersions";
    case ApiKey::create_topics: return "CreateTopics";
    case ApiKey::delete_topics: return "DeleteTopics";
    case ApiKey::delete_records: return "DeleteRecords";
    case ApiKey::init_producer_id: return "InitProducerId";
    case ApiKey::offset_for_leader_epoch: return "OffsetForLeaderEpoch";
    case ApiKey::describe_configs: return "DescribeConfigs";
    case ApiKey::alter_configs: return "AlterConfigs";
    case ApiKey::describe_log_dirs: return "DescribeLogDirs";
    case ApiKey::create_partitions: return "CreatePartitions";
    case ApiKey::delete_groups: return "DeleteGroups";
    case ApiKey::incremental_alter_configs: return "IncrementalAlterConfigs";
    case ApiKey::offset_delete: return "OffsetDelete";
    case ApiKey::describe_cluster: return "DescribeCluster";
  }
  return nullptr;
}

std::string api_label(const protocol::ApiSupport& api) {
  const char* name = api_name(api.api_key);
  return name != nullptr ? name : std::to_string(static_cast<int>(api.api_key));
}

void write_requests(metrics::TextWriter& out, const metrics::CellTotals& totals) {
  using metrics::Type;
  out.family("sluice_requests_total", Type::counter, "Requests received, by API.");
  for (const auto& api : protocol::supported_apis())
    out.sample({{"api", api_label(api)}}, totals.requests[static_cast<std::size_t>(api.api_key)]);
  out.family("sluice_request_duration_seconds", Type::histogram,
             "Time from a request arriving to its response being queued on the connection, by API "
             "(acks=0 produces have no response and are not observed).");
  for (const auto& api : protocol::supported_apis())
    out.histogram({{"api", api_label(api)}}, totals.request_latency[static_cast<std::size_t>(api.api_key)]);
}

void write_errors(metrics::TextWriter& out, const char* name, const char* help,
                  const std::array<std::uint64_t, metrics::error_code_slots>& counts) {
  out.family(name, metrics::Type::counter, help);
  for (int slot = 0; slot < metrics::error_code_slots; ++slot) {
    std::uint64_t count = counts[static_cast<std::size_t>(slot)];
    if (count == 0) continue;
    int code = metrics::error_code_of_slot(slot);
    const char* error = error_name(static_cast<ErrorCode>(code));
    std::string code_text = std::to_string(code);
    out.sample({{"code", code_text}, {"error", error != nullptr ? error : "UNKNOWN"}}, count);
  }
}

}  // namespace

void write_cells(metrics::TextWriter& out, const metrics::CellTotals& totals) {
  using metrics::Type;
  write_requests(out, totals);
  write_errors(out, "sluice_produce_errors_total", "Produce partition results with an error, by Kafka error code.",
               totals.produce_errors);
  write_errors(out, "sluice_fetch_errors_total", "Fetch partition results (and whole fetches) with an error, by Kafka error code.",
               totals.fetch_errors);
  out.family("sluice_flush_duration_seconds", Type::histogram,
             "One group-commit round of one partition: syncs submitted to all completed.");
  out.histogram({}, totals.flush_latency);
  out.family("sluice_fsync_duration_seconds", Type::histogram, "One fsync or fdatasync of one file or directory.");
  out.histogram({}, totals.fsync_latency);
  out.family("sluice_connections", Type::gauge, "Open client connections.");
  // Never negative: a close counted on a thread whose accept the sum read earlier can lead.
  out.sample({}, totals.connections_accepted > totals.connections_closed
                     ? totals.connections_accepted - totals.connections_closed
                     : std::uint64_t{0});
  out.family("sluice_connections_accepted_total", Type::counter, "Client connections accepted.");
  out.sample({}, totals.connections_accepted);
  out.family("sluice_connections_refused_total", Type::counter, "Client connections refused at max.connections.");
  out.sample({}, totals.connections_refused);
}

std::vector<CommittedEntry> committed_offsets(GroupCoordinator& coordinator, std::size_t entries_max) {
  std::vector<CommittedEntry> entries;
  for (const auto& listing : coordinator.list_groups()) {
    auto [error, offsets] = coordinator.fetch_offsets(listing.group_id, std::nullopt);
    if (error != ErrorCode::none) continue;
    for (const auto& fetched : offsets) {
      if (fetched.offset < 0) continue;
      if (entries.size() >= entries_max) return entries;
      entries.push_back({listing.group_id, fetched.topic, fetched.partition, fetched.offset});
    }
  }
  return entries;
}

void write_topics(metrics::TextWriter& out, const TopicMap& topics, const NetworkAnswers& network) {
  using metrics::Type;
  std::map<std::array<std::uint8_t, 16>, std::uint64_t> bytes_out;
  std::uint64_t untracked = 0;
  for (const auto& answer : network) {
    if (!answer) continue;
    for (const auto& [id, bytes] : answer->bytes_out) bytes_out[id.bytes] += bytes;
    untracked += answer->bytes_out_untracked;
  }
  out.family("sluice_topic_bytes_in_total", Type::counter, "Record batch bytes appended by produce requests, by topic.");
  for (const auto& [name, topic] : topics.by_name) {
    std::uint64_t bytes = 0;
    for (const auto& partition : topic->partitions) bytes += partition->bytes_in.load();
    out.sample({{"topic", name}}, bytes);
  }
  out.family("sluice_topic_records_in_total", Type::counter, "Records appended by produce requests, by topic.");
  for (const auto& [name, topic] : topics.by_name) {
    std::uint64_t records = 0;
    for (const auto& partition : topic->partitions) records += partition->records_in.load();
    out.sample({{"topic", name}}, records);
  }
  out.family("sluice_topic_bytes_out_total", Type::counter, "Record bytes returned by fetch responses, by topic.");
  for (const auto& [name, topic] : topics.by_name) {
    auto found = bytes_out.find(topic->id.bytes);
    out.sample({{"topic", name}}, found == bytes_out.end() ? std::uint64_t{0} : found->second);
  }
  out.family("sluice_bytes_out_untracked_total", Type::counter,
             "Fetched record bytes of topics past the per-thread topic table's limit (not in sluice_topic_bytes_out_total).");
  out.sample({}, untracked);
}

void write_partitions(metrics::TextWriter& out, const TopicMap& topics) {
  using metrics::Type;
  struct Gauge {
    const char* name;
    const char* help;
    std::int64_t (*read)(const storage::Log&);
  };
  static const Gauge gauges[] = {
      {"sluice_partition_log_end_offset", "The next offset to be written.",
       [](const storage::Log& log) { return log.log_end_offset(); }},
      {"sluice_partition_log_start_offset", "The first offset still in the log.",
       [](const storage::Log& log) { return log.log_start_offset(); }},
      {"sluice_partition_high_watermark", "Consumers read below this offset.",
       [](const storage::Log& log) { return log.high_watermark(); }},
      {"sluice_partition_size_bytes", "Bytes of all the partition's segments.",
       [](const storage::Log& log) { return static_cast<std::int64_t>(log.size_bytes()); }},
  };
  for (const auto& gauge : gauges) {
    out.family(gauge.name, Type::gauge, gauge.help);
    for (const auto& [name, topic] : topics.by_name) {
      for (const auto& partition : topic->partitions) {
        std::string index = std::to_string(partition->index);
        out.sample({{"topic", name}, {"partition", index}}, gauge.read(*partition->log));
      }
    }
  }
}

void write_threads(metrics::TextWriter& out, const NetworkAnswers& network, const IoAnswers& io,
                   const std::vector<std::pair<std::string, io::EventLoop*>>& loops) {
  using metrics::Type;
  std::uint64_t parked = 0, waiters = 0;
  for (const auto& answer : network)
    if (answer) parked += answer->fetches_parked;
  for (const auto& answer : io)
    if (answer) waiters += answer->flush_waiters;
  out.family("sluice_purgatory_size", Type::gauge,
             "Requests waiting: operation=\"fetch\" fetches parked for fetch.min.bytes or fetch.max.wait.ms; "
             "operation=\"produce\" waits for a group commit (acks=all in durable mode, and background flushes).");
  out.sample({{"operation", "fetch"}}, parked);
  out.sample({{"operation", "produce"}}, waiters);
  out.family("sluice_event_loop_inflight_operations", Type::gauge,
             "io_uring operations submitted and not yet completed (the queue depth), by thread.");
  for (const auto& [name, loop] : loops) out.sample({{"loop", name}}, static_cast<std::uint64_t>(loop->inflight()));
}

void write_memory(metrics::TextWriter& out, const net::MemoryBudget& budget, std::uint64_t cold_reads) {
  using metrics::Type;
  out.family("sluice_inflight_request_bytes", Type::gauge,
             "Bytes of requests read and not yet answered (the global budget in use).");
  out.sample({}, budget.used_bytes());
  out.family("sluice_inflight_request_bytes_max", Type::gauge,
             "The global in-flight request budget (queued.max.request.bytes); reading stops at it.");
  out.sample({}, budget.bytes_max());
  out.family("sluice_fetch_cold_reads_total", Type::counter,
             "Fetch responses whose file ranges were read into the page cache on a fetch thread first.");
  out.sample({}, cold_reads);
}

void write_groups(metrics::TextWriter& out, const TopicRegistry& registry, const IoAnswers& io) {
  using metrics::Type;
  out.family("sluice_consumer_group_committed_offset", Type::gauge, "The offset a consumer group committed, by partition.");
  for (const auto& answer : io) {
    if (!answer) continue;
    for (const auto& entry : answer->committed) {
      std::string index = std::to_string(entry.partition);
      out.sample({{"group", entry.group}, {"topic", entry.topic}, {"partition", index}}, entry.offset);
    }
  }
  out.family("sluice_consumer_group_lag", Type::gauge,
             "High watermark minus the committed offset (0 when the commit is ahead), by group and partition.");
  for (const auto& answer : io) {
    if (!answer) continue;
    for (const auto& entry : answer->committed) {
      auto topic = registry.find(entry.topic);
      if (!topic || entry.partition < 0 || static_cast<std::size_t>(entry.partition) >= topic->partitions.size()) continue;
      std::int64_t high = topic->partitions[static_cast<std::size_t>(entry.partition)]->log->high_watermark();
      std::string index = std::to_string(entry.partition);
      out.sample({{"group", entry.group}, {"topic", entry.topic}, {"partition", index}},
                 std::max<std::int64_t>(0, high - entry.offset));
    }
  }
}

}  // namespace sluice::broker
