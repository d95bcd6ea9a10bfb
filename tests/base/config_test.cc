// Checks that Kafka property names map to the right fields, that bad values are refused with the
// key and value named, and that unknown keys are reported rather than fatal.
#include "base/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace sluice {
namespace {

TEST(Config, KafkaNamesMapToFields) {
  Config config;
  std::vector<std::string> unknown;
  std::map<std::string, std::string> properties = {
      {"listeners", "PLAINTEXT://127.0.0.1:19092"}, {"log.dirs", "/var/lib/sluice"},
      {"node.id", "7"},                              {"num.partitions", "3"},
      {"auto.create.topics.enable", "false"},        {"log.segment.bytes", "1048576"},
      {"log.roll.hours", "2"},                       {"message.max.bytes", "5000"},
      {"socket.request.max.bytes", "2000000"},       {"num.network.threads", "3"},
      {"num.io.threads", "4"},                       {"log.index.interval.bytes", "128"},
      {"advertised.listeners", "PLAINTEXT://example.com:9093"},
      {"network.cpus", "0-1,3"},
      {"network.io_uring.defer.taskrun", "false"},    {"network.recv.buffers", "0"},
      {"network.recv.buffer.bytes", "65536"},        {"num.recovery.threads.per.data.dir", "6"},
      {"socket.send.buffer.bytes", "102400"},        {"socket.receive.buffer.bytes", "-1"},
  };
  ASSERT_TRUE(apply_properties(properties, config, unknown).is_ok());
  EXPECT_TRUE(unknown.empty());
  ASSERT_EQ(config.listeners.size(), 1u);
  EXPECT_EQ(config.listeners[0].host, "127.0.0.1");
  EXPECT_EQ(config.listeners[0].port, 19092);
  EXPECT_EQ(config.log_dirs.at(0), "/var/lib/sluice");
  EXPECT_EQ(config.node_id, 7);
  EXPECT_EQ(config.partitions_default, 3);
  EXPECT_EQ(config.recovery_threads, 6);
  EXPECT_EQ(config.socket_send_buffer_bytes, 102400);
  EXPECT_EQ(config.socket_receive_buffer_bytes, -1);
  EXPECT_FALSE(config.topic_auto_create);
  EXPECT_EQ(config.segment_bytes, 1048576u);
  EXPECT_EQ(config.segment_ms, 2 * 3600 * 1000);
  EXPECT_EQ(config.message_bytes_max, 5000u);
  EXPECT_EQ(config.request_bytes_max, 2000000u);
  EXPECT_EQ(config.network_threads, 3);
  EXPECT_EQ(config.io_threads, 4);
  EXPECT_EQ(config.index_interval_bytes, 128u);
  ASSERT_EQ(config.advertised_listeners.size(), 1u);
  EXPECT_EQ(config.advertised_listeners[0].host, "example.com");
  EXPECT_EQ(config.network_cpus, (std::vector<int>{0, 1, 3}));
  EXPECT_FALSE(config.network_defer_taskrun);
  EXPECT_EQ(config.network_recv_buffers, 0);
  EXPECT_EQ(config.network_recv_buffer_bytes, 65536);
}

TEST(Config, BadValueNamesKeyAndValue) {
  const std::pair<const char*, const char*> bad[] = {
      {"num.partitions", "zero"}, {"num.partitions", "0"},       {"listeners", "127.0.0.1"},
      {"node.id", "-1"},          {"auto.create.topics.enable", "yes"}, {"log.segment.bytes", "10"},
      {"listeners", "SSL://127.0.0.1:9093"}, {"num.network.threads", "65"},
      {"network.recv.buffers", "300"}, {"network.recv.buffer.bytes", "100"},
  };
  for (auto [key, value] : bad) {
    Config config;
    std::vector<std::string> unknown;
    Status status = apply_properties({{key, value}}, config, unknown);
    ASSERT_FALSE(status.is_ok()) << key << "=" << value;
    EXPECT_NE(status.message().find(key), std::string::npos) << status.message();
    EXPECT_NE(status.message().find(value), std::string::npos) << status.message();
  }
}

TEST(Config, UnknownKeysAreReportedNotFatal) {
  Config config;
  std::vector<std::string> unknown;
  ASSERT_TRUE(apply_properties({{"zookeeper.connect", "localhost:2181"}, {"num.partitions", "2"}}, config, unknown).is_ok());
  EXPECT_EQ(unknown, std::vector<std::string>{"zookeeper.connect"});
  EXPECT_EQ(config.partitions_default, 2);
}

TEST(Config, NodeIdWinsOverBrokerId) {
  Config config;
  std::vector<std::string> unknown;
  ASSERT_TRUE(apply_properties({{"broker.id", "3"}, {"node.id", "5"}}, config, unknown).is_ok());
  EXPECT_EQ(config.node_id, 5);
}

TEST(Config, ReadsPropertiesFiles) {
  char path[] = "/tmp/sluice-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "# comment\n! also a comment\n\nlisteners = PLAINTEXT://:9092\nlog.dirs: /data\nnum.partitions=4\n";
  }
  auto properties = read_properties_file(path);
  std::remove(path);
  ASSERT_TRUE(properties.is_ok());
  EXPECT_EQ(properties.value().size(), 3u);
  EXPECT_EQ(properties.value().at("listeners"), "PLAINTEXT://:9092");
  EXPECT_EQ(properties.value().at("log.dirs"), "/data");
  auto listener = parse_listener("PLAINTEXT://:9092");
  ASSERT_TRUE(listener.is_ok());
  EXPECT_EQ(listener.value().host, "");
  EXPECT_FALSE(read_properties_file("/nonexistent/sluice.properties").is_ok());
}

// metrics.listener: host:port (IPv6 in brackets), "" or "none" to turn it off; a value without a
// port or with a bad one is refused. Checks each case and the text DescribeConfigs reports.
TEST(Config, MetricsListener) {
  Config config;
  std::vector<std::string> unknown;
  EXPECT_TRUE(config.metrics_enabled);
  EXPECT_EQ(broker_config_values(config).at("metrics.listener"), "127.0.0.1:9644");
  ASSERT_TRUE(apply_properties({{"metrics.listener", "0.0.0.0:9100"}}, config, unknown).is_ok());
  EXPECT_EQ(config.metrics_host, "0.0.0.0");
  EXPECT_EQ(config.metrics_port, 9100);
  ASSERT_TRUE(apply_properties({{"metrics.listener", "[::1]:9101"}}, config, unknown).is_ok());
  EXPECT_EQ(config.metrics_host, "::1");
  EXPECT_EQ(broker_config_values(config).at("metrics.listener"), "[::1]:9101");
  ASSERT_TRUE(apply_properties({{"metrics.listener", "none"}}, config, unknown).is_ok());
  EXPECT_FALSE(config.metrics_enabled);
  EXPECT_EQ(broker_config_values(config).at("metrics.listener"), "none");
  ASSERT_TRUE(apply_properties({{"metrics.listener", ":9102"}}, config, unknown).is_ok());
  EXPECT_TRUE(config.metrics_enabled);
  EXPECT_EQ(config.metrics_host, "");
  Config empty;
  ASSERT_TRUE(apply_properties({{"metrics.listener", ""}}, empty, unknown).is_ok());
  EXPECT_FALSE(empty.metrics_enabled);
  EXPECT_FALSE(apply_properties({{"metrics.listener", "localhost"}}, config, unknown).is_ok());
  EXPECT_FALSE(apply_properties({{"metrics.listener", "localhost:99999"}}, config, unknown).is_ok());
  EXPECT_FALSE(apply_properties({{"metrics.listener", "localhost:x"}}, config, unknown).is_ok());
  EXPECT_TRUE(unknown.empty());
}

}  // namespace
}  // namespace sluice
