#include "latency_histogram.h"

#include <algorithm>
#include <cmath>

#include "base/assert.h"

namespace sluice::perf {

int LatencyHistogram::index_of(std::uint64_t value) {
  if (value < sub_bucket_count) return static_cast<int>(value);
  int magnitude = 63 - __builtin_clzll(value);  // >= sub_bucket_bits
  int shift = magnitude - sub_bucket_bits;
  int sub = static_cast<int>(value >> shift) - sub_bucket_count;  // 0..127
  int index = sub_bucket_count + shift * sub_bucket_count + sub;
  SLUICE_ASSERT(index >= 0 && index < bucket_count, "index %d of value %llu", index,
                static_cast<unsigned long long>(value));
  return index;
}

std::uint64_t LatencyHistogram::highest_equivalent(int index) {
  if (index < sub_bucket_count) return static_cast<std::uint64_t>(index);
  int shift = (index - sub_bucket_count) / sub_bucket_count;
  std::uint64_t sub = static_cast<std::uint64_t>((index - sub_bucket_count) % sub_bucket_count + sub_bucket_count);
  return ((sub + 1) << shift) - 1;
}

void LatencyHistogram::record(std::int64_t value_ns, std::uint64_t count) {
  if (value_ns < 0) value_ns = 0;
  buckets_[static_cast<std::size_t>(index_of(static_cast<std::uint64_t>(value_ns)))] += count;
  count_ += count;
  sum_ns_ += static_cast<__int128>(value_ns) * count;
  max_ns_ = std::max(max_ns_, value_ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ns_ += other.sum_ns_;
  max_ns_ = std::max(max_ns_, other.max_ns_);
}

std::int64_t LatencyHistogram::percentile_ns(double fraction) const {
  if (count_ == 0) return 0;
  SLUICE_ASSERT(fraction > 0.0 && fraction <= 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (int i = 0; i < bucket_count; ++i) {
    seen += buckets_[static_cast<std::size_t>(i)];
    if (seen >= rank) return std::min<std::int64_t>(static_cast<std::int64_t>(highest_equivalent(i)), max_ns_);
  }
  return max_ns_;
}

void LatencyHistogram::write_json(Json& json, const std::string& name) const {
  auto us = [](std::int64_t ns) { return static_cast<double>(ns) / 1000.0; };
  json.key(name).begin_object();
  json.field("count", count_);
  json.field("mean_us", mean_ns() / 1000.0);
  json.field("p50_us", us(percentile_ns(0.50)));
  json.field("p90_us", us(percentile_ns(0.90)));
  json.field("p99_us", us(percentile_ns(0.99)));
  json.field("p999_us", us(percentile_ns(0.999)));
  json.field("max_us", us(max_ns_));
  json.end_object();
}

}  // namespace sluice::perf
