#include "base/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace sluice {
namespace {

TEST(ForEachParallel, RunsEveryItemOnceOnAtMostTheThreadsAsked) {
  constexpr std::size_t count = 1000;
  std::vector<std::atomic<int>> runs(count);
  std::mutex mutex;
  std::set<std::thread::id> threads;
  for_each_parallel(count, 4, [&](std::size_t i) {
    runs[i].fetch_add(1);
    std::lock_guard lock(mutex);
    threads.insert(std::this_thread::get_id());
  });
  for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(runs[i].load(), 1) << i;
  EXPECT_GE(threads.size(), 1u);
  EXPECT_LE(threads.size(), 4u);
}

TEST(ForEachParallel, OneThreadRunsInOrderOnTheCaller) {
  std::vector<std::size_t> order;
  const auto caller = std::this_thread::get_id();
  bool all_on_caller = true;
  for_each_parallel(5, 1, [&](std::size_t i) {
    order.push_back(i);
    all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
  });
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(all_on_caller);
}

TEST(ForEachParallel, ZeroThreadsMeansOneAndNoItemsRunNothing) {
  int runs = 0;
  for_each_parallel(3, 0, [&](std::size_t) { ++runs; });
  EXPECT_EQ(runs, 3);
  for_each_parallel(0, 8, [&](std::size_t) { ++runs; });
  EXPECT_EQ(runs, 3);
}

TEST(ForEachParallel, ItemsRunConcurrentlyWhenThreadsAreGiven) {
  // Each item waits (at most 10 s) for the other to start: both see it only when they run at once.
  std::atomic<int> started{0}, saw_both{0};
  for_each_parallel(2, 2, [&](std::size_t) {
    started.fetch_add(1);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    if (started.load() == 2) saw_both.fetch_add(1);
  });
  EXPECT_EQ(saw_both.load(), 2);
}

}  // namespace
}  // namespace sluice
