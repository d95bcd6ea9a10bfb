// Single-writer counters and fixed log-scale latency histograms.
//
// LocalCounter: written by one thread only (relaxed load + relaxed store, which is a plain add, no
// locked instruction); read by any thread with a relaxed load. Two writers would lose counts.
//
// Latency buckets are fixed and log-scale: bucket i holds latencies up to 1024 << i nanoseconds
// (1.024 us, 2.048 us, ... 17.2 s) and the last one everything above. Finding the bucket is a
// shift and a bit_width, no search. Factor-2 resolution is coarse but enough to see a tail move,
// and it keeps every histogram at 27 words.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace sluice::metrics {

class LocalCounter {
 public:
  // Owner thread only.
  void add(std::uint64_t n) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  // Any thread.
  std::uint64_t load() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

inline constexpr int latency_bucket_count = 26;  // 25 finite upper bounds, then +Inf
inline constexpr int latency_bucket_shift = 10;  // the first bound is 1 << 10 ns

// The bucket of a latency of `ns` nanoseconds: the first i with ns <= 1024 << i, else the last.
constexpr int latency_bucket(std::uint64_t ns) {
  std::uint64_t scaled = ns == 0 ? 0 : (ns - 1) >> latency_bucket_shift;
  int index = static_cast<int>(std::bit_width(scaled));
  return index < latency_bucket_count - 1 ? index : latency_bucket_count - 1;
}
// The upper bound of finite bucket i in nanoseconds. Requires: i < latency_bucket_count - 1.
constexpr std::uint64_t latency_bucket_bound_ns(int i) { return std::uint64_t{1} << (latency_bucket_shift + i); }

static_assert(latency_bucket(0) == 0);
static_assert(latency_bucket(1024) == 0);
static_assert(latency_bucket(1025) == 1);
static_assert(latency_bucket(2048) == 1);
static_assert(latency_bucket(latency_bucket_bound_ns(24)) == 24);
static_assert(latency_bucket(latency_bucket_bound_ns(24) + 1) == 25);

// One thread's histogram: per-bucket (not cumulative) counts and the sum of the observations.
struct LatencyCell {
  std::array<LocalCounter, latency_bucket_count> buckets;
  LocalCounter sum_ns;
  // Owner thread only. A negative latency (a clock read out of order) counts as zero.
  void observe_ns(std::int64_t ns) {
    std::uint64_t value = ns > 0 ? static_cast<std::uint64_t>(ns) : 0;
    buckets[static_cast<std::size_t>(latency_bucket(value))].add(1);
    sum_ns.add(value);
  }
};

// Sums of several threads' cells. The count is the sum of the buckets, so the +Inf bucket and
// the count always agree, as Prometheus expects.
struct LatencyTotals {
  std::array<std::uint64_t, latency_bucket_count> buckets{};
  std::uint64_t sum_ns = 0;
  void add(const LatencyCell& cell) {
    for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += cell.buckets[i].load();
    sum_ns += cell.sum_ns.load();
  }
  std::uint64_t count() const {
    std::uint64_t total = 0;
    for (auto value : buckets) total += value;
    return total;
  }
};

}  // namespace sluice::metrics
