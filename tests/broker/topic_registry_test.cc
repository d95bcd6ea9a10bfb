// Checks topic creation and reloading: Kafka's name rules, partition directories with
// partition.metadata, config validation and persistence, that a reopened registry finds the
// same topics with the same ids, and that a creation syncs the log dir's new entries.
#include "broker/topic_registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "../storage/batch_builder.h"
#include "storage/file_io.h"

namespace sluice::broker {
namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char pattern[] = "/tmp/sluice-registry-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TEST(TopicRegistry, NameRules) {
  EXPECT_TRUE(TopicRegistry::valid_topic_name("orders.v1_A-b"));
  EXPECT_FALSE(TopicRegistry::valid_topic_name(""));
  EXPECT_FALSE(TopicRegistry::valid_topic_name("."));
  EXPECT_FALSE(TopicRegistry::valid_topic_name(".."));
  EXPECT_FALSE(TopicRegistry::valid_topic_name("has space"));
  EXPECT_FALSE(TopicRegistry::valid_topic_name("slash/name"));
  EXPECT_FALSE(TopicRegistry::valid_topic_name(std::string(250, 'a')));
  EXPECT_TRUE(TopicRegistry::valid_topic_name(std::string(249, 'a')));
}

TEST(TopicRegistry, CreateAndReload) {
  TempDir dir;
  Config config;
  config.log_dirs = {dir.path.string()};
  Uuid id;
  {
    TopicRegistry registry(config, dir.path, 2);
    ASSERT_TRUE(registry.load(true, {}, {}).is_ok());
    auto created = registry.create("events", 3, {{"max.message.bytes", "2048"}}, false);
    ASSERT_EQ(created.error, ErrorCode::none) << created.message;
    ASSERT_TRUE(created.topic);
    id = created.topic->id;
    EXPECT_EQ(created.topic->partitions.size(), 3u);
    EXPECT_EQ(created.topic->partitions[0]->settings.message_bytes_max, 2048u);
    for (int p = 0; p < 3; ++p) {
      auto partition_dir = dir.path / ("events-" + std::to_string(p));
      EXPECT_TRUE(std::filesystem::exists(partition_dir / "partition.metadata"));
      EXPECT_TRUE(std::filesystem::exists(partition_dir / "00000000000000000000.log"));
    }
    EXPECT_EQ(registry.create("events", 1, {}, false).error, ErrorCode::topic_already_exists);
    EXPECT_EQ(registry.create("bad name", 1, {}, false).error, ErrorCode::invalid_topic_exception);
    EXPECT_EQ(registry.create("zero", 0, {}, false).error, ErrorCode::invalid_partitions);
    EXPECT_EQ(registry.create("cfg", 1, {{"no.such.config", "1"}}, false).error, ErrorCode::invalid_config);
    EXPECT_EQ(registry.create("cfg", 1, {{"segment.bytes", "abc"}}, false).error, ErrorCode::invalid_config);
    EXPECT_EQ(registry.create("validate", 1, {}, true).error, ErrorCode::none);
    EXPECT_EQ(registry.find("validate"), nullptr);
    for (auto& partition : created.topic->partitions) ASSERT_TRUE(partition->log->close(true).is_ok());
  }
  TopicRegistry reopened(config, dir.path, 2);
  ASSERT_TRUE(reopened.load(true, {}, {}).is_ok());
  auto topic = reopened.find("events");
  ASSERT_TRUE(topic);
  EXPECT_EQ(topic->id, id);
  EXPECT_EQ(reopened.find(id), topic);
  EXPECT_EQ(topic->partitions.size(), 3u);
  EXPECT_EQ(topic->configs.at("max.message.bytes"), "2048");
  EXPECT_EQ(topic->partitions[2]->settings.message_bytes_max, 2048u);
  EXPECT_EQ(reopened.effective_configs(*topic).at("max.message.bytes"), "2048");
  EXPECT_EQ(reopened.effective_configs(*topic).at("cleanup.policy"), "delete");
}

// A start opens the partitions on num.recovery.threads.per.data.dir threads. After a crash each
// partition is recovered to what was appended to it (a torn tail cut off), whichever thread
// opened it; a damaged partition fails the load, and the failure reported is the first damaged
// directory in name order, not whichever thread finished first.
TEST(TopicRegistry, LoadsOnSeveralThreadsAndReportsTheFirstDamagedPartition) {
  TempDir dir;
  Config config;
  config.log_dirs = {dir.path.string()};
  config.recovery_threads = 4;
  std::map<std::string, std::int64_t> appended;  // partition directory name -> records
  std::map<std::string, Uuid> ids;
  {
    TopicRegistry registry(config, dir.path, 2);
    ASSERT_TRUE(registry.load(true, {}, {}).is_ok());
    for (auto [name, count] : {std::pair<std::string, int>{"alpha", 7}, {"beta", 5}}) {
      auto created = registry.create(name, count, {}, false);
      ASSERT_EQ(created.error, ErrorCode::none) << created.message;
      ids[name] = created.topic->id;
      for (auto& partition : created.topic->partitions) {
        const int batches = 1 + partition->index % 3, records = 2 + partition->index;
        for (int b = 0; b < batches; ++b) {
          auto batch = test::build_batch({.record_count = records});
          ASSERT_TRUE(partition->log->append(batch, 0, 1000).is_ok());
        }
        appended[name + "-" + std::to_string(partition->index)] = batches * records;
      }
    }
    // No close: the registry goes away as in a crash, the appends only in the page cache.
  }
  // A torn write at the end of one partition: recovery cuts it off.
  {
    std::ofstream torn(dir.path / "beta-2" / "00000000000000000000.log", std::ios::binary | std::ios::app);
    torn << std::string(40, '\x7f');
  }
  {
    TopicRegistry reopened(config, dir.path, 2);
    Status loaded = reopened.load(false, {}, {});
    ASSERT_TRUE(loaded.is_ok()) << loaded.to_string();
    for (const auto& [name, id] : ids) {
      auto topic = reopened.find(name);
      ASSERT_TRUE(topic) << name;
      EXPECT_EQ(topic->id, id) << name;
      ASSERT_EQ(topic->partitions.size(), name == "alpha" ? 7u : 5u);
      for (std::size_t p = 0; p < topic->partitions.size(); ++p) {
        const auto& partition = topic->partitions[p];
        EXPECT_EQ(partition->index, static_cast<std::int32_t>(p));
        EXPECT_EQ(partition->log->log_end_offset(), appended.at(name + "-" + std::to_string(p))) << name << "-" << p;
        EXPECT_EQ(partition->log->high_watermark(), partition->log->log_end_offset());
      }
    }
    for (const auto& [name, topic] : reopened.snapshot()->by_name)
      for (auto& partition : topic->partitions) ASSERT_TRUE(partition->log->close(true).is_ok());
  }
  for (const char* damaged : {"beta-1", "alpha-5"}) {
    std::ofstream metadata(dir.path / damaged / "partition.metadata", std::ios::trunc);
    metadata << "not a partition.metadata\n";
  }
  TopicRegistry damaged(config, dir.path, 2);
  Status loaded = damaged.load(true, {}, {});
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_NE(loaded.to_string().find("alpha-5"), std::string::npos) << loaded.to_string();
  EXPECT_EQ(damaged.find("alpha"), nullptr);
}

TEST(TopicRegistry, PartitionLimitRefusesWholeTopic) {
  TempDir dir;
  Config config;
  config.log_dirs = {dir.path.string()};
  config.partitions_max = 5;
  TopicRegistry registry(config, dir.path, 1);
  ASSERT_TRUE(registry.load(true, {}, {}).is_ok());
  auto first = registry.create("a", 3, {}, false);
  ASSERT_EQ(first.error, ErrorCode::none);
  auto second = registry.create("b", 3, {}, false);
  EXPECT_EQ(second.error, ErrorCode::policy_violation);
  EXPECT_NE(second.message.find("partitions.max"), std::string::npos) << second.message;
  EXPECT_EQ(registry.find("b"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir.path / "b-0"));
  EXPECT_EQ(registry.create("c", 2, {}, false).error, ErrorCode::none);
  for (auto& partition : first.topic->partitions) ASSERT_TRUE(partition->log->close(true).is_ok());
}

// Passes every call to the system and remembers which paths were fsynced.
class SyncRecordingFileIo : public storage::FileIo {
 public:
  int open(const char* path, int flags, mode_t mode) override {
    int fd = ::open(path, flags, mode);
    std::lock_guard lock(mutex_);
    if (fd >= 0) paths_[fd] = std::filesystem::path(path).lexically_normal().string();
    return fd;
  }
  int fsync(int fd) override {
    int rc = ::fsync(fd);
    std::lock_guard lock(mutex_);
    if (rc == 0) synced_.insert(paths_[fd]);
    return rc;
  }
  bool synced(const std::filesystem::path& path) {
    std::lock_guard lock(mutex_);
    return synced_.count(path.lexically_normal().string()) > 0;
  }
  void forget() {
    std::lock_guard lock(mutex_);
    synced_.clear();
  }

 private:
  std::mutex mutex_;
  std::map<int, std::string> paths_;
  std::set<std::string> synced_;
};

// A created partition's directory is a new entry in the log dir: the creation must sync the log
// dir before it answers, or a power cut could lose a whole partition directory; and each
// partition's own files and directory before that.
TEST(TopicRegistry, CreationSyncsTheLogDirectory) {
  TempDir dir;
  Config config;
  config.log_dirs = {dir.path.string()};
  SyncRecordingFileIo io;
  storage::set_file_io(&io);
  {
    TopicRegistry registry(config, dir.path, 1);
    ASSERT_TRUE(registry.load(true, {}, {}).is_ok());
    io.forget();
    auto created = registry.create("durable", 2, {}, false);
    ASSERT_EQ(created.error, ErrorCode::none) << created.message;
    EXPECT_TRUE(io.synced(dir.path)) << "the log dir was not synced after creating durable-0 and -1";
    for (const char* name : {"durable-0", "durable-1"}) {
      // Each new partition's metadata was synced under its temporary name, then renamed, and its
      // directory (holding that name and the segment files') synced.
      EXPECT_TRUE(io.synced(dir.path / name / "partition.metadata.tmp")) << name;
      EXPECT_TRUE(io.synced(dir.path / name)) << name;
      EXPECT_TRUE(std::filesystem::exists(dir.path / name / "partition.metadata")) << name;
      EXPECT_FALSE(std::filesystem::exists(dir.path / name / "partition.metadata.tmp")) << name;
    }
    io.forget();
    auto grown = registry.add_partitions("durable", 3, false);
    ASSERT_EQ(grown.error, ErrorCode::none) << grown.message;
    EXPECT_TRUE(io.synced(dir.path)) << "the log dir was not synced after adding durable-2";
    for (auto& partition : grown.topic->partitions) ASSERT_TRUE(partition->log->close(true).is_ok());
  }
  storage::set_file_io(nullptr);
}

}  // namespace
}  // namespace sluice::broker
