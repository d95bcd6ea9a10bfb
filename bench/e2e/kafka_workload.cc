#include "kafka_workload.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "../../tools/kafka_client.h"
#include "base/assert.h"
#include "kafka_consumer.h"
#include "kafka_producer.h"
#include "perf_io.h"
#include "perf_json.h"
#include "protocol/create_topics.h"
#include "protocol/fetch.h"
#include "protocol/list_offsets.h"
#include "protocol/produce.h"

namespace sluice::perf {
namespace {

namespace p = sluice::protocol;

constexpr std::int16_t topic_already_exists = 36;

int codec_of(const std::string& name) {
  if (name == "none") return 0;
  if (name == "gzip") return 1;
  if (name == "snappy") return 2;
  if (name == "lz4") return 3;
  if (name == "zstd") return 4;
  fail("--compression %s: expected none, gzip, snappy, lz4 or zstd", name.c_str());
}

// Creates `topic` unless it exists, then waits (bounded) until Metadata lists every partition.
void create_topic(tools::Cluster& cluster, const std::string& topic, int partitions,
                  const std::vector<std::string>& configs, int timeout_ms) {
  p::CreateTopicsRequest request;
  request.timeout_ms = timeout_ms;
  request.topics.resize(1);
  request.topics[0].name = topic;
  request.topics[0].num_partitions = partitions;
  request.topics[0].replication_factor = 1;
  for (const std::string& config : configs) {
    std::size_t equals = config.find('=');
    if (equals == std::string::npos) fail("--topic-config %s is not key=value", config.c_str());
    request.topics[0].configs.push_back({config.substr(0, equals), config.substr(equals + 1)});
  }
  tools::Connection& connection = cluster.bootstrap();
  auto version = connection.version_for<p::CreateTopicsRequest>();
  auto response = connection.call<p::CreateTopicsRequest, p::CreateTopicsResponse>(request, version);
  for (const auto& result : response.topics)
    if (result.error_code != 0 && result.error_code != topic_already_exists)
      fail("CreateTopics %s: %s", topic.c_str(), tools::kafka_error_name(result.error_code).c_str());
  std::int64_t deadline = now_ns() + std::int64_t{timeout_ms} * 1000000;
  for (;;) {
    auto metadata = cluster.metadata(std::vector<std::string>{topic});
    if (!metadata.topics.empty() && metadata.topics[0].error_code == 0 &&
        static_cast<int>(metadata.topics[0].partitions.size()) >= partitions)
      return;
    if (now_ns() > deadline) fail("topic %s did not show %d partitions in time", topic.c_str(), partitions);
    usleep(20000);
  }
}

// The partition count of an existing topic (fails when it does not exist).
int partition_count(tools::Cluster& cluster, const std::string& topic) {
  auto metadata = cluster.metadata(std::vector<std::string>{topic});
  if (metadata.topics.empty() || metadata.topics[0].error_code != 0)
    fail("topic %s: not found", topic.c_str());
  return static_cast<int>(metadata.topics[0].partitions.size());
}

// ListOffsets (-1 latest, -2 earliest) of partitions 0..count-1.
std::vector<std::int64_t> list_offsets(tools::Cluster& cluster, const std::string& topic, int count,
                                       std::int64_t timestamp) {
  p::ListOffsetsRequest request;
  request.topics.resize(1);
  request.topics[0].name = topic;
  for (int i = 0; i < count; ++i) {
    p::ListOffsetsRequest::Partition partition;
    partition.partition_index = i;
    partition.timestamp = timestamp;
    request.topics[0].partitions.push_back(partition);
  }
  tools::Connection& connection = cluster.bootstrap();
  auto version = connection.version_for<p::ListOffsetsRequest>();
  auto response = connection.call<p::ListOffsetsRequest, p::ListOffsetsResponse>(request, version);
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(count), -1);
  for (const auto& t : response.topics)
    for (const auto& partition : t.partitions) {
      if (partition.error_code != 0)
        fail("ListOffsets %s-%d: %s", topic.c_str(), partition.partition_index,
             tools::kafka_error_name(partition.error_code).c_str());
      if (partition.partition_index >= 0 && partition.partition_index < count)
        offsets[static_cast<std::size_t>(partition.partition_index)] = partition.offset;
    }
  return offsets;
}

// Partitions of connection `index` of `connections`: every p with p % connections == index, or
// (more connections than partitions) partition index % partitions.
std::vector<std::int32_t> share(int index, int connections, int partitions) {
  std::vector<std::int32_t> mine;
  for (int partition = index; partition < partitions; partition += connections) mine.push_back(partition);
  if (mine.empty()) mine.push_back(index % partitions);
  return mine;
}

struct Window {
  std::int64_t start_ns;
  std::int64_t measure_start_ns;
  std::int64_t measure_end_ns;
};

void write_producers(Json& json, const std::vector<ProducerResult>& results, double window_s) {
  ProducerResult total;
  for (const ProducerResult& r : results) {
    total.records += r.records;
    total.batches += r.batches;
    total.payload_bytes += r.payload_bytes;
    total.batch_bytes += r.batch_bytes;
    total.errors += r.errors;
    total.late_batches += r.late_batches;
    if (total.first_error == 0) total.first_error = r.first_error;
    total.latency.merge(r.latency);
  }
  json.key("produce").begin_object();
  json.field("records", total.records);
  json.field("batches", total.batches);
  json.field("payload_bytes", total.payload_bytes);
  json.field("batch_bytes", total.batch_bytes);
  json.field("records_per_s", static_cast<double>(total.records) / window_s);
  json.field("mb_per_s", static_cast<double>(total.payload_bytes) / window_s / 1e6);
  json.field("errors", total.errors);
  json.field("first_error", tools::kafka_error_name(total.first_error));
  json.field("late_batches", total.late_batches);
  total.latency.write_json(json, "latency");
  json.end_object();
}

void write_consumers(Json& json, const std::vector<ConsumerResult>& results, double window_s) {
  ConsumerResult total;
  bool all_reached = true;
  for (const ConsumerResult& r : results) {
    total.records += r.records;
    total.batches += r.batches;
    total.batch_bytes += r.batch_bytes;
    total.fetches += r.fetches;
    total.empty_fetches += r.empty_fetches;
    total.errors += r.errors;
    total.crc_errors += r.crc_errors;
    if (total.first_error == 0) total.first_error = r.first_error;
    all_reached = all_reached && r.reached_end;
    total.e2e_latency.merge(r.e2e_latency);
  }
  json.key("consume").begin_object();
  json.field("records", total.records);
  json.field("batches", total.batches);
  json.field("batch_bytes", total.batch_bytes);
  json.field("records_per_s", static_cast<double>(total.records) / window_s);
  json.field("mb_per_s", static_cast<double>(total.batch_bytes) / window_s / 1e6);
  json.field("fetches", total.fetches);
  json.field("empty_fetches", total.empty_fetches);
  json.field("errors", total.errors);
  json.field("first_error", tools::kafka_error_name(total.first_error));
  json.field("crc_errors", total.crc_errors);
  json.field("reached_end", all_reached);
  total.e2e_latency.write_json(json, "e2e_latency");
  json.end_object();
}

}  // namespace

int command_create_topic(Options& options) {
  std::string bootstrap = options.get_string("bootstrap", "127.0.0.1:9092");
  std::string topic = options.get_string("topic", "perf");
  int partitions = static_cast<int>(options.get_int("partitions", 1));
  auto configs = options.get_string_list("topic-config", "");
  int timeout_ms = static_cast<int>(options.get_int("timeout-ms", 120000));
  options.check_all_used();
  std::int64_t start = now_ns();
  tools::Cluster cluster(bootstrap, timeout_ms);
  create_topic(cluster, topic, partitions, configs, timeout_ms);
  Json json;
  json.begin_object().field("command", "create-topic").field("topic", topic).field("partitions", partitions);
  json.field("seconds", static_cast<double>(now_ns() - start) / 1e9).end_object();
  std::printf("%s\n", json.text().c_str());
  return 0;
}

int command_kafka(Options& options) {
  std::string bootstrap = options.get_string("bootstrap", "127.0.0.1:9092");
  std::string topic = options.get_string("topic", "perf");
  int partitions = static_cast<int>(options.get_int("partitions", 4));
  bool create = options.get_int("create", 1) != 0;
  auto topic_configs = options.get_string_list("topic-config", "");
  int producers = static_cast<int>(options.get_int("producers", 1));
  int consumers = static_cast<int>(options.get_int("consumers", 0));
  BatchShape shape;
  shape.value_bytes = static_cast<int>(options.get_int("record-bytes", 100));
  shape.record_count = static_cast<int>(options.get_int("batch-records", 0));
  std::int64_t batch_bytes_target = options.get_int("batch-bytes", 128 * 1024);
  shape.key_bytes = static_cast<int>(options.get_int("key-bytes", 0));
  shape.key_space = static_cast<std::uint32_t>(options.get_int("keys", 10000));
  shape.compression = codec_of(options.get_string("compression", "none"));
  auto acks = static_cast<std::int16_t>(options.get_int("acks", -1));
  int window = static_cast<int>(options.get_int("window", 8));
  double rate = options.get_double("rate", 0);  // records/s over all producers; 0: unlimited
  double warmup_s = options.get_double("warmup-s", 2);
  double duration_s = options.get_double("duration-s", 10);
  std::string from = options.get_string("from", "latest");
  bool until_end = options.get_int("until-end", 0) != 0;
  int broker_pid = static_cast<int>(options.get_int("broker-pid", 0));
  int producer_cpu = static_cast<int>(options.get_int("producer-cpu", -1));
  int consumer_cpu = static_cast<int>(options.get_int("consumer-cpu", -1));
  int timeout_ms = static_cast<int>(options.get_int("timeout-ms", 30000));
  ConsumerConfig consumer_base;
  consumer_base.max_wait_ms = static_cast<int>(options.get_int("fetch-max-wait-ms", 500));
  consumer_base.max_bytes = static_cast<int>(options.get_int("fetch-max-bytes", 64 << 20));
  consumer_base.partition_max_bytes = static_cast<int>(options.get_int("fetch-partition-max-bytes", 8 << 20));
  consumer_base.check_crc = options.get_int("check-crc", 0) != 0;
  options.check_all_used();
  if (shape.record_count <= 0)
    shape.record_count = static_cast<int>(std::max<std::int64_t>(1, batch_bytes_target / std::max(1, shape.value_bytes + shape.key_bytes)));
  if (producers < 0 || consumers < 0 || producers + consumers == 0) fail("need --producers or --consumers");
  if (from != "latest" && from != "earliest") fail("--from latest|earliest");

  std::string host;
  int port;
  split_address(bootstrap, &host, &port);
  tools::Cluster cluster(bootstrap, timeout_ms);
  if (create) create_topic(cluster, topic, partitions, topic_configs, timeout_ms);
  partitions = partition_count(cluster, topic);
  std::vector<std::int64_t> starts, ends;
  if (consumers > 0) {
    starts = list_offsets(cluster, topic, partitions, from == "latest" ? -1 : -2);
    if (until_end) ends = list_offsets(cluster, topic, partitions, -1);
  }

  Window w;
  w.start_ns = now_ns() + 300 * 1000000LL;  // time for every thread to connect
  w.measure_start_ns = w.start_ns + static_cast<std::int64_t>(warmup_s * 1e9);
  w.measure_end_ns = w.measure_start_ns + static_cast<std::int64_t>(duration_s * 1e9);
  std::vector<ProducerResult> producer_results(static_cast<std::size_t>(producers));
  std::vector<ConsumerResult> consumer_results(static_cast<std::size_t>(consumers));
  std::vector<std::thread> threads;
  for (int i = 0; i < producers; ++i) {
    ProducerConfig config;
    config.host = host;
    config.port = port;
    config.topic = topic;
    config.partitions = share(i, producers, partitions);
    config.partition_count = static_cast<std::uint32_t>(partitions);
    config.shape = shape;
    config.acks = acks;
    config.window = window;
    config.batches_per_s = rate > 0 ? rate / shape.record_count / producers : 0;
    config.start_ns = w.start_ns;
    config.measure_start_ns = w.measure_start_ns;
    config.measure_end_ns = w.measure_end_ns;
    config.timeout_ms = timeout_ms;
    config.cpu = producer_cpu;
    config.seed = 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(i + 1);
    threads.emplace_back(run_producer, config, &producer_results[static_cast<std::size_t>(i)]);
  }
  for (int i = 0; i < consumers; ++i) {
    ConsumerConfig config = consumer_base;
    config.host = host;
    config.port = port;
    config.topic = topic;
    config.partitions = share(i, consumers, partitions);
    for (std::int32_t partition : config.partitions) {
      config.start_offsets.push_back(starts[static_cast<std::size_t>(partition)]);
      if (until_end) config.end_offsets.push_back(ends[static_cast<std::size_t>(partition)]);
    }
    config.start_ns = w.start_ns;
    config.measure_start_ns = w.measure_start_ns;
    // A consumer keeps counting for a moment after the producers stop, for batches in flight.
    config.measure_end_ns = w.measure_end_ns;
    config.stop_ns = w.measure_end_ns + (producers > 0 ? 500 * 1000000LL : 0);
    config.timeout_ms = timeout_ms;
    config.cpu = consumer_cpu;
    threads.emplace_back(run_consumer, config, &consumer_results[static_cast<std::size_t>(i)]);
  }

  // The CPU of the broker and of this process over the measured window.
  sleep_until_ns(w.measure_start_ns);
  double broker_cpu_start = broker_pid > 0 ? proc_cpu_s(broker_pid) : -1;
  std::int64_t self_cpu_start = process_cpu_ns();
  std::int64_t t_start = now_ns();
  double broker_cpu_end = -1;
  std::int64_t self_cpu_end = 0, t_end = 0;
  bool catch_up = producers == 0 && until_end;
  if (!catch_up) {
    sleep_until_ns(w.measure_end_ns);
    broker_cpu_end = broker_pid > 0 ? proc_cpu_s(broker_pid) : -1;
    self_cpu_end = process_cpu_ns();
    t_end = now_ns();
  }
  for (std::thread& thread : threads) thread.join();
  double window_s = duration_s;
  if (catch_up) {
    // A catch-up read ends when the last consumer reached its end offsets.
    broker_cpu_end = broker_pid > 0 ? proc_cpu_s(broker_pid) : -1;
    self_cpu_end = process_cpu_ns();
    std::int64_t last = w.measure_start_ns;
    for (const ConsumerResult& r : consumer_results) last = std::max(last, r.last_batch_ns);
    t_end = now_ns();
    window_s = std::max(1e-6, static_cast<double>(last - w.measure_start_ns) / 1e9);
  }

  Json json;
  json.begin_object().field("command", "kafka");
  json.key("config").begin_object();
  json.field("topic", topic).field("partitions", partitions).field("producers", producers).field("consumers", consumers);
  json.field("record_bytes", shape.value_bytes).field("key_bytes", shape.key_bytes).field("batch_records", shape.record_count);
  json.field("compression", shape.compression).field("acks", static_cast<int>(acks)).field("window", window);
  json.field("rate", rate).field("warmup_s", warmup_s).field("duration_s", duration_s).field("from", from);
  json.field("until_end", until_end).end_object();
  json.field("window_s", window_s);
  if (producers > 0) write_producers(json, producer_results, window_s);
  if (consumers > 0) write_consumers(json, consumer_results, window_s);
  double wall_s = static_cast<double>(t_end - t_start) / 1e9;
  double client_cpu_s = static_cast<double>(self_cpu_end - self_cpu_start) / 1e9;
  json.key("client").begin_object().field("cpu_s", client_cpu_s).field("wall_s", wall_s);
  json.field("cpu_share", wall_s > 0 ? client_cpu_s / wall_s : 0.0).end_object();
  if (broker_pid > 0) {
    double broker_cpu_s = broker_cpu_end - broker_cpu_start;
    json.key("broker").begin_object().field("pid", broker_pid).field("cpu_s", broker_cpu_s);
    json.field("cpu_share", wall_s > 0 ? broker_cpu_s / wall_s : 0.0);
    json.field("rss_kib", proc_rss_kib(broker_pid)).end_object();
  }
  json.end_object();
  std::printf("%s\n", json.text().c_str());
  return 0;
}

}  // namespace sluice::perf
