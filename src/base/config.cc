#include "base/config.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <cstdio>

#include "base/file_transfer.h"

namespace sluice {
namespace {

std::string trim(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  std::size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t at = text.find(separator, start);
    std::string part = trim(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (!part.empty()) parts.push_back(part);
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return parts;
}

template <class T>
bool parse_integer(const std::string& text, T min, T max, T& out) {
  long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return false;
  if (value < static_cast<long long>(min) || value > static_cast<long long>(max)) return false;
  out = static_cast<T>(value);
  return true;
}

bool parse_double(const std::string& text, double min, double max, double& out) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !(value >= min && value <= max)) return false;
  out = value;
  return true;
}

bool parse_bool(const std::string& text, bool& out) {
  if (text == "true") out = true;
  else if (text == "false") out = false;
  else return false;
  return true;
}

bool parse_cpus(const std::string& text, std::vector<int>& out) {
  out.clear();
  for (const auto& part : split(text, ',')) {
    std::size_t dash = part.find('-');
    int first, last;
    if (dash == std::string::npos) {
      if (!parse_integer(part, 0, 4095, first)) return false;
      last = first;
    } else if (!parse_integer(part.substr(0, dash), 0, 4095, first) ||
               !parse_integer(part.substr(dash + 1), 0, 4095, last) || last < first) {
      return false;
    }
    for (int cpu = first; cpu <= last; ++cpu) out.push_back(cpu);
  }
  return true;
}

using Setter = std::function<bool(const std::string&, Config&)>;

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"listeners", [](const std::string& v, Config& c) {
         c.listeners.clear();
         for (const auto& part : split(v, ',')) {
           auto listener = parse_listener(part);
           if (!listener.is_ok()) return false;
           c.listeners.push_back(listener.value());
         }
         return !c.listeners.empty();
       }},
      {"advertised.listeners", [](const std::string& v, Config& c) {
         c.advertised_listeners.clear();
         for (const auto& part : split(v, ',')) {
           auto listener = parse_listener(part);
           if (!listener.is_ok() || listener.value().host.empty()) return false;
           c.advertised_listeners.push_back(listener.value());
         }
         return true;
       }},
      {"log.dirs", [](const std::string& v, Config& c) {
         c.log_dirs = split(v, ',');
         return c.log_dirs.size() == 1;  // several log dirs (JBOD) are not served yet
       }},
      {"log.dir", [](const std::string& v, Config& c) {
         c.log_dirs = {trim(v)};
         return !c.log_dirs[0].empty();
       }},
      {"node.id", [](const std::string& v, Config& c) { return parse_integer(v, 0, INT32_MAX, c.node_id); }},
      {"broker.id", [](const std::string& v, Config& c) { return parse_integer(v, 0, INT32_MAX, c.node_id); }},
      {"num.partitions", [](const std::string& v, Config& c) { return parse_integer(v, 1, 100000, c.partitions_default); }},
      {"default.replication.factor", [](const std::string& v, Config& c) { return parse_integer<std::int16_t>(v, 1, 1, c.replication_factor_default); }},
      {"auto.create.topics.enable", [](const std::string& v, Config& c) { return parse_bool(v, c.topic_auto_create); }},
      {"delete.topic.enable", [](const std::string& v, Config& c) { return parse_bool(v, c.topic_delete_enable); }},
      {"log.segment.bytes", [](const std::string& v, Config& c) { return parse_integer<std::uint64_t>(v, 14, INT32_MAX, c.segment_bytes); }},
      {"log.roll.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 1, INT64_MAX / 2, c.segment_ms); }},
      {"log.roll.hours", [](const std::string& v, Config& c) {
         std::int64_t hours;
         if (!parse_integer<std::int64_t>(v, 1, 1000000, hours)) return false;
         c.segment_ms = hours * 3600 * 1000;
         return true;
       }},
      {"message.max.bytes", [](const std::string& v, Config& c) { return parse_integer<std::uint32_t>(v, 0, INT32_MAX, c.message_bytes_max); }},
      {"socket.request.max.bytes", [](const std::string& v, Config& c) { return parse_integer<std::uint32_t>(v, 1024, INT32_MAX, c.request_bytes_max); }},
      {"log.index.interval.bytes", [](const std::string& v, Config& c) { return parse_integer<std::uint32_t>(v, 0, INT32_MAX, c.index_interval_bytes); }},
      {"log.index.size.max.bytes", [](const std::string& v, Config& c) { return parse_integer<std::uint32_t>(v, 4096, INT32_MAX, c.index_bytes_max); }},
      {"log.message.timestamp.type", [](const std::string& v, Config& c) {
         if (v != "CreateTime" && v != "LogAppendTime") return false;
         c.log_append_time = v == "LogAppendTime";
         return true;
       }},
      {"num.network.threads", [](const std::string& v, Config& c) { return parse_integer(v, 1, 64, c.network_threads); }},
      {"num.io.threads", [](const std::string& v, Config& c) { return parse_integer(v, 1, 256, c.io_threads); }},
      {"num.recovery.threads.per.data.dir", [](const std::string& v, Config& c) { return parse_integer(v, 0, 256, c.recovery_threads); }},
      {"socket.send.buffer.bytes", [](const std::string& v, Config& c) { return parse_integer(v, -1, 1 << 30, c.socket_send_buffer_bytes); }},
      {"socket.receive.buffer.bytes", [](const std::string& v, Config& c) { return parse_integer(v, -1, 1 << 30, c.socket_receive_buffer_bytes); }},
      {"network.cpus", [](const std::string& v, Config& c) { return parse_cpus(v, c.network_cpus); }},
      {"io.cpus", [](const std::string& v, Config& c) { return parse_cpus(v, c.io_cpus); }},
      {"fetch.threads", [](const std::string& v, Config& c) { return parse_integer(v, 1, 64, c.fetch_threads); }},
      {"fetch.cpus", [](const std::string& v, Config& c) { return parse_cpus(v, c.fetch_cpus); }},
      {"max.connections", [](const std::string& v, Config& c) { return parse_integer(v, 1, 1000000, c.connections_max); }},
      {"queued.max.requests", [](const std::string& v, Config& c) { return parse_integer(v, 1, 100000, c.connection_requests_inflight_max); }},
      {"queued.max.request.bytes", [](const std::string& v, Config& c) {
         std::int64_t bytes;
         if (!parse_integer<std::int64_t>(v, -1, INT64_MAX, bytes)) return false;
         c.inflight_bytes_max = bytes <= 0 ? (512ull << 20) : static_cast<std::uint64_t>(bytes);
         return true;
       }},
      {"partitions.max", [](const std::string& v, Config& c) { return parse_integer(v, 1, 10000000, c.partitions_max); }},
      {"fetch.purgatory.max", [](const std::string& v, Config& c) { return parse_integer(v, 1, 10000000, c.fetch_parked_max); }},
      {"fetch.transfer", [](const std::string& v, Config& c) {
         if (!parse_file_transfer(v)) return false;
         c.fetch_transfer = v;
         return true;
       }},
      {"fetch.send.chunk.bytes", [](const std::string& v, Config& c) {  return parse_integer(v, 4096, 64 << 20, c.fetch_send_chunk_bytes); }},
      {"network.io_uring.defer.taskrun", [](const std::string& v, Config& c) { return parse_bool(v, c.network_defer_taskrun); }},
      {"network.recv.buffers", [](const std::string& v, Config& c) {
         // The kernel's buffer ring takes a power of two entries.
         std::int32_t count;
         if (!parse_integer(v, 0, 32768, count) || (count & (count - 1)) != 0) return false;
         c.network_recv_buffers = count;
         return true;
       }},
      {"network.recv.buffer.bytes", [](const std::string& v, Config& c) { return parse_integer(v, 4096, 1 << 20, c.network_recv_buffer_bytes); }},
      {"group.min.session.timeout.ms", [](const std::string& v, Config& c) { return parse_integer(v, 1, INT32_MAX, c.group_session_timeout_ms_min); }},
      {"group.max.session.timeout.ms", [](const std::string& v, Config& c) { return parse_integer(v, 1, INT32_MAX, c.group_session_timeout_ms_max); }},
      {"group.initial.rebalance.delay.ms", [](const std::string& v, Config& c) { return parse_integer(v, 0, INT32_MAX, c.group_initial_rebalance_delay_ms); }},
      {"group.max.size", [](const std::string& v, Config& c) { return parse_integer(v, 1, INT32_MAX, c.group_size_max); }},
      {"offsets.topic.num.partitions", [](const std::string& v, Config& c) { return parse_integer(v, 1, 10000, c.offsets_topic_partitions); }},
      {"offsets.topic.segment.bytes", [](const std::string& v, Config& c) { return parse_integer<std::uint64_t>(v, 1024, INT32_MAX, c.offsets_topic_segment_bytes); }},
      {"offsets.topic.replication.factor", [](const std::string& v, Config&) { std::int32_t factor; return parse_integer(v, 1, 1, factor); }},
      {"offsets.retention.minutes", [](const std::string& v, Config& c) {
         std::int64_t minutes;
         if (!parse_integer<std::int64_t>(v, 1, INT64_MAX / 60000, minutes)) return false;
         c.offsets_retention_ms = minutes * 60000;
         return true;
       }},
      {"offsets.retention.check.interval.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 1, INT64_MAX / 2, c.offsets_retention_check_ms); }},
      {"offset.metadata.max.bytes", [](const std::string& v, Config& c) { return parse_integer<std::uint32_t>(v, 0, INT32_MAX, c.offset_metadata_bytes_max); }},
      {"flush.mode", [](const std::string& v, Config& c) {
         if (v != "durable" && v != "async") return false;
         c.flush_durable = v == "durable";
         return true;
       }},
      {"log.flush.interval.messages", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 1, INT64_MAX, c.flush_messages); }},
      {"log.flush.interval.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 0, INT64_MAX, c.flush_ms); }},
      {"log.flush.scheduler.interval.ms", [](const std::string& v, Config& c) {
         // Kafka's default (Long.MAX_VALUE) means "never"; we check at least once a minute.
         std::int64_t ms;
         if (!parse_integer<std::int64_t>(v, 1, INT64_MAX, ms)) return false;
         c.flush_check_ms = std::min<std::int64_t>(ms, 60000);
         return true;
       }},
      {"flush.writebehind.bytes", [](const std::string& v, Config& c) { return parse_integer<std::uint32_t>(v, 0, 1u << 30, c.flush_writebehind_bytes); }},
      {"log.flush.offset.checkpoint.interval.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 100, INT32_MAX, c.checkpoint_interval_ms); }},
      {"producer.id.expiration.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 1, INT64_MAX / 2, c.producer_expiration_ms); }},
      {"producer.id.expiration.check.interval.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 1, INT32_MAX, c.producer_expiration_check_ms); }},
      {"producer.state.max.per.partition", [](const std::string& v, Config& c) { return parse_integer(v, 1, 100000000, c.producers_max); }},
      {"log.retention.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, -1, INT64_MAX / 2, c.retention_ms); }},
      {"log.retention.minutes", [](const std::string& v, Config& c) {
         std::int64_t minutes;
         if (!parse_integer<std::int64_t>(v, -1, INT64_MAX / 60000, minutes)) return false;
         c.retention_ms = minutes < 0 ? -1 : minutes * 60000;
         return true;
       }},
      {"log.retention.hours", [](const std::string& v, Config& c) {
         std::int64_t hours;
         if (!parse_integer<std::int64_t>(v, -1, INT64_MAX / 3600000, hours)) return false;
         c.retention_ms = hours < 0 ? -1 : hours * 3600000;
         return true;
       }},
      {"log.retention.bytes", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, -1, INT64_MAX, c.retention_bytes); }},
      {"log.retention.check.interval.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 1, INT32_MAX, c.retention_check_ms); }},
      {"storage.faults", [](const std::string& v, Config& c) { c.storage_faults = v; return true; }},
      {"log.cleanup.policy", [](const std::string& v, Config& c) {
         std::string policy;
         for (const auto& part : split(v, ',')) {
           if (part != "delete" && part != "compact") return false;
           policy += (policy.empty() ? "" : ",") + part;
         }
         if (policy.empty()) return false;
         c.cleanup_policy = policy;
         return true;
       }},
      {"log.cleaner.enable", [](const std::string& v, Config& c) { return parse_bool(v, c.cleaner_enable); }},
      {"log.cleaner.threads", [](const std::string& v, Config& c) { return parse_integer(v, 1, 64, c.cleaner_threads); }},
      {"log.cleaner.cpus", [](const std::string& v, Config& c) { return parse_cpus(v, c.cleaner_cpus); }},
      {"log.cleaner.io.max.bytes.per.second", [](const std::string& v, Config& c) { return parse_double(v, 1, 1.7976931348623157e308, c.cleaner_io_bytes_per_second); }},
      {"log.cleaner.dedupe.buffer.size", [](const std::string& v, Config& c) { return parse_integer<std::uint64_t>(v, 1 << 16, 1ull << 40, c.cleaner_dedupe_buffer_bytes); }},
      {"log.cleaner.backoff.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 0, INT32_MAX, c.cleaner_backoff_ms); }},
      {"log.cleaner.min.cleanable.ratio", [](const std::string& v, Config& c) { return parse_double(v, 0, 1, c.cleaner_min_cleanable_ratio); }},
      {"log.cleaner.min.compaction.lag.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 0, INT64_MAX, c.cleaner_min_compaction_lag_ms); }},
      {"log.cleaner.max.compaction.lag.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 1, INT64_MAX, c.cleaner_max_compaction_lag_ms); }},
      {"log.cleaner.delete.retention.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 0, INT64_MAX, c.cleaner_delete_retention_ms); }},
      {"metrics.listener", [](const std::string& v, Config& c) {
         if (v.empty() || v == "none") {
           c.metrics_enabled = false;
           return true;
         }
         std::size_t colon = v.rfind(':');
         if (colon == std::string::npos) return false;
         std::string host = v.substr(0, colon);
         if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
         if (!parse_integer<std::uint16_t>(v.substr(colon + 1), 0, 65535, c.metrics_port)) return false;
         c.metrics_host = host;
         c.metrics_enabled = true;
         return true;
       }},
      {"shutdown.timeout.ms", [](const std::string& v, Config& c) { return parse_integer<std::int64_t>(v, 1, 24ll * 3600 * 1000, c.shutdown_timeout_ms); }},
      {"log.level", [](const std::string& v, Config& c) {
         if (v != "debug" && v != "info" && v != "warn" && v != "error") return false;
         c.log_level = v;
         return true;
       }},
  };
  return table;
}

}  // namespace

Result<Listener> parse_listener(const std::string& text) {
  std::string value = trim(text);
  Listener listener;
  std::size_t scheme = value.find("://");
  if (scheme != std::string::npos) {
    listener.name = value.substr(0, scheme);
    value = value.substr(scheme + 3);
  }
  std::size_t colon = value.rfind(':');
  if (colon == std::string::npos) return Status::error("listener needs host:port");
  listener.host = value.substr(0, colon);
  if (listener.host.size() >= 2 && listener.host.front() == '[' && listener.host.back() == ']')
    listener.host = listener.host.substr(1, listener.host.size() - 2);
  if (!parse_integer<std::uint16_t>(value.substr(colon + 1), 0, 65535, listener.port))
    return Status::error("bad port");
  if (listener.name != "PLAINTEXT") return Status::error("only PLAINTEXT listeners are served");
  return listener;
}

Result<std::map<std::string, std::string>> read_properties_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::from_errno(errno == 0 ? ENOENT : errno, "open " + path);
  std::map<std::string, std::string> properties;
  std::string line;
  while (std::getline(in, line)) {
    std::string text = trim(line);
    if (text.empty() || text[0] == '#' || text[0] == '!') continue;
    std::size_t separator = text.find_first_of("=:");
    if (separator == std::string::npos) {
      properties[text] = "";
      continue;
    }
    properties[trim(text.substr(0, separator))] = trim(text.substr(separator + 1));
  }
  return properties;
}

Status apply_properties(const std::map<std::string, std::string>& properties, Config& config,
                        std::vector<std::string>& unknown_keys) {
  const auto& table = setters();
  // node.id wins over broker.id when both are given, as in Kafka's KRaft mode.
  for (const auto& [key, value] : properties) {
    auto setter = table.find(key);
    if (setter == table.end()) {
      unknown_keys.push_back(key);
      continue;
    }
    if (key == "broker.id" && properties.count("node.id")) continue;
    if (!setter->second(value, config))
      return Status::error("bad value for " + key + ": '" + value + "'");
    config.static_properties[key] = value;
  }
  return Status::ok();
}

std::string check_broker_property(const std::string& key, const std::string& value) {
  const auto& table = setters();
  auto setter = table.find(key);
  if (setter == table.end()) return "unknown broker config " + key;
  Config scratch;
  if (!setter->second(value, scratch)) return "invalid value '" + value + "' for " + key;
  return "";
}

std::map<std::string, std::optional<std::string>> broker_config_values(const Config& c) {
  auto number = [](auto value) { return std::optional<std::string>(std::to_string(value)); };
  auto flag = [](bool value) { return std::optional<std::string>(value ? "true" : "false"); };
  auto cpus = [](const std::vector<int>& list) {
    std::string text;
    for (int cpu : list) text += (text.empty() ? "" : ",") + std::to_string(cpu);
    return std::optional<std::string>(text);
  };
  auto listeners = [](const std::vector<Listener>& list) {
    std::string text;
    for (const auto& l : list) text += (text.empty() ? "" : ",") + l.name + "://" + l.host + ":" + std::to_string(l.port);
    return std::optional<std::string>(text);
  };
  auto as_set = [&c](const char* key) -> std::optional<std::string> {
    auto it = c.static_properties.find(key);
    if (it == c.static_properties.end()) return std::nullopt;
    return it->second;
  };
  std::string dirs;
  for (const auto& dir : c.log_dirs) dirs += (dirs.empty() ? "" : ",") + dir;
  char ratio[32], io_rate[32];
  std::snprintf(ratio, sizeof ratio, "%g", c.cleaner_min_cleanable_ratio);
  std::snprintf(io_rate, sizeof io_rate, "%.17g", c.cleaner_io_bytes_per_second);
  return {
      {"listeners", listeners(c.listeners)},
      {"advertised.listeners", c.advertised_listeners.empty() ? std::nullopt : listeners(c.advertised_listeners)},
      {"log.dirs", dirs},
      {"log.dir", as_set("log.dir")},
      {"node.id", number(c.node_id)},
      {"broker.id", number(c.node_id)},
      {"num.partitions", number(c.partitions_default)},
      {"default.replication.factor", number(c.replication_factor_default)},
      {"auto.create.topics.enable", flag(c.topic_auto_create)},
      {"delete.topic.enable", flag(c.topic_delete_enable)},
      {"log.segment.bytes", number(c.segment_bytes)},
      {"log.roll.ms", number(c.segment_ms)},
      {"log.roll.hours", as_set("log.roll.hours")},
      {"message.max.bytes", number(c.message_bytes_max)},
      {"socket.request.max.bytes", number(c.request_bytes_max)},
      {"log.index.interval.bytes", number(c.index_interval_bytes)},
      {"log.index.size.max.bytes", number(c.index_bytes_max)},
      {"log.message.timestamp.type", std::string(c.log_append_time ? "LogAppendTime" : "CreateTime")},
      {"num.network.threads", number(c.network_threads)},
      {"num.io.threads", number(c.io_threads)},
      {"num.recovery.threads.per.data.dir", number(c.recovery_threads)},
      {"socket.send.buffer.bytes", number(c.socket_send_buffer_bytes)},
      {"socket.receive.buffer.bytes", number(c.socket_receive_buffer_bytes)},
      {"network.cpus", cpus(c.network_cpus)},
      {"io.cpus", cpus(c.io_cpus)},
      {"fetch.threads", number(c.fetch_threads)},
      {"fetch.cpus", cpus(c.fetch_cpus)},
      {"max.connections", number(c.connections_max)},
      {"queued.max.requests", number(c.connection_requests_inflight_max)},
      {"queued.max.request.bytes", number(c.inflight_bytes_max)},
      {"partitions.max", number(c.partitions_max)},
      {"fetch.purgatory.max", number(c.fetch_parked_max)},
      {"fetch.transfer", c.fetch_transfer},
      {"fetch.send.chunk.bytes", number(c.fetch_send_chunk_bytes)},
      {"network.io_uring.defer.taskrun", flag(c.network_defer_taskrun)},
      {"network.recv.buffers", number(c.network_recv_buffers)},
      {"network.recv.buffer.bytes", number(c.network_recv_buffer_bytes)},
      {"group.min.session.timeout.ms", number(c.group_session_timeout_ms_min)},
      {"group.max.session.timeout.ms", number(c.group_session_timeout_ms_max)},
      {"group.initial.rebalance.delay.ms", number(c.group_initial_rebalance_delay_ms)},
      {"group.max.size", number(c.group_size_max)},
      {"offsets.topic.num.partitions", number(c.offsets_topic_partitions)},
      {"offsets.topic.segment.bytes", number(c.offsets_topic_segment_bytes)},
      {"offsets.topic.replication.factor", std::string("1")},
      {"offsets.retention.minutes", number(c.offsets_retention_ms / 60000)},
      {"offsets.retention.check.interval.ms", number(c.offsets_retention_check_ms)},
      {"offset.metadata.max.bytes", number(c.offset_metadata_bytes_max)},
      {"flush.mode", std::string(c.flush_durable ? "durable" : "async")},
      {"log.flush.interval.messages", number(c.flush_messages)},
      {"log.flush.interval.ms", number(c.flush_ms)},
      {"log.flush.scheduler.interval.ms", number(c.flush_check_ms)},
      {"flush.writebehind.bytes", number(c.flush_writebehind_bytes)},
      {"log.flush.offset.checkpoint.interval.ms", number(c.checkpoint_interval_ms)},
      {"producer.id.expiration.ms", number(c.producer_expiration_ms)},
      {"producer.id.expiration.check.interval.ms", number(c.producer_expiration_check_ms)},
      {"producer.state.max.per.partition", number(c.producers_max)},
      {"log.retention.ms", number(c.retention_ms)},
      {"log.retention.minutes", as_set("log.retention.minutes")},
      {"log.retention.hours", as_set("log.retention.hours")},
      {"log.retention.bytes", number(c.retention_bytes)},
      {"log.retention.check.interval.ms", number(c.retention_check_ms)},
      {"storage.faults", c.storage_faults},
      {"log.level", c.log_level},
      {"shutdown.timeout.ms", number(c.shutdown_timeout_ms)},
      {"metrics.listener", std::string(c.metrics_enabled ? (c.metrics_host.find(':') != std::string::npos ? "[" + c.metrics_host + "]" : c.metrics_host) + ":" + std::to_string(c.metrics_port) : "none")},
      {"log.cleanup.policy", c.cleanup_policy},
      {"log.cleaner.enable", flag(c.cleaner_enable)},
      {"log.cleaner.threads", number(c.cleaner_threads)},
      {"log.cleaner.cpus", cpus(c.cleaner_cpus)},
      {"log.cleaner.io.max.bytes.per.second", std::string(io_rate)},
      {"log.cleaner.dedupe.buffer.size", number(c.cleaner_dedupe_buffer_bytes)},
      {"log.cleaner.backoff.ms", number(c.cleaner_backoff_ms)},
      {"log.cleaner.min.cleanable.ratio", std::string(ratio)},
      {"log.cleaner.min.compaction.lag.ms", number(c.cleaner_min_compaction_lag_ms)},
      {"log.cleaner.max.compaction.lag.ms", number(c.cleaner_max_compaction_lag_ms)},
      {"log.cleaner.delete.retention.ms", number(c.cleaner_delete_retention_ms)},
  };
}

}  // namespace sluice
