// dump-log for the small state files: producer state snapshots (.snapshot), transaction indexes
// (.txnindex), offset checkpoints, leader-epoch-checkpoint, partition.metadata, meta.properties
// and the clean-shutdown marker.
#include <cinttypes>

#include "base/crc32c.h"
#include "base/endian.h"
#include "storage/log_dir.h"
#include "tools/dump_internal.h"

namespace sluice::tools::dump {
namespace {

namespace fs = std::filesystem;

// Kafka's ProducerSnapshot v1 (storage/producer_state.h writes it): version i16, crc u32
// (CRC-32C of the bytes from offset 6), then an i32-counted array of 46-byte entries
// {producerId i64, epoch i16, lastSequence i32, lastOffset i64, offsetDelta i32, timestamp i64,
// coordinatorEpoch i32, currentTxnFirstOffset i64}.
constexpr std::size_t snapshot_entries_position = 6;
constexpr std::size_t snapshot_entry_bytes = 46;
// Kafka's TransactionIndex AbortedTxn: version i16, producerId i64, firstOffset i64,
// lastOffset i64, lastStableOffset i64.
constexpr std::size_t aborted_txn_bytes = 34;

// Kafka's readSnapshot checks; "" or Kafka's message.
std::string snapshot_problem(const std::vector<std::byte>& b) {
  if (b.size() < 2) return "Snapshot failed schema validation: the file has " + std::to_string(b.size()) + " bytes";
  const auto version = static_cast<std::int16_t>(load_be16(b.data()));
  if (version != 1) return "Snapshot contained an unknown file version " + std::to_string(version);
  if (b.size() < snapshot_entries_position + 4) return "Snapshot failed schema validation: no entry count";
  const auto count = static_cast<std::int32_t>(load_be32(b.data() + snapshot_entries_position));
  const std::uint64_t expected = snapshot_entries_position + 4 + std::uint64_t(count < 0 ? 0 : count) * snapshot_entry_bytes;
  if (count < 0 || expected > b.size())
    return "Snapshot failed schema validation: " + std::to_string(count) + " entries do not fit in " +
           std::to_string(b.size()) + " bytes";
  const std::uint32_t stored = load_be32(b.data() + 2);
  const std::uint32_t computed = crc32c(b.data() + snapshot_entries_position, b.size() - snapshot_entries_position);
  if (stored != computed)
    return "Snapshot is corrupt (CRC is no longer valid). Stored crc: " + std::to_string(stored) +
           ". Computed crc: " + std::to_string(computed);
  return "";
}

void print_snapshot_entry(Context& ctx, const std::byte* p) {
  const auto producer_id = static_cast<std::int64_t>(load_be64(p));
  const auto epoch = static_cast<std::int16_t>(load_be16(p + 8));
  const auto last_sequence = static_cast<std::int32_t>(load_be32(p + 10));
  const auto last_offset = static_cast<std::int64_t>(load_be64(p + 14));
  const auto offset_delta = static_cast<std::int32_t>(load_be32(p + 22));
  const auto timestamp = static_cast<std::int64_t>(load_be64(p + 26));
  const auto coordinator_epoch = static_cast<std::int32_t>(load_be32(p + 34));
  const auto txn_first_offset = static_cast<std::int64_t>(load_be64(p + 38));
  std::string txn = txn_first_offset >= 0 ? "OptionalLong[" + std::to_string(txn_first_offset) + "]" : "OptionalLong.empty";
  std::fprintf(ctx.out,
               "producerId: %" PRId64 " producerEpoch: %d coordinatorEpoch: %d currentTxnFirstOffset: %s"
               " lastTimestamp: %" PRId64 " ",
               producer_id, epoch, coordinator_epoch, txn.c_str(), timestamp);
  if (last_offset >= 0) {
    // Kafka's BatchMetadata.firstSeq: DefaultRecordBatch.decrementSequence(lastSeq, offsetDelta).
    std::int64_t first = std::int64_t{last_sequence} - offset_delta;
    if (first < 0) first += std::int64_t{INT32_MAX} + 1;
    std::fprintf(ctx.out, "firstSequence: %" PRId64 " lastSequence: %d lastOffset: %" PRId64 " offsetDelta: %d timestamp: %" PRId64,
                 first, last_sequence, last_offset, offset_delta, timestamp);
  }
  std::fputc('\n', ctx.out);
}

void report_status(Context& ctx, const Status& status, bool unreadable) {
  std::fprintf(ctx.err, "%s\n", status.to_string().c_str());
  if (unreadable) ctx.unreadable();
  else ctx.problem();
}

// A read error (errno set) makes the file unreadable; a parse error makes it damaged.
bool is_io_error(const Status& status) { return status.errno_value() != 0 && status.errno_value() != EINVAL; }

void dump_offset_checkpoint(Context& ctx, const fs::path& path) {
  auto offsets = storage::read_offset_checkpoint(path);
  if (!offsets.is_ok()) return report_status(ctx, offsets.status(), is_io_error(offsets.status()));
  for (const auto& [partition, offset] : offsets.value())
    std::fprintf(ctx.out, "%s-%d: %" PRId64 "\n", partition.first.c_str(), partition.second, offset);
}

void dump_leader_epochs(Context& ctx, const fs::path& path) {
  auto epochs = storage::read_leader_epoch_checkpoint(path);
  if (!epochs.is_ok()) return report_status(ctx, epochs.status(), is_io_error(epochs.status()));
  for (const auto& e : epochs.value()) std::fprintf(ctx.out, "epoch: %d startOffset: %" PRId64 "\n", e.epoch, e.start_offset);
}

void dump_partition_metadata(Context& ctx, const fs::path& path) {
  auto id = storage::read_partition_metadata(path.parent_path());
  if (!id.is_ok()) return report_status(ctx, id.status(), is_io_error(id.status()));
  if (id.value()) std::fprintf(ctx.out, "version: 0 topic_id: %s\n", id.value()->to_base64().c_str());
}

void dump_meta_properties(Context& ctx, const fs::path& path) {
  auto meta = storage::read_meta_properties(path.parent_path());
  if (!meta.is_ok()) return report_status(ctx, meta.status(), is_io_error(meta.status()));
  if (!meta.value()) return;
  const auto& m = *meta.value();
  std::fprintf(ctx.out, "version: %d node.id: %d cluster.id: %s directory.id: %s\n", m.version, m.node_id,
               m.cluster_id.c_str(), m.directory_id.c_str());
  for (const auto& [key, value] : m.other) std::fprintf(ctx.out, "%s: %s\n", key.c_str(), value.c_str());
}

void dump_clean_shutdown(Context& ctx, const fs::path& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes.is_ok()) return report_status(ctx, bytes.status(), true);
  std::fprintf(ctx.out, "clean shutdown marker: %s\n", bytes.value().empty() ? "(empty)" : printable(bytes.value()).c_str());
}

}  // namespace

void dump_producer_snapshot(Context& ctx, const fs::path& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes.is_ok()) return report_status(ctx, bytes.status(), true);
  const auto& b = bytes.value();
  if (std::string why = snapshot_problem(b); !why.empty()) {
    std::fprintf(ctx.err, "%s\n", why.c_str());
    return ctx.problem();
  }
  const auto count = static_cast<std::int32_t>(load_be32(b.data() + snapshot_entries_position));
  for (std::int32_t i = 0; i < count; ++i)
    print_snapshot_entry(ctx, b.data() + snapshot_entries_position + 4 + std::size_t(i) * snapshot_entry_bytes);
  const std::size_t extra = b.size() - (snapshot_entries_position + 4 + std::size_t(count) * snapshot_entry_bytes);
  if (extra > 0) {
    std::fprintf(ctx.err, "%s: %zu bytes after the last entry\n", path.c_str(), extra);
    ctx.problem();
  }
}

void dump_txn_index(Context& ctx, const fs::path& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes.is_ok()) return report_status(ctx, bytes.status(), true);
  const auto& b = bytes.value();
  for (std::size_t at = 0; at + aborted_txn_bytes <= b.size(); at += aborted_txn_bytes) {
    const std::byte* p = b.data() + at;
    std::fprintf(ctx.out,
                 "version: %d producerId: %" PRId64 " firstOffset: %" PRId64 " lastOffset: %" PRId64
                 " lastStableOffset: %" PRId64 "\n",
                 static_cast<std::int16_t>(load_be16(p)), static_cast<std::int64_t>(load_be64(p + 2)),
                 static_cast<std::int64_t>(load_be64(p + 10)), static_cast<std::int64_t>(load_be64(p + 18)),
                 static_cast<std::int64_t>(load_be64(p + 26)));
  }
  if (b.size() % aborted_txn_bytes != 0) {
    std::fprintf(ctx.err, "%s: %zu trailing bytes are not a whole entry\n", path.c_str(), b.size() % aborted_txn_bytes);
    ctx.problem();
  }
}

bool dump_named_state_file(Context& ctx, const fs::path& path) {
  const std::string name = path.filename().string();
  // The storage readers treat a missing file as empty; here a missing file is an error.
  const bool known = name == storage::recovery_point_checkpoint_file || name == storage::replication_offset_checkpoint_file ||
                     name == storage::log_start_offset_checkpoint_file || name == storage::cleaner_offset_checkpoint_file ||
                     name == storage::leader_epoch_checkpoint_file || name == storage::partition_metadata_file ||
                     name == storage::meta_properties_file || name == storage::clean_shutdown_file;
  if (!known) return false;
  if (auto file = ReadOnlyFile::open(path); !file.is_ok()) {
    report_status(ctx, file.status(), true);
  } else if (name == storage::leader_epoch_checkpoint_file) {
    dump_leader_epochs(ctx, path);
  } else if (name == storage::partition_metadata_file) {
    dump_partition_metadata(ctx, path);
  } else if (name == storage::meta_properties_file) {
    dump_meta_properties(ctx, path);
  } else if (name == storage::clean_shutdown_file) {
    dump_clean_shutdown(ctx, path);
  } else {
    dump_offset_checkpoint(ctx, path);
  }
  return true;
}

}  // namespace sluice::tools::dump
