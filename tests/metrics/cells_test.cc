// Per-thread cells: each thread counts into its own block and a sum sees every count, including
// those of threads that have exited; blocks of exited threads are reused; histogram buckets are
// the documented powers of two.
#include "metrics/cells.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "metrics/topic_counters.h"

namespace sluice::metrics {
namespace {

std::uint64_t total_requests(int api_key) {
  CellTotals totals;
  sum_cells(totals);
  return totals.requests[static_cast<std::size_t>(api_key)];
}

TEST(Cells, SumsCountsOfManyThreadsIncludingExitedOnes) {
  const std::uint64_t before = total_requests(77);
  constexpr int threads = 4;
  constexpr int per_thread = 100000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([] {
      for (int i = 0; i < per_thread; ++i) local().requests[77].add(1);
    });
  for (auto& worker : workers) worker.join();
  // Lost updates would show here: two writers on one cell drop counts.
  EXPECT_EQ(total_requests(77), before + threads * per_thread);
}

TEST(Cells, ExitedThreadsBlocksAreReused) {
  std::thread([] { local().requests[78].add(1); }).join();
  const std::size_t blocks = cell_block_count();
  for (int i = 0; i < 20; ++i) std::thread([] { local().requests[78].add(1); }).join();
  EXPECT_EQ(cell_block_count(), blocks);
  EXPECT_GE(total_requests(78), 21u);
}

TEST(Cells, SlotsClampOutOfRangeValues) {
  EXPECT_EQ(api_key_slot(0), 0);
  EXPECT_EQ(api_key_slot(-3), api_key_slots - 1);
  EXPECT_EQ(api_key_slot(1000), api_key_slots - 1);
  EXPECT_EQ(error_code_slot(-1), 0);
  EXPECT_EQ(error_code_slot(3), 4);
  EXPECT_EQ(error_code_of_slot(error_code_slot(106)), 106);
  EXPECT_EQ(error_code_slot(5000), 0);  // counted as UNKNOWN_SERVER_ERROR
}

TEST(Histogram, BucketsArePowersOfTwoFromOneMicrosecond) {
  EXPECT_EQ(latency_bucket_bound_ns(0), 1024u);
  EXPECT_EQ(latency_bucket_bound_ns(24), 1024ull << 24);
  for (int i = 0; i + 1 < latency_bucket_count; ++i) {
    std::uint64_t bound = latency_bucket_bound_ns(i);
    EXPECT_EQ(latency_bucket(bound), i) << bound;
    EXPECT_EQ(latency_bucket(bound + 1), i + 1) << bound;
  }
  EXPECT_EQ(latency_bucket(~std::uint64_t{0}), latency_bucket_count - 1);
}

TEST(Histogram, TotalsCountEqualsTheSumOfBuckets) {
  LatencyCell cell;
  cell.observe_ns(500);
  cell.observe_ns(5000);
  cell.observe_ns(-7);  // a clock read out of order counts as zero
  cell.observe_ns(100'000'000'000);
  LatencyTotals totals;
  totals.add(cell);
  EXPECT_EQ(totals.count(), 4u);
  EXPECT_EQ(totals.buckets[0], 2u);
  EXPECT_EQ(totals.buckets[static_cast<std::size_t>(latency_bucket(5000))], 1u);
  EXPECT_EQ(totals.buckets[latency_bucket_count - 1], 1u);
  EXPECT_EQ(totals.sum_ns, 500u + 5000u + 100'000'000'000u);
}

TEST(TopicCounters, AddsRetainsAndBoundsEntries) {
  TopicCounters counters;
  Uuid a = Uuid::random(), b = Uuid::random();
  counters.add(a, 10);
  counters.add(a, 5);
  counters.add(b, 1);
  EXPECT_EQ(counters.counts().at(a), 15u);
  counters.retain([&](const Uuid& id) { return id == a; });
  EXPECT_EQ(counters.counts().size(), 1u);
  EXPECT_EQ(counters.counts().count(b), 0u);
  for (std::size_t i = 0; i < TopicCounters::entries_max + 5; ++i) counters.add(Uuid::random(), 2);
  EXPECT_EQ(counters.counts().size(), TopicCounters::entries_max);
  EXPECT_EQ(counters.overflow(), 2u * 6);  // a plus entries_max - 1 new ones fit; 6 did not
}

}  // namespace
}  // namespace sluice::metrics
