// Runs work(i) for every i in [0, count) on up to `threads` threads, the calling thread one of
// them, and returns when all are done. Items are handed out one at a time in index order, so a
// slow item does not hold back the rest. For start-up and batch jobs (loading partitions, syncing
// many files), not for the request path: the helper threads are created for the call.
#pragma once

#include <cstddef>
#include <functional>

namespace sluice {

void for_each_parallel(std::size_t count, std::size_t threads, const std::function<void(std::size_t)>& work);

}  // namespace sluice
