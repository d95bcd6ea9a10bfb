// sluice-dump: prints Kafka data files, like kafka-dump-log.sh. For a .log file every batch header
// (position, offsets, sizes, timestamps, producer fields, CRC check); for .index and .timeindex
// files their entries; for checkpoint files, partition.metadata and meta.properties their parsed
// contents. Usage: sluice-dump <file>...
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "base/endian.h"
#include "base/error_code.h"
#include "protocol/record_batch.h"
#include "storage/log_dir.h"

namespace {

using namespace sluice;
namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The base offset in a segment file name, or 0.
std::int64_t base_offset_of(const fs::path& path) {
  std::string stem = path.stem().string();
  try {
    return std::stoll(stem);
  } catch (...) {
    return 0;
  }
}

std::vector<std::byte> read_all(const fs::path& path, bool* ok) {
  auto text = storage::read_whole_file(path);
  *ok = text.is_ok();
  if (!text.is_ok()) {
    std::fprintf(stderr, "%s\n", text.status().to_string().c_str());
    return {};
  }
  const auto& s = text.value();
  return std::vector<std::byte>(reinterpret_cast<const std::byte*>(s.data()),
                                reinterpret_cast<const std::byte*>(s.data()) + s.size());
}

constexpr const char* kCodecs[8] = {"none", "gzip", "snappy", "lz4", "zstd", "?", "?", "?"};

int dump_log(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::perror(path.c_str());
    return 1;
  }
  struct stat st;
  fstat(fd, &st);
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  std::printf("Dumping %s\nLog starting offset: %" PRId64 "\n", path.c_str(), base_offset_of(path));
  std::uint64_t position = 0;
  std::vector<std::byte> batch;
  int status = 0;
  while (position < size) {
    std::byte head[record_batch_header_bytes];
    if (size - position < sizeof head || pread(fd, head, sizeof head, static_cast<off_t>(position)) != sizeof head) {
      std::printf("Found %" PRIu64 " trailing bytes at position %" PRIu64 " (torn header)\n", size - position, position);
      status = 2;
      break;
    }
    RecordBatchHeader h = parse_record_batch_header(head);
    std::uint64_t bytes = h.batch_length >= 49 ? static_cast<std::uint64_t>(h.batch_bytes()) : 0;
    if (bytes == 0 || position + bytes > size) {
      std::printf("Found invalid or torn batch at position %" PRIu64 " (batchLength %d, %" PRIu64 " bytes left)\n",
                  position, h.batch_length, size - position);
      status = 2;
      break;
    }
    batch.resize(bytes);
    if (pread(fd, batch.data(), bytes, static_cast<off_t>(position)) != static_cast<ssize_t>(bytes)) break;
    std::size_t checked = 0;
    bool valid = check_batch_on_disk(batch.data(), batch.size(), &checked) == ErrorCode::none;
    std::printf("baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %d baseSequence: %d lastSequence: %d "
                "producerId: %" PRId64 " producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %s "
                "isControl: %s deleteHorizonMs: %s position: %" PRIu64 " CreateTime: %" PRId64 " size: %" PRIu64
                " magic: %d compresscodec: %s crc: %u isvalid: %s timestampType: %s baseTimestamp: %" PRId64 "\n",
                h.base_offset, h.last_offset(), h.record_count, h.base_sequence,
                h.base_sequence < 0 ? -1 : h.base_sequence + h.last_offset_delta, h.producer_id, h.producer_epoch,
                h.partition_leader_epoch, h.is_transactional() ? "true" : "false", h.is_control() ? "true" : "false",
                h.has_delete_horizon() ? "set" : "OptionalLong.empty", position, h.max_timestamp, bytes, h.magic,
                kCodecs[h.compression()], h.crc,
                valid ? "true" : "false", h.timestamp_type() ? "LOG_APPEND_TIME" : "CREATE_TIME", h.base_timestamp);
    if (!valid) status = 2;
    position += bytes;
  }
  ::close(fd);
  return status;
}

int dump_index(const fs::path& path, bool time_index) {
  bool ok = false;
  auto bytes = read_all(path, &ok);
  if (!ok) return 1;
  std::int64_t base = base_offset_of(path);
  std::size_t entry_bytes = time_index ? 12 : 8;
  std::printf("Dumping %s (%zu entries, %zu trailing bytes)\n", path.c_str(), bytes.size() / entry_bytes,
              bytes.size() % entry_bytes);
  for (std::size_t i = 0; i + entry_bytes <= bytes.size(); i += entry_bytes) {
    const std::byte* p = bytes.data() + i;
    if (time_index) {
      std::printf("timestamp: %" PRId64 " offset: %" PRId64 "\n", static_cast<std::int64_t>(load_be64(p)),
                  base + load_be32(p + 8));
    } else {
      std::printf("offset: %" PRId64 " position: %u\n", base + load_be32(p), load_be32(p + 4));
    }
  }
  return 0;
}

int dump_text(const fs::path& path) {
  auto name = path.filename().string();
  if (name == storage::leader_epoch_checkpoint_file) {
    auto epochs = storage::read_leader_epoch_checkpoint(path);
    if (!epochs.is_ok()) return std::fprintf(stderr, "%s\n", epochs.status().to_string().c_str()), 1;
    for (const auto& e : epochs.value()) std::printf("epoch: %d startOffset: %" PRId64 "\n", e.epoch, e.start_offset);
    return 0;
  }
  if (name == storage::partition_metadata_file) {
    auto id = storage::read_partition_metadata(path.parent_path());
    if (!id.is_ok() || !id.value()) return std::fprintf(stderr, "unreadable %s\n", path.c_str()), 1;
    std::printf("topic_id: %s\n", id.value()->to_base64().c_str());
    return 0;
  }
  if (name == storage::meta_properties_file) {
    auto meta = storage::read_meta_properties(path.parent_path());
    if (!meta.is_ok() || !meta.value()) return std::fprintf(stderr, "unreadable %s\n", path.c_str()), 1;
    std::printf("version: %d node.id: %d cluster.id: %s directory.id: %s\n", meta.value()->version,
                meta.value()->node_id, meta.value()->cluster_id.c_str(), meta.value()->directory_id.c_str());
    return 0;
  }
  auto offsets = storage::read_offset_checkpoint(path);
  if (!offsets.is_ok()) return std::fprintf(stderr, "%s\n", offsets.status().to_string().c_str()), 1;
  for (const auto& [partition, offset] : offsets.value())
    std::printf("%s-%d: %" PRId64 "\n", partition.first.c_str(), partition.second, offset);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <file.log|file.index|file.timeindex|checkpoint file>...\n", argv[0]);
    return 64;
  }
  int status = 0;
  for (int i = 1; i < argc; ++i) {
    fs::path path(argv[i]);
    std::string name = path.filename().string();
    int s;
    if (ends_with(name, ".log")) s = dump_log(path);
    else if (ends_with(name, ".timeindex")) s = dump_index(path, true);
    else if (ends_with(name, ".index")) s = dump_index(path, false);
    else s = dump_text(path);
    if (s != 0) status = s;
  }
  return status;
}
