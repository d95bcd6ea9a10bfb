#include "base/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace sluice {

void for_each_parallel(std::size_t count, std::size_t threads, const std::function<void(std::size_t)>& work) {
  if (count == 0) return;
  std::atomic<std::size_t> next{0};
  auto take_items = [&] {
    for (std::size_t i = next++; i < count; i = next++) work(i);
  };
  const std::size_t helpers = std::min(std::max<std::size_t>(threads, 1), count) - 1;
  std::vector<std::thread> started;
  started.reserve(helpers);
  for (std::size_t t = 0; t < helpers; ++t) started.emplace_back(take_items);
  take_items();
  for (auto& thread : started) thread.join();
}

}  // namespace sluice
