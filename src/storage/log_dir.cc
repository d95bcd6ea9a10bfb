#include "storage/log_dir.h"
#include "storage/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <sstream>
#include <system_error>

#include "base/assert.h"
#include "base/parallel.h"
#include "storage/segment.h"

namespace sluice::storage {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto end = text.find('\n');
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return lines;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  line = trim(line);
  while (!line.empty()) {
    auto end = line.find(' ');
    if (end == std::string_view::npos) end = line.size();
    if (end > 0) fields.push_back(line.substr(0, end));
    line.remove_prefix(std::min(end + 1, line.size()));
  }
  return fields;
}

template <class T>
bool parse_int(std::string_view text, T* value) {
  text = trim(text);
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

Status malformed(const std::filesystem::path& path, const std::string& why) {
  return Status::error("malformed " + path.string() + ": " + why);
}

// Kafka's CheckpointFile: version line, count line, then count entry lines.
Result<std::vector<std::vector<std::string_view>>> read_checkpoint_lines(const std::filesystem::path& path,
                                                                         const std::string& text,
                                                                         std::size_t fields_per_entry) {
  auto lines = split_lines(text);
  std::vector<std::vector<std::string_view>> entries;
  int version = -1;
  std::size_t count = 0;
  if (lines.size() < 2 || !parse_int(lines[0], &version)) return malformed(path, "no version line");
  if (version != 0) return malformed(path, "unknown version");
  if (!parse_int(lines[1], &count)) return malformed(path, "no count line");
  if (lines.size() < 2 + count) return malformed(path, "fewer entries than the count");
  for (std::size_t i = 2; i < lines.size(); ++i) {
    if (i >= 2 + count) {
      if (!trim(lines[i]).empty()) return malformed(path, "more entries than the count");
      continue;
    }
    auto fields = split_fields(lines[i]);
    if (fields.size() != fields_per_entry) return malformed(path, "bad entry line");
    entries.push_back(std::move(fields));
  }
  return entries;
}

// Writes `content` as the whole of the file at `path` (created or truncated), fsynced when `sync`.
Status write_new_file(const std::filesystem::path& path, std::string_view content, bool sync) {
  int fd = file_io().open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno(errno, "open " + path.string());
  Status written = pwrite_full(fd, reinterpret_cast<const std::byte*>(content.data()), content.size(), 0);
  if (written.is_ok() && sync && file_io().fsync(fd) != 0) written = Status::from_errno(errno, "fsync " + path.string());
  file_io().close(fd);
  return written;
}

}  // namespace

Status write_file_atomically(const std::filesystem::path& path, std::string_view content, Durability durability) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  if (Status written = write_new_file(temp, content, durability == Durability::now); !written.is_ok()) return written;
  if (file_io().rename(temp.c_str(), path.c_str()) != 0) return Status::from_errno(errno, "rename " + path.string());
  if (durability == Durability::by_caller) return Status::ok();
  auto parent = path.parent_path();
  return fsync_dir(parent.empty() ? std::filesystem::path(".") : parent);
}

Result<std::vector<std::string>> list_file_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) names.push_back(entry.path().filename().string());
  if (ec) return Status::from_errno(ec.value(), "list " + dir.string());
  return names;
}

Result<std::string> read_whole_file(const std::filesystem::path& path) {
  int fd = file_io().open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(errno, "open " + path.string());
  std::string text;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      file_io().close(fd);
      return Status::from_errno(saved, "read " + path.string());
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  file_io().close(fd);
  return text;
}

// ---------------------------------------------------------------- meta.properties

Result<std::optional<MetaProperties>> read_meta_properties(const std::filesystem::path& log_dir) {
  auto path = log_dir / meta_properties_file;
  auto text = read_whole_file(path);
  if (!text.is_ok()) {
    if (text.status().errno_value() == ENOENT) return std::optional<MetaProperties>();
    return text.status();
  }
  MetaProperties meta;
  meta.version = -1;
  for (auto line : split_lines(text.value())) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    auto separator = line.find_first_of("=:");
    if (separator == std::string_view::npos) return malformed(path, "line without '='");
    std::string key(trim(line.substr(0, separator)));
    std::string value(trim(line.substr(separator + 1)));
    if (key == "version") {
      if (!parse_int(value, &meta.version)) return malformed(path, "version");
    } else if (key == "node.id" || key == "broker.id") {
      if (!parse_int(value, &meta.node_id)) return malformed(path, key);
    } else if (key == "cluster.id") {
      meta.cluster_id = value;
    } else if (key == "directory.id") {
      meta.directory_id = value;
    } else {
      meta.other[key] = value;
    }
  }
  if (meta.version != 0 && meta.version != 1) return malformed(path, "version must be 0 or 1");
  if (meta.version == 1 && (meta.node_id < 0 || meta.cluster_id.empty()))
    return malformed(path, "version 1 needs node.id and cluster.id");
  return std::optional<MetaProperties>(std::move(meta));
}

Status write_meta_properties(const std::filesystem::path& log_dir, const MetaProperties& meta) {
  std::ostringstream out;
  out << "#\n#Written by Sluice\n";
  out << "node.id=" << meta.node_id << "\n";
  if (!meta.directory_id.empty()) out << "directory.id=" << meta.directory_id << "\n";
  out << "version=" << meta.version << "\n";
  out << "cluster.id=" << meta.cluster_id << "\n";
  for (const auto& [key, value] : meta.other) out << key << "=" << value << "\n";
  return write_file_atomically(log_dir / meta_properties_file, out.str());
}

Result<MetaProperties> load_or_create_meta_properties(const std::filesystem::path& log_dir, std::int32_t node_id) {
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec) return Status::from_errno(ec.value(), "create " + log_dir.string());
  auto existing = read_meta_properties(log_dir);
  if (!existing.is_ok()) return existing.status();
  MetaProperties meta;
  bool changed = false;
  if (existing.value()) {
    meta = *existing.value();
    if (meta.node_id != node_id)
      return Status::error("meta.properties in " + log_dir.string() + " has node.id " + std::to_string(meta.node_id) +
                           ", configured node.id is " + std::to_string(node_id));
  } else {
    meta.node_id = node_id;
    changed = true;
  }
  if (meta.version != 1) meta.version = 1, changed = true;
  if (meta.cluster_id.empty()) meta.cluster_id = Uuid::random().to_base64(), changed = true;
  if (meta.directory_id.empty()) meta.directory_id = Uuid::random().to_base64(), changed = true;
  if (changed)
    if (Status s = write_meta_properties(log_dir, meta); !s.is_ok()) return s;
  return meta;
}

// ---------------------------------------------------------------- offset checkpoints

Result<OffsetCheckpoint> read_offset_checkpoint(const std::filesystem::path& path) {
  auto text = read_whole_file(path);
  if (!text.is_ok()) {
    if (text.status().errno_value() == ENOENT) return OffsetCheckpoint{};
    return text.status();
  }
  auto entries = read_checkpoint_lines(path, text.value(), 3);
  if (!entries.is_ok()) return entries.status();
  OffsetCheckpoint offsets;
  for (const auto& fields : entries.value()) {
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    if (!parse_int(fields[1], &partition) || !parse_int(fields[2], &offset)) return malformed(path, "bad number");
    offsets[{std::string(fields[0]), partition}] = offset;
  }
  return offsets;
}

Status write_offset_checkpoint(const std::filesystem::path& path, const OffsetCheckpoint& offsets) {
  std::string out = "0\n" + std::to_string(offsets.size()) + "\n";
  for (const auto& [partition, offset] : offsets)
    out += partition.first + " " + std::to_string(partition.second) + " " + std::to_string(offset) + "\n";
  return write_file_atomically(path, out);
}

// ---------------------------------------------------------------- partition.metadata

Result<std::optional<Uuid>> read_partition_metadata(const std::filesystem::path& partition_dir) {
  auto path = partition_dir / partition_metadata_file;
  auto text = read_whole_file(path);
  if (!text.is_ok()) {
    if (text.status().errno_value() == ENOENT) return std::optional<Uuid>();
    return text.status();
  }
  auto lines = split_lines(text.value());
  if (lines.size() < 2 || trim(lines[0]) != "version: 0") return malformed(path, "version");
  auto line = trim(lines[1]);
  constexpr std::string_view prefix = "topic_id: ";
  if (line.substr(0, prefix.size()) != prefix) return malformed(path, "topic_id");
  auto id = Uuid::from_base64(trim(line.substr(prefix.size())));
  if (!id) return malformed(path, "topic_id value");
  return std::optional<Uuid>(*id);
}

namespace {
std::string partition_metadata_text(const Uuid& topic_id) { return "version: 0\ntopic_id: " + topic_id.to_base64() + "\n"; }
}  // namespace

std::filesystem::path partition_metadata_tmp(const std::filesystem::path& partition_dir) {
  return partition_dir / (std::string(partition_metadata_file) + ".tmp");
}

Status write_partition_metadata(const std::filesystem::path& partition_dir, const Uuid& topic_id) {
  return write_file_atomically(partition_dir / partition_metadata_file, partition_metadata_text(topic_id));
}

Status write_new_partition_metadata(const std::filesystem::path& partition_dir, const Uuid& topic_id) {
  return write_new_file(partition_metadata_tmp(partition_dir), partition_metadata_text(topic_id), false);
}

Status publish_partition_metadata(const std::filesystem::path& partition_dir) {
  auto from = partition_metadata_tmp(partition_dir), to = partition_dir / partition_metadata_file;
  if (file_io().rename(from.c_str(), to.c_str()) != 0) return Status::from_errno(errno, "rename " + to.string());
  return Status::ok();
}

Status fsync_all(const std::vector<std::filesystem::path>& paths, std::size_t parallel) {
  std::mutex mutex;
  Status first_failure;
  for_each_parallel(paths.size(), parallel, [&](std::size_t i) {
    Status synced = fsync_path(paths[i]);
    if (synced.is_ok()) return;
    std::lock_guard lock(mutex);
    if (first_failure.is_ok()) first_failure = synced;
  });
  return first_failure;
}

// ---------------------------------------------------------------- leader-epoch-checkpoint

Result<std::vector<EpochEntry>> read_leader_epoch_checkpoint(const std::filesystem::path& path) {
  auto text = read_whole_file(path);
  if (!text.is_ok()) {
    if (text.status().errno_value() == ENOENT) return std::vector<EpochEntry>{};
    return text.status();
  }
  auto entries = read_checkpoint_lines(path, text.value(), 2);
  if (!entries.is_ok()) return entries.status();
  std::vector<EpochEntry> epochs;
  for (const auto& fields : entries.value()) {
    EpochEntry entry{};
    if (!parse_int(fields[0], &entry.epoch) || !parse_int(fields[1], &entry.start_offset))
      return malformed(path, "bad number");
    epochs.push_back(entry);
  }
  return epochs;
}

Status write_leader_epoch_checkpoint(const std::filesystem::path& path, const std::vector<EpochEntry>& entries) {
  std::string out = "0\n" + std::to_string(entries.size()) + "\n";
  for (const auto& e : entries) out += std::to_string(e.epoch) + " " + std::to_string(e.start_offset) + "\n";
  return write_file_atomically(path, out);
}

// ---------------------------------------------------------------- clean shutdown marker

bool clean_shutdown_marker_exists(const std::filesystem::path& log_dir) {
  std::error_code ec;
  return std::filesystem::exists(log_dir / clean_shutdown_file, ec);
}

Status create_clean_shutdown_marker(const std::filesystem::path& log_dir, std::int64_t broker_epoch) {
  return write_file_atomically(log_dir / clean_shutdown_file,
                               "{\"version\":0,\"brokerEpoch\":" + std::to_string(broker_epoch) + "}");
}

Status remove_clean_shutdown_marker(const std::filesystem::path& log_dir) {
  auto path = log_dir / clean_shutdown_file;
  if (file_io().unlink(path.c_str()) != 0 && errno != ENOENT) return Status::from_errno(errno, "unlink " + path.string());
  return fsync_dir(log_dir);
}

// ---------------------------------------------------------------- partition directories

std::optional<TopicPartition> parse_partition_dir_name(const std::string& name) {
  for (std::string_view suffix : {"-delete", "-future", "-stray"})
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return std::nullopt;
  auto dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  std::int32_t partition = 0;
  std::string_view digits(name.data() + dash + 1, name.size() - dash - 1);
  for (char c : digits)
    if (c < '0' || c > '9') return std::nullopt;
  if (!parse_int(digits, &partition) || partition < 0) return std::nullopt;
  return TopicPartition{name.substr(0, dash), partition};
}

std::string partition_dir_name(const std::string& topic, std::int32_t partition) {
  return topic + "-" + std::to_string(partition);
}

Result<std::vector<PartitionDir>> list_partition_dirs(const std::filesystem::path& log_dir) {
  std::vector<PartitionDir> dirs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir, ec)) {
    if (!entry.is_directory(ec)) continue;
    auto parsed = parse_partition_dir_name(entry.path().filename().string());
    if (!parsed) continue;
    dirs.push_back({parsed->first, parsed->second, entry.path()});
  }
  if (ec) return Status::from_errno(ec.value(), "list " + log_dir.string());
  std::sort(dirs.begin(), dirs.end(), [](const PartitionDir& a, const PartitionDir& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return dirs;
}

}  // namespace sluice::storage
