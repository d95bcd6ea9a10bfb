// Broker configuration: Kafka's property names where Kafka has the knob, Sluice's own for the
// rest. Parsed once at start-up from a properties file plus --override key=value pairs; Kafka's
// names are mapped to our field names here and nowhere else.
// A bad value is an error naming the key and the value; an unknown key is a warning.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace sluice {

struct Listener {
  std::string name = "PLAINTEXT";
  std::string host;  // empty: every interface
  std::uint16_t port = 9092;
};

struct Config {
  std::vector<Listener> listeners{Listener{"PLAINTEXT", "", 9092}};
  std::vector<Listener> advertised_listeners;  // empty: derived from listeners
  std::vector<std::string> log_dirs{"/tmp/kafka-logs"};
  std::int32_t node_id = 1;
  std::int32_t partitions_default = 1;                     // num.partitions
  std::int16_t replication_factor_default = 1;             // default.replication.factor
  bool topic_auto_create = true;                           // auto.create.topics.enable
  bool topic_delete_enable = true;                         // delete.topic.enable
  std::uint64_t segment_bytes = 1ull << 30;                // log.segment.bytes
  std::int64_t segment_ms = 168ll * 3600 * 1000;           // log.roll.ms / log.roll.hours
  std::uint32_t message_bytes_max = 1048588;               // message.max.bytes
  std::uint32_t request_bytes_max = 104857600;             // socket.request.max.bytes
  std::uint32_t index_interval_bytes = 4096;               // log.index.interval.bytes
  std::uint32_t index_bytes_max = 10 * 1024 * 1024;        // log.index.size.max.bytes
  bool log_append_time = false;                            // log.message.timestamp.type
  std::int32_t network_threads = 2;                        // num.network.threads
  std::int32_t io_threads = 2;                             // num.io.threads
  std::int32_t socket_send_buffer_bytes = -1;              // socket.send.buffer.bytes (-1: the kernel's autotuning)
  std::int32_t socket_receive_buffer_bytes = -1;           // socket.receive.buffer.bytes (-1: the kernel's autotuning)
  std::int32_t recovery_threads = 0;                       // num.recovery.threads.per.data.dir (0: one per CPU)
  std::vector<int> network_cpus;                           // network.cpus (ours)
  std::vector<int> io_cpus;                                // io.cpus (ours)
  std::int32_t fetch_threads = 1;                          // fetch.threads (ours): cold-read prefetch
  std::vector<int> fetch_cpus;                             // fetch.cpus (ours)
  std::int32_t connections_max = 10000;                    // max.connections
  std::int32_t connection_requests_inflight_max = 100;     // queued.max.requests (per connection)
  std::uint64_t inflight_bytes_max = 512ull << 20;         // queued.max.request.bytes (global)
  std::int32_t fetch_parked_max = 10000;                   // fetch.purgatory.max (ours)
  std::int32_t partitions_max = 20000;                     // partitions.max (ours): on this broker
  std::string fetch_transfer = "zerocopy";                // fetch.transfer=zerocopy|splice|uring-splice|copy (ours)
  std::int32_t fetch_send_chunk_bytes = 1 << 20;          // fetch.send.chunk.bytes (ours)
  bool network_defer_taskrun = true;                       // network.io_uring.defer.taskrun (ours)
  std::int32_t network_recv_buffers = 256;                 // network.recv.buffers (ours): 0 = single-shot recv
  std::int32_t network_recv_buffer_bytes = 16 * 1024;      // network.recv.buffer.bytes (ours)
  std::string log_level = "info";                          // log.level (ours)
  std::int64_t shutdown_timeout_ms = 120000;               // shutdown.timeout.ms (ours): bound on a clean stop
  // metrics.listener (ours): host:port of the Prometheus endpoint (GET /metrics); "" or "none"
  // turns it off. Not given: the default address, and a busy port there only warns.
  bool metrics_enabled = true;
  std::string metrics_host = "127.0.0.1";
  std::uint16_t metrics_port = 9644;

  // Durability.
  bool flush_durable = true;                               // flush.mode=durable|async (ours)
  std::int64_t flush_messages = INT64_MAX;                 // log.flush.interval.messages
  std::int64_t flush_ms = INT64_MAX;                       // log.flush.interval.ms
  std::int64_t flush_check_ms = 1000;                      // log.flush.scheduler.interval.ms
  std::uint32_t flush_writebehind_bytes = 1 << 20;         // flush.writebehind.bytes (ours; 0: off)
  std::int64_t checkpoint_interval_ms = 60000;             // log.flush.offset.checkpoint.interval.ms
  // Retention.
  std::int64_t retention_ms = 168ll * 3600 * 1000;         // log.retention.ms / .minutes / .hours
  std::int64_t retention_bytes = -1;                       // log.retention.bytes
  std::int64_t retention_check_ms = 300000;                // log.retention.check.interval.ms
  std::string storage_faults;                              // storage.faults (ours; tests only)
  std::int64_t producer_expiration_ms = 86400000;          // producer.id.expiration.ms
  std::int64_t producer_expiration_check_ms = 600000;      // producer.id.expiration.check.interval.ms
  std::int32_t producers_max = 10000;                      // producer.state.max.per.partition (ours)
  // Compaction (the log cleaner).
  std::string cleanup_policy = "delete";                   // log.cleanup.policy
  bool cleaner_enable = true;                              // log.cleaner.enable
  std::int32_t cleaner_threads = 1;                        // log.cleaner.threads
  std::vector<int> cleaner_cpus;                           // log.cleaner.cpus (ours)
  double cleaner_io_bytes_per_second = 1.7976931348623157e308;  // log.cleaner.io.max.bytes.per.second
  std::uint64_t cleaner_dedupe_buffer_bytes = 134217728;   // log.cleaner.dedupe.buffer.size
  std::int64_t cleaner_backoff_ms = 15000;                 // log.cleaner.backoff.ms
  double cleaner_min_cleanable_ratio = 0.5;                // log.cleaner.min.cleanable.ratio
  std::int64_t cleaner_min_compaction_lag_ms = 0;          // log.cleaner.min.compaction.lag.ms
  std::int64_t cleaner_max_compaction_lag_ms = INT64_MAX;  // log.cleaner.max.compaction.lag.ms
  std::int64_t cleaner_delete_retention_ms = 86400000;     // log.cleaner.delete.retention.ms

  // Consumer groups.
  std::int32_t group_session_timeout_ms_min = 6000;        // group.min.session.timeout.ms
  std::int32_t group_session_timeout_ms_max = 1800000;     // group.max.session.timeout.ms
  std::int32_t group_initial_rebalance_delay_ms = 3000;    // group.initial.rebalance.delay.ms
  std::int32_t group_size_max = 10000;                     // group.max.size
  std::int32_t offsets_topic_partitions = 50;              // offsets.topic.num.partitions
  std::uint64_t offsets_topic_segment_bytes = 104857600;   // offsets.topic.segment.bytes
  std::int64_t offsets_retention_ms = 7 * 24 * 3600 * 1000LL;  // offsets.retention.minutes
  std::int64_t offsets_retention_check_ms = 600000;        // offsets.retention.check.interval.ms
  std::uint32_t offset_metadata_bytes_max = 4096;          // offset.metadata.max.bytes

  // The keys the properties file and --override set, with their text (DescribeConfigs reports
  // them as STATIC_BROKER_CONFIG).
  std::map<std::string, std::string> static_properties;
};

// Every broker key this Config knows, with its current value as text (null for an alternative
// unit of a time that was not set, e.g. log.retention.minutes), for DescribeConfigs.
std::map<std::string, std::optional<std::string>> broker_config_values(const Config& config);
// Checks one broker key and value the way the properties file would; "" or the problem.
std::string check_broker_property(const std::string& key, const std::string& value);

// Reads a Java-style properties file (key=value or key: value, # and ! comments).
Result<std::map<std::string, std::string>> read_properties_file(const std::string& path);

// Applies properties in order; returns an error naming the first bad key and value. Unknown keys
// are appended to `unknown_keys` (to be warned about).
Status apply_properties(const std::map<std::string, std::string>& properties, Config& config,
                        std::vector<std::string>& unknown_keys);

Result<Listener> parse_listener(const std::string& text);

}  // namespace sluice
