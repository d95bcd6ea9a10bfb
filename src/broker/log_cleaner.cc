#include "broker/log_cleaner.h"

#include <charconv>
#include <future>

#include "base/clock.h"
#include "base/log.h"
#include "base/thread_name.h"
#include "io/event_loop.h"

namespace sluice::broker {
namespace {

std::int64_t config_int(const std::map<std::string, std::string>& configs, const char* key, std::int64_t fallback) {
  auto it = configs.find(key);
  if (it == configs.end()) return fallback;
  std::int64_t value = fallback;
  auto [end, error] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  return error == std::errc() && end == it->second.data() + it->second.size() ? value : fallback;
}

double config_double(const std::map<std::string, std::string>& configs, const char* key, double fallback) {
  auto it = configs.find(key);
  if (it == configs.end()) return fallback;
  double value = fallback;
  auto [end, error] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  return error == std::errc() && end == it->second.data() + it->second.size() ? value : fallback;
}

}  // namespace

LogCleaner::LogCleaner(const Config& config, TopicRegistry& registry, std::vector<std::unique_ptr<IoThread>>& io_threads,
                       std::filesystem::path log_dir)
    : config_(config),
      registry_(registry),
      io_threads_(io_threads),
      log_dir_(std::move(log_dir)),
      throttler_(config.cleaner_io_bytes_per_second),
      backoff_ms_(config.cleaner_backoff_ms) {}

LogCleaner::~LogCleaner() { stop(); }

Status LogCleaner::start() {
  if (!config_.cleaner_enable) {
    LOG_WARN("cleaner_disabled", "reason=\"log.cleaner.enable=false: compacted topics grow without bound\"");
    return Status::ok();
  }
  auto checkpoint = storage::read_cleaner_checkpoint(log_dir_);
  if (checkpoint.is_ok()) {
    checkpoint_ = std::move(checkpoint).value();
  } else {
    LOG_WARN("cleaner_checkpoint_unreadable", "error=\"%s\" effect=\"compacted logs are cleaned from their start\"",
             checkpoint.status().to_string().c_str());
  }
  for (int i = 0; i < config_.cleaner_threads; ++i) {
    int cpu = config_.cleaner_cpus.empty() ? -1 : config_.cleaner_cpus[static_cast<std::size_t>(i) % config_.cleaner_cpus.size()];
    threads_.emplace_back([this, i, cpu] { run(i, cpu); });
  }
  return Status::ok();
}

void LogCleaner::stop() {
  {
    std::lock_guard lock(mutex_);
    if (threads_.empty()) return;
    stopping_.store(true);
    cancel_.store(true);
    ++wake_generation_;
  }
  wake_cv_.notify_all();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

void LogCleaner::wake() {
  {
    std::lock_guard lock(mutex_);
    ++wake_generation_;
  }
  wake_cv_.notify_all();
}

LogCleaner::Totals LogCleaner::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

void LogCleaner::run(int index, int cpu) {
  name_current_thread("clean", index);
  if (cpu >= 0) {
    if (Status pinned = io::pin_current_thread(cpu); !pinned.is_ok())
      LOG_WARN("cleaner_pin_failed", "thread=%d cpu=%d error=\"%s\"", index, cpu, pinned.to_string().c_str());
  }
  storage::CleanerConfig cleaner_config;
  cleaner_config.dedupe_buffer_bytes =
      static_cast<std::size_t>(config_.cleaner_dedupe_buffer_bytes / static_cast<std::uint64_t>(config_.cleaner_threads));
  storage::Cleaner cleaner(cleaner_config, &throttler_);
  while (!stopping_.load()) {
    if (clean_once(cleaner)) continue;
    std::unique_lock lock(mutex_);
    const std::uint64_t generation = wake_generation_;
    wake_cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms_.load(std::memory_order_relaxed)),
                      [&] { return stopping_.load() || wake_generation_ != generation; });
  }
}

bool LogCleaner::on_owner(const Partition& partition, std::function<void()> work) {
  std::promise<void> done;
  auto finished = done.get_future();
  io_threads_[static_cast<std::size_t>(partition.io_thread)]->loop().post([&work, &done] {
    work();
    done.set_value();
  });
  finished.wait();
  return !stopping_.load();
}

bool LogCleaner::clean_once(storage::Cleaner& cleaner) {
  const std::int64_t now = wall_ms();
  auto topics = registry_.snapshot();
  std::vector<std::shared_ptr<Partition>> partitions;
  std::vector<storage::CleanCandidate> candidates;
  std::shared_ptr<Partition> partition;
  std::int64_t first_dirty = 0;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, topic] : topics->by_name) {
      const auto configs = registry_.effective_configs(*topic);
      auto policy = configs.find("cleanup.policy");
      if (policy == configs.end() || policy->second.find("compact") == std::string::npos) continue;
      const double ratio = config_double(configs, "min.cleanable.dirty.ratio", 0.5);
      const std::int64_t min_lag = config_int(configs, "min.compaction.lag.ms", 0);
      const std::int64_t max_lag = config_int(configs, "max.compaction.lag.ms", INT64_MAX);
      for (const auto& candidate : topic->partitions) {
        if (busy_.count(candidate.get()) || candidate->deleted.load() || candidate->log->offline()) continue;
        auto point = checkpoint_.find({name, candidate->index});
        std::optional<std::int64_t> checkpointed;
        if (point != checkpoint_.end()) checkpointed = point->second;
        candidates.push_back({candidate->log.get(), storage::first_dirty_offset(*candidate->log, checkpointed), ratio,
                              min_lag, max_lag});
        partitions.push_back(candidate);
      }
    }
    auto chosen = storage::choose_log_to_clean(candidates, now);
    if (!chosen) return false;
    partition = partitions[*chosen];
    first_dirty = candidates[*chosen].first_dirty_offset;
    busy_.insert(partition.get());
  }
  struct Release {
    LogCleaner& cleaner;
    const Partition* partition;
    ~Release() {
      std::lock_guard lock(cleaner.mutex_);
      cleaner.busy_.erase(partition);
    }
  } release{*this, partition.get()};

  storage::CleanRequest request;
  if (!on_owner(*partition, [&] {
        const TopicSettings& settings = partition->settings;
        request.first_dirty_offset = first_dirty;
        request.now_ms = now;
        request.delete_retention_ms = settings.delete_retention_ms;
        request.min_compaction_lag_ms = settings.min_compaction_lag_ms;
        request.segment_bytes = settings.log.segment_bytes;
        request.index_bytes_max = settings.log.index_bytes_max;
        request.index_interval_bytes = settings.log.index_interval_bytes;
        request.producer_last_offsets = partition->log->producer_last_offsets();
      })) {
    return false;
  }
  request.cancel = &cancel_;
  auto prepared = cleaner.prepare(*partition->log, request);
  if (!prepared.is_ok()) {
    if (!stopping_.load())
      LOG_WARN("cleaner_failed", "topic=%s partition=%d error=\"%s\"", partition->topic.c_str(), partition->index,
               prepared.status().to_string().c_str());
    return false;
  }
  storage::CleanPlan plan = std::move(prepared).value();
  if (plan.empty()) return false;
  const std::int64_t first_dirty_next = plan.first_dirty_offset_next;
  const storage::CleanStats stats = plan.stats;
  Result<std::size_t> swapped = std::size_t{0};
  on_owner(*partition, [&] {
    if (partition->deleted.load() || partition->log->offline()) {
      plan.discard();
      return;
    }
    swapped = partition->log->swap_cleaned(plan);
  });
  if (!swapped.is_ok()) {
    LOG_WARN("cleaner_swap_failed", "topic=%s partition=%d error=\"%s\"", partition->topic.c_str(), partition->index,
             swapped.status().to_string().c_str());
    return false;
  }
  if (swapped.value() == 0) return true;  // the log changed meanwhile: the next round tries again
  std::lock_guard lock(mutex_);
  checkpoint_[{partition->topic, partition->index}] = first_dirty_next;
  // Forget partitions that are gone, so the file does not grow with deleted topics.
  for (auto it = checkpoint_.begin(); it != checkpoint_.end();) {
    auto topic = registry_.find(it->first.first);
    bool alive = topic && it->first.second < static_cast<std::int32_t>(topic->partitions.size());
    it = alive ? std::next(it) : checkpoint_.erase(it);
  }
  if (Status written = storage::write_cleaner_checkpoint(log_dir_, checkpoint_); !written.is_ok())
    LOG_WARN("cleaner_checkpoint_failed", "error=\"%s\"", written.to_string().c_str());
  ++totals_.cleans;
  totals_.bytes_read += stats.bytes_read;
  totals_.bytes_written += stats.bytes_written;
  totals_.records_read += stats.records_read;
  totals_.records_kept += stats.records_kept;
  totals_.duration_ns += stats.duration_ns;
  LOG_INFO("log_cleaned", "topic=%s partition=%d first_dirty=%lld next_dirty=%lld read_bytes=%llu written_bytes=%llu "
                          "records=%llu kept=%llu ms=%.1f mb_per_s=%.1f",
           partition->topic.c_str(), partition->index, (long long)first_dirty, (long long)first_dirty_next,
           (unsigned long long)stats.bytes_read, (unsigned long long)stats.bytes_written,
           (unsigned long long)stats.records_read, (unsigned long long)stats.records_kept, stats.duration_ns / 1e6,
           stats.read_bytes_per_second() / 1e6);
  return true;
}

}  // namespace sluice::broker
