// The log cleaner of the broker: compacts every log whose topic has cleanup.policy=compact
// (__consumer_offsets included), Kafka's LogCleaner and LogCleanerManager around storage::Cleaner.
//
// Threads: log.cleaner.threads threads of its own, pinned to log.cleaner.cpus when set. A round
// on one of them: pick the dirtiest compacted log no other cleaner thread holds
// (storage::choose_log_to_clean: over min.cleanable.dirty.ratio, or past max.compaction.lag.ms),
// ask the partition's owner I/O thread for the request (its settings and producer state are
// owner-only), prepare the plan here (read, map, write, sync; throttled to
// log.cleaner.io.max.bytes.per.second for all threads together), hand the plan to the owner for
// the swap, then checkpoint the first dirty offset (cleaner-offset-checkpoint). With nothing to
// clean a thread sleeps log.cleaner.backoff.ms (or until wake()).
// start()/stop() from the broker's main thread; wake(), set_io_rate() and totals() from any.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "base/config.h"
#include "broker/io_thread.h"
#include "broker/topic_registry.h"
#include "storage/cleaner.h"

namespace sluice::broker {

class LogCleaner {
 public:
  // `registry` and `io_threads` must outlive the cleaner; stop() before the I/O threads stop.
  LogCleaner(const Config& config, TopicRegistry& registry, std::vector<std::unique_ptr<IoThread>>& io_threads,
             std::filesystem::path log_dir);
  ~LogCleaner();
  LogCleaner(const LogCleaner&) = delete;
  LogCleaner& operator=(const LogCleaner&) = delete;

  // Starts the threads (none when log.cleaner.enable is false).
  Status start();
  // Cancels a clean in flight (its files go) and joins the threads.
  void stop();
  // Runs a round now on every idle cleaner thread.
  void wake();
  void set_io_rate(double bytes_per_second) { throttler_.set_rate(bytes_per_second); }
  void set_backoff_ms(std::int64_t backoff_ms) { backoff_ms_.store(backoff_ms, std::memory_order_relaxed); }

  struct Totals {
    std::uint64_t cleans = 0, bytes_read = 0, bytes_written = 0, records_read = 0, records_kept = 0;
    std::int64_t duration_ns = 0;
  };
  Totals totals() const;

 private:
  struct Candidate;
  void run(int index, int cpu);
  // One round: false when there was nothing to clean.
  bool clean_once(storage::Cleaner& cleaner);
  // Runs `work` on the partition's owner I/O thread and waits for it (false: the broker stops).
  bool on_owner(const Partition& partition, std::function<void()> work);

  const Config& config_;
  TopicRegistry& registry_;
  std::vector<std::unique_ptr<IoThread>>& io_threads_;
  std::filesystem::path log_dir_;
  storage::Throttler throttler_;
  std::atomic<std::int64_t> backoff_ms_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> cancel_{false};  // stops every prepare in flight (stop())

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_cv_;
  std::uint64_t wake_generation_ = 0;
  std::set<const Partition*> busy_;  // partitions a cleaner thread holds
  storage::OffsetCheckpoint checkpoint_;
  Totals totals_;
  std::vector<std::thread> threads_;
};

}  // namespace sluice::broker
