// A log-linear latency histogram in the manner of HdrHistogram: values (nanoseconds) below 128 are
// counted exactly; above, each power of two is split into 128 equal buckets, so any recorded value
// is reported within 1/128 (< 0.8 %) of its true value, from 1 ns to 2^63 ns, in a fixed 58 KiB
// array. Recording is one index computation and one increment: no allocation, no lock.
// Each worker thread owns one histogram; the main thread merges them after the workers joined.
#pragma once

#include <array>
#include <cstdint>

#include "perf_json.h"

namespace sluice::perf {

class LatencyHistogram {
 public:
  static constexpr int sub_bucket_bits = 7;
  static constexpr int sub_bucket_count = 1 << sub_bucket_bits;  // 128
  static constexpr int bucket_count = sub_bucket_count + (64 - sub_bucket_bits) * sub_bucket_count;

  // Records `count` samples of `value_ns`. Negative values (clock skew) count as 0.
  void record(std::int64_t value_ns, std::uint64_t count = 1);
  void merge(const LatencyHistogram& other);
  std::uint64_t count() const { return count_; }
  std::int64_t max_ns() const { return max_ns_; }
  double mean_ns() const { return count_ ? static_cast<double>(sum_ns_) / static_cast<double>(count_) : 0.0; }
  // The highest value equivalent to the sample at `fraction` (0..1] of the ordered samples
  // (nearest rank), never above the exact maximum. 0 when empty.
  std::int64_t percentile_ns(double fraction) const;
  // {"count", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"} as the value of `name`.
  void write_json(Json& json, const std::string& name) const;

 private:
  static int index_of(std::uint64_t value);
  static std::uint64_t highest_equivalent(int index);

  std::array<std::uint64_t, bucket_count> buckets_{};
  std::uint64_t count_ = 0;
  std::int64_t max_ns_ = 0;
  __int128 sum_ns_ = 0;
};

}  // namespace sluice::perf
