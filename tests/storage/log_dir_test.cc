// Goal: the log-dir files are read and written in Kafka's exact text formats (meta.properties,
// offset checkpoints, partition.metadata, leader-epoch-checkpoint, the clean-shutdown marker), and
// partition directories are recognised by Kafka's naming rule.
#include "storage/log_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "test_dir.h"

namespace sluice::storage {
namespace {

void write(const std::filesystem::path& path, const std::string& text) {
  ASSERT_TRUE(write_file_atomically(path, text).is_ok());
}

TEST(LogDir, MetaPropertiesCreatedOnceAndKept) {
  test::TempDir dir;
  auto meta = load_or_create_meta_properties(dir.path() / "data", 3);
  ASSERT_TRUE(meta.is_ok());
  EXPECT_EQ(meta.value().node_id, 3);
  EXPECT_EQ(meta.value().version, 1);
  EXPECT_TRUE(Uuid::from_base64(meta.value().cluster_id));
  EXPECT_TRUE(Uuid::from_base64(meta.value().directory_id));
  auto again = load_or_create_meta_properties(dir.path() / "data", 3);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again.value().cluster_id, meta.value().cluster_id);
  EXPECT_EQ(again.value().directory_id, meta.value().directory_id);
  EXPECT_FALSE(load_or_create_meta_properties(dir.path() / "data", 4).is_ok());
}

TEST(LogDir, ReadsKafkaWrittenMetaProperties) {
  test::TempDir dir;
  write(dir.path() / "meta.properties",
        "#\n#Tue Mar 05 10:00:00 UTC 2024\nnode.id=1\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\nversion=1\n"
        "cluster.id=MkU3OEVBNTcwNTJENDM2Qg\n");
  auto meta = read_meta_properties(dir.path());
  ASSERT_TRUE(meta.is_ok());
  ASSERT_TRUE(meta.value());
  EXPECT_EQ(meta.value()->node_id, 1);
  EXPECT_EQ(meta.value()->cluster_id, "MkU3OEVBNTcwNTJENDM2Qg");
  EXPECT_EQ(meta.value()->directory_id, "J8aAPcfLQt2bqs1JT_rMgQ");
  ASSERT_TRUE(write_meta_properties(dir.path(), *meta.value()).is_ok());
  auto text = test::read_file(dir.path() / "meta.properties");
  EXPECT_NE(text.find("node.id=1\n"), std::string::npos);
  EXPECT_NE(text.find("version=1\n"), std::string::npos);
  EXPECT_NE(text.find("cluster.id=MkU3OEVBNTcwNTJENDM2Qg\n"), std::string::npos);
  EXPECT_NE(text.find("directory.id=J8aAPcfLQt2bqs1JT_rMgQ\n"), std::string::npos);
  write(dir.path() / "meta.properties", "version=1\nnode.id=1\n");
  EXPECT_FALSE(read_meta_properties(dir.path()).is_ok());
}

TEST(LogDir, OffsetCheckpointFormat) {
  test::TempDir dir;
  auto path = dir.path() / "recovery-point-offset-checkpoint";
  auto empty = read_offset_checkpoint(path);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty.value().empty());
  OffsetCheckpoint offsets{{{"orders", 0}, 42}, {{"orders", 1}, 7}, {{"__consumer_offsets", 12}, 0}};
  ASSERT_TRUE(write_offset_checkpoint(path, offsets).is_ok());
  EXPECT_EQ(test::read_file(path), "0\n3\n__consumer_offsets 12 0\norders 0 42\norders 1 7\n");
  auto back = read_offset_checkpoint(path);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back.value(), offsets);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "recovery-point-offset-checkpoint.tmp"));
  for (const char* bad : {"1\n0\n", "0\n2\na 0 1\n", "0\n1\na x 1\n", "0\n1\na 0 1\nb 0 2\n", ""}) {
    write(path, bad);
    EXPECT_FALSE(read_offset_checkpoint(path).is_ok()) << bad;
  }
}

TEST(LogDir, PartitionMetadataAndEpochs) {
  test::TempDir dir;
  Uuid id = Uuid::random();
  ASSERT_TRUE(write_partition_metadata(dir.path(), id).is_ok());
  EXPECT_EQ(test::read_file(dir.path() / "partition.metadata"), "version: 0\ntopic_id: " + id.to_base64() + "\n");
  auto back = read_partition_metadata(dir.path());
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(*back.value(), id);
  auto path = dir.path() / "leader-epoch-checkpoint";
  std::vector<EpochEntry> epochs{{0, 0}, {2, 100}, {5, 1234}};
  ASSERT_TRUE(write_leader_epoch_checkpoint(path, epochs).is_ok());
  EXPECT_EQ(test::read_file(path), "0\n3\n0 0\n2 100\n5 1234\n");
  EXPECT_EQ(read_leader_epoch_checkpoint(path).value(), epochs);
}

// Counts fsyncs by path (from any thread).
class FsyncCountingFileIo : public FileIo {
 public:
  int open(const char* path, int flags, mode_t mode) override {
    int fd = ::open(path, flags, mode);
    std::lock_guard lock(mutex_);
    if (fd >= 0) paths_[fd] = path;
    return fd;
  }
  int fsync(int fd) override {
    int rc = ::fsync(fd);
    std::lock_guard lock(mutex_);
    if (rc == 0) synced_[paths_[fd]]++;
    return rc;
  }
  std::map<std::string, int> synced() {
    std::lock_guard lock(mutex_);
    return synced_;
  }

 private:
  std::mutex mutex_;
  std::map<int, std::string> paths_;
  std::map<std::string, int> synced_;
};

TEST(LogDir, FsyncAllSyncsEveryPathOnceAndReportsAFailure) {
  test::TempDir dir;
  std::vector<std::filesystem::path> paths;
  for (int i = 0; i < 100; ++i) {
    auto sub = dir.path() / ("p-" + std::to_string(i));
    std::filesystem::create_directories(sub);
    write(sub / "f", "x");
    paths.push_back(sub / "f");
    paths.push_back(sub);
  }
  FsyncCountingFileIo io;
  set_file_io(&io);
  EXPECT_TRUE(fsync_all(paths, 8).is_ok());
  auto synced = io.synced();
  EXPECT_EQ(synced.size(), paths.size());
  for (const auto& path : paths) EXPECT_EQ(synced[path.string()], 1) << path;
  // A path that cannot be opened fails the call, and every other path is still synced.
  auto with_missing = paths;
  with_missing.insert(with_missing.begin() + 50, dir.path() / "missing");
  Status failed = fsync_all(with_missing, 8);
  set_file_io(nullptr);
  EXPECT_FALSE(failed.is_ok());
  EXPECT_NE(failed.to_string().find("missing"), std::string::npos) << failed.to_string();
  synced = io.synced();
  for (const auto& path : paths) EXPECT_EQ(synced[path.string()], 2) << path;
  EXPECT_TRUE(fsync_all({}, 8).is_ok());
}

TEST(LogDir, CleanShutdownMarker) {
  test::TempDir dir;
  EXPECT_FALSE(clean_shutdown_marker_exists(dir.path()));
  ASSERT_TRUE(create_clean_shutdown_marker(dir.path(), 7).is_ok());
  EXPECT_TRUE(clean_shutdown_marker_exists(dir.path()));
  EXPECT_EQ(test::read_file(dir.path() / ".kafka_cleanshutdown"), "{\"version\":0,\"brokerEpoch\":7}");
  ASSERT_TRUE(remove_clean_shutdown_marker(dir.path()).is_ok());
  EXPECT_FALSE(clean_shutdown_marker_exists(dir.path()));
  EXPECT_TRUE(remove_clean_shutdown_marker(dir.path()).is_ok());
}

TEST(LogDir, PartitionDirectoryNames) {
  using TP = TopicPartition;
  EXPECT_EQ(parse_partition_dir_name("orders-0"), TP("orders", 0));
  EXPECT_EQ(parse_partition_dir_name("my-topic-12"), TP("my-topic", 12));
  EXPECT_EQ(parse_partition_dir_name("__consumer_offsets-49"), TP("__consumer_offsets", 49));
  EXPECT_EQ(parse_partition_dir_name("a.b_c-3"), TP("a.b_c", 3));
  EXPECT_FALSE(parse_partition_dir_name("orders-0.4f1c0e1b2e4c4c1f9b1e7c2a3b4c5d6e-delete"));
  EXPECT_FALSE(parse_partition_dir_name("orders-0.4f1c0e1b2e4c4c1f9b1e7c2a3b4c5d6e-future"));
  EXPECT_FALSE(parse_partition_dir_name("orders-0.4f1c0e1b2e4c4c1f9b1e7c2a3b4c5d6e-stray"));
  EXPECT_FALSE(parse_partition_dir_name("orders"));
  EXPECT_FALSE(parse_partition_dir_name("-1"));
  EXPECT_FALSE(parse_partition_dir_name("orders-"));
  EXPECT_FALSE(parse_partition_dir_name("orders-x"));
  EXPECT_EQ(partition_dir_name("my-topic", 12), "my-topic-12");

  test::TempDir dir;
  for (const char* name : {"b-1", "a-10", "a-2", "x-0.abc-delete", "bad"}) std::filesystem::create_directory(dir.path() / name);
  write(dir.path() / "c-0", "a file, not a partition");
  auto dirs = list_partition_dirs(dir.path());
  ASSERT_TRUE(dirs.is_ok());
  ASSERT_EQ(dirs.value().size(), 3u);
  EXPECT_EQ(dirs.value()[0].topic, "a");
  EXPECT_EQ(dirs.value()[0].partition, 2);
  EXPECT_EQ(dirs.value()[1].partition, 10);
  EXPECT_EQ(dirs.value()[2].topic, "b");
}

}  // namespace
}  // namespace sluice::storage
