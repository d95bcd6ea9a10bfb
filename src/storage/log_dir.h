// Files of a Kafka log directory (log.dirs) and of its partition directories, in Kafka's formats:
// meta.properties, the offset checkpoint files, partition.metadata, leader-epoch-checkpoint, the
// clean-shutdown marker. Every write goes to a temp file, fsync, rename, fsync of the directory,
// as Kafka does. Functions are stateless; any thread may call, one writer per file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/uuid.h"
#include "storage/log.h"

namespace sluice::storage {

inline constexpr const char* meta_properties_file = "meta.properties";
inline constexpr const char* recovery_point_checkpoint_file = "recovery-point-offset-checkpoint";
inline constexpr const char* replication_offset_checkpoint_file = "replication-offset-checkpoint";
inline constexpr const char* log_start_offset_checkpoint_file = "log-start-offset-checkpoint";
inline constexpr const char* cleaner_offset_checkpoint_file = "cleaner-offset-checkpoint";
inline constexpr const char* clean_shutdown_file = ".kafka_cleanshutdown";
inline constexpr const char* partition_metadata_file = "partition.metadata";
inline constexpr const char* leader_epoch_checkpoint_file = "leader-epoch-checkpoint";

// Writes content to path atomically (temp file, rename), durably as `durability` says (now: fsync
// of the temp file before the rename, of the directory after).
Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             Durability durability = Durability::now);
// Whole file; ENOENT comes back as a Status with errno_value() == ENOENT.
Result<std::string> read_whole_file(const std::filesystem::path& path);
// The names of a directory's entries, in directory order.
Result<std::vector<std::string>> list_file_names(const std::filesystem::path& dir);

// meta.properties, KRaft form ("version=1", node.id, directory.id, cluster.id; '#' comments).
struct MetaProperties {
  int version = 1;
  std::int32_t node_id = -1;
  std::string cluster_id;
  std::string directory_id;
  std::map<std::string, std::string> other;  // other keys, kept on rewrite
};
Result<std::optional<MetaProperties>> read_meta_properties(const std::filesystem::path& log_dir);
Status write_meta_properties(const std::filesystem::path& log_dir, const MetaProperties& meta);
// Reads meta.properties, or creates it with a new cluster.id and directory.id. Fails when the
// stored node.id differs from node_id.
Result<MetaProperties> load_or_create_meta_properties(const std::filesystem::path& log_dir,
                                                      std::int32_t node_id);

// Offset checkpoints: "0\n<count>\n<topic> <partition> <offset>\n...". Missing file -> empty map.
using TopicPartition = std::pair<std::string, std::int32_t>;
using OffsetCheckpoint = std::map<TopicPartition, std::int64_t>;
Result<OffsetCheckpoint> read_offset_checkpoint(const std::filesystem::path& path);
Status write_offset_checkpoint(const std::filesystem::path& path, const OffsetCheckpoint& offsets);

// partition.metadata: "version: 0\ntopic_id: <base64>\n". Missing file -> nullopt.
Result<std::optional<Uuid>> read_partition_metadata(const std::filesystem::path& partition_dir);
Status write_partition_metadata(const std::filesystem::path& partition_dir, const Uuid& topic_id);
// The same for a new partition, in two steps around the caller's syncs, so many partitions can
// be synced together: the content goes to partition.metadata.tmp (not synced); once the caller
// has synced that file, publish_partition_metadata renames it to partition.metadata (the caller
// then syncs the directory). A start removes a leftover .tmp (Log::open) and loads a partition
// without partition.metadata (the topic gets an id then).
Status write_new_partition_metadata(const std::filesystem::path& partition_dir, const Uuid& topic_id);
std::filesystem::path partition_metadata_tmp(const std::filesystem::path& partition_dir);  // the file it writes
Status publish_partition_metadata(const std::filesystem::path& partition_dir);
// fsyncs every path (files or directories), up to `parallel` at once; the first failure is the
// result (every path is still tried). On ext4 each fsync of a new file waits for a journal commit,
// and concurrent ones share a commit: 20,000 one after another took about 20 s here.
Status fsync_all(const std::vector<std::filesystem::path>& paths, std::size_t parallel = 32);

// leader-epoch-checkpoint: "0\n<count>\n<epoch> <start offset>\n...". Missing file -> empty.
Result<std::vector<EpochEntry>> read_leader_epoch_checkpoint(const std::filesystem::path& path);
Status write_leader_epoch_checkpoint(const std::filesystem::path& path,
                                     const std::vector<EpochEntry>& entries);

// .kafka_cleanshutdown in the log dir. Kafka 3.7+ writes {"version":0,"brokerEpoch":<epoch>};
// older versions an empty file; only its presence matters to us.
bool clean_shutdown_marker_exists(const std::filesystem::path& log_dir);
Status create_clean_shutdown_marker(const std::filesystem::path& log_dir, std::int64_t broker_epoch = -1);
Status remove_clean_shutdown_marker(const std::filesystem::path& log_dir);

// "<topic>-<partition>" split at the last dash; nullopt for names Kafka does not load
// ("-delete", "-future", "-stray" suffixes, no dash, non-numeric partition).
std::optional<TopicPartition> parse_partition_dir_name(const std::string& name);
std::string partition_dir_name(const std::string& topic, std::int32_t partition);
struct PartitionDir {
  std::string topic;
  std::int32_t partition;
  std::filesystem::path path;
};
// Sorted by (topic, partition); skips files and names parse_partition_dir_name rejects.
Result<std::vector<PartitionDir>> list_partition_dirs(const std::filesystem::path& log_dir);

}  // namespace sluice::storage
