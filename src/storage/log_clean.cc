// The Log's half of log compaction (storage/cleaner.h): the swap of cleaned segments on the
// owner thread, and the completion of an interrupted clean when a log is opened.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <string_view>

#include "base/assert.h"
#include "base/log.h"
#include "storage/cleaner.h"
#include "storage/file_io.h"
#include "storage/log.h"
#include "storage/segment.h"

namespace sluice::storage {
namespace {

constexpr const char* cleaned_suffix = ".cleaned";
constexpr const char* swap_suffix = ".swap";
constexpr const char* segment_kinds[] = {".log", ".index", ".timeindex"};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "<20 digits><kind>" for kind in .log/.index/.timeindex/.txnindex -> base offset.
std::optional<std::int64_t> segment_file_base(std::string_view name) {
  if (name.size() < 21) return std::nullopt;
  std::string_view kind = name.substr(20);
  if (kind != ".log" && kind != ".index" && kind != ".timeindex" && kind != ".txnindex") return std::nullopt;
  std::int64_t value = 0;
  for (char c : name.substr(0, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

Status rename_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (file_io().rename(from.c_str(), to.c_str()) != 0) return Status::from_errno(errno, "rename " + from.string());
  return Status::ok();
}

Status rename_group_files(const std::filesystem::path& dir, std::int64_t base, const char* from, const char* to) {
  for (const char* kind : segment_kinds) {
    const std::string name = segment_file_name(base, kind);
    if (Status s = rename_file(dir / (name + from), dir / (name + to)); !s.is_ok()) return s;
  }
  return Status::ok();
}

// Unlinks a plan's files under either temporary suffix (a failed rename leaves them mixed).
void discard_any_suffix(CleanPlan& plan) {
  plan.suffix = cleaned_suffix;
  std::vector<CleanedGroup> groups = plan.groups;
  plan.discard();
  plan.groups = std::move(groups);
  plan.suffix = swap_suffix;
  plan.discard();
}

// The offset after the last whole batch of a segment file, or base when it has none.
Result<std::int64_t> next_offset_of_file(const std::filesystem::path& path, std::int64_t base) {
  int fd = file_io().open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(errno, "open " + path.string());
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int saved = errno;
    file_io().close(fd);
    return Status::from_errno(saved, "fstat " + path.string());
  }
  BatchHeaderScanner scanner(fd, 0, static_cast<std::uint64_t>(st.st_size));
  RecordBatchHeader header;
  std::uint64_t position = 0;
  std::int64_t next = base;
  for (;;) {
    auto more = scanner.next(&header, &position);
    if (!more.is_ok()) {
      file_io().close(fd);
      return more.status();
    }
    if (!more.value()) break;
    next = std::max(next, header.last_offset() + 1);
  }
  file_io().close(fd);
  return next;
}

}  // namespace

Status Log::finish_interrupted_clean(const std::filesystem::path& dir) {
  // Kafka's LogLoader: *.cleaned files are an unfinished clean (the originals are intact); a
  // *.swap file is a finished one whose swap was cut short. Its originals are the segments whose
  // base lies in the swap segment's offset range: delete them, then rename the swap files.
  std::vector<std::string> swaps, others;
  std::error_code ec;
  bool changed = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (ends_with(name, cleaned_suffix)) {
      if (file_io().unlink(entry.path().c_str()) != 0 && errno != ENOENT)
        return Status::from_errno(errno, "unlink " + entry.path().string());
      changed = true;
    } else if (ends_with(name, swap_suffix)) {
      swaps.push_back(std::move(name));
    } else {
      others.push_back(std::move(name));
    }
  }
  if (ec) return Status::from_errno(ec.value(), "list " + dir.string());
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;  // [base, next offset)
  for (const auto& name : swaps) {
    auto base = segment_file_base(std::string_view(name).substr(0, name.size() - 5));
    if (!base || !ends_with(std::string_view(name).substr(0, name.size() - 5), ".log")) continue;
    auto next = next_offset_of_file(dir / name, *base);
    if (!next.is_ok()) return next.status();
    ranges.emplace_back(*base, std::max(next.value(), *base + 1));
  }
  for (const auto& name : others) {
    auto base = segment_file_base(name);
    if (!base) continue;
    bool replaced = std::any_of(ranges.begin(), ranges.end(),
                                [&](const auto& r) { return *base >= r.first && *base < r.second; });
    if (!replaced) continue;
    LOG_WARN("storage.clean_swap_completed", "dir=%s deleted=%s", dir.c_str(), name.c_str());
    if (file_io().unlink((dir / name).c_str()) != 0 && errno != ENOENT)
      return Status::from_errno(errno, "unlink " + (dir / name).string());
    changed = true;
  }
  // The .log files first: an index without its log is recreated, a log without its index is not.
  std::stable_sort(swaps.begin(), swaps.end(), [](const std::string& a, const std::string& b) {
    return ends_with(a, ".log.swap") && !ends_with(b, ".log.swap");
  });
  for (const auto& name : swaps) {
    if (Status s = rename_file(dir / name, dir / name.substr(0, name.size() - 5)); !s.is_ok()) return s;
    changed = true;
  }
  if (!changed) return Status::ok();
  return fsync_dir(dir);
}

std::unordered_map<std::int64_t, std::int64_t> Log::producer_last_offsets() const {
  std::unordered_map<std::int64_t, std::int64_t> offsets;
  producer_state_.for_each_last_offset([&](std::int64_t id, std::int64_t last) { offsets.emplace(id, last); });
  return offsets;
}

Result<std::size_t> Log::swap_cleaned(CleanPlan& plan) {
  SLUICE_ASSERT(plan.dir == dir_, "plan for %s swapped into %s", plan.dir.c_str(), dir_.c_str());
  SLUICE_ASSERT(std::string_view(plan.suffix) == cleaned_suffix, "suffix=%s", plan.suffix);
  if (plan.empty()) return std::size_t{0};
  if (offline()) {
    plan.discard();
    return Status::from_errno(EIO, "log offline: " + dir_.string());
  }
  auto snapshot = segments();
  const auto& list = snapshot->segments;
  // Keep the groups whose segments are all still there, in place (retention and DeleteRecords
  // only take segments from the front; roll only adds at the back).
  std::vector<CleanedGroup> current;
  std::vector<std::size_t> positions;
  CleanPlan dropped;
  dropped.dir = plan.dir;
  for (auto& group : plan.groups) {
    auto it = std::find(list.begin(), list.end(), group.replaced.front());
    auto at = static_cast<std::size_t>(it - list.begin());
    bool in_place = it != list.end() && at + group.replaced.size() < list.size() &&
                    std::equal(group.replaced.begin(), group.replaced.end(), it);
    if (in_place) {
      positions.push_back(at);
      current.push_back(std::move(group));
    } else {
      dropped.groups.push_back(std::move(group));
    }
  }
  plan.groups = std::move(current);
  if (!dropped.empty())
    LOG_INFO("storage.clean_groups_dropped", "dir=%s groups=%zu", dir_.c_str(), dropped.groups.size());
  dropped.discard();
  if (plan.groups.empty()) return std::size_t{0};

  // 1. The new segments become a finished clean (Log::open completes it from here on).
  for (const auto& group : plan.groups) {
    if (Status s = rename_group_files(dir_, group.segment->base_offset(), cleaned_suffix, swap_suffix); !s.is_ok()) {
      discard_any_suffix(plan);
      return s;
    }
  }
  plan.suffix = swap_suffix;
  if (Status s = fsync_dir(dir_); !s.is_ok()) {
    discard_any_suffix(plan);
    return s;
  }
  // 2. Past this point a failure leaves the swap to Log::open.
  auto fail = [&](const Status& s) {
    set_offline(s.message().c_str());
    plan.groups.clear();
    return s;
  };
  for (const auto& group : plan.groups)
    for (const auto& old : group.replaced)
      if (Status s = old->remove_files(); !s.is_ok()) return fail(s);
  for (const auto& group : plan.groups) {
    if (Status s = rename_group_files(dir_, group.segment->base_offset(), swap_suffix, ""); !s.is_ok()) return fail(s);
    group.segment->index_files_renamed(dir_);
  }
  if (Status s = fsync_dir(dir_); !s.is_ok()) return fail(s);

  // 3. Publish; readers in flight keep the old segments (and their unlinked files) open.
  std::vector<std::shared_ptr<Segment>> next;
  next.reserve(list.size());
  std::size_t group_index = 0;
  for (std::size_t i = 0; i < list.size();) {
    if (group_index < positions.size() && positions[group_index] == i) {
      next.push_back(plan.groups[group_index].segment);
      i += plan.groups[group_index].replaced.size();
      ++group_index;
      continue;
    }
    next.push_back(list[i++]);
  }
  SLUICE_ASSERT(group_index == plan.groups.size(), "group_index=%zu groups=%zu", group_index, plan.groups.size());
  SLUICE_ASSERT(next.back() == list.back(), "the active segment must stay");
  publish(std::move(next));
  const std::size_t swapped = plan.groups.size();
  LOG_INFO("storage.clean_swapped", "dir=%s groups=%zu", dir_.c_str(), swapped);
  plan.groups.clear();
  plan.suffix = cleaned_suffix;
  return swapped;
}

}  // namespace sluice::storage
