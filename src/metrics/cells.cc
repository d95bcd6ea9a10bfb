#include "metrics/cells.h"

#include <memory>
#include <mutex>
#include <vector>

#include "base/assert.h"

namespace sluice::metrics {
namespace {

// Every block ever made, and the ones whose thread has exited. Taken only when a thread first
// counts, when it exits, and by a scrape: never on a request path.
struct Blocks {
  std::mutex mutex;
  std::vector<std::unique_ptr<ThreadCells>> all;
  std::vector<ThreadCells*> free;
};

Blocks& blocks() {
  static Blocks* instance = new Blocks;  // never destroyed: threads may exit after main returns
  return *instance;
}

ThreadCells* acquire_block() {
  Blocks& b = blocks();
  std::lock_guard lock(b.mutex);
  if (!b.free.empty()) {
    ThreadCells* reused = b.free.back();
    b.free.pop_back();
    return reused;
  }
  b.all.push_back(std::make_unique<ThreadCells>());
  return b.all.back().get();
}

// Hands the block back when its thread exits.
struct Owner {
  ThreadCells* cells = nullptr;
  ~Owner() {
    if (cells == nullptr) return;
    Blocks& b = blocks();
    std::lock_guard lock(b.mutex);
    b.free.push_back(cells);
  }
};

thread_local ThreadCells* t_cells = nullptr;
thread_local Owner t_owner;

ThreadCells& register_thread() {
  SLUICE_ASSERT(t_cells == nullptr);
  t_cells = acquire_block();
  t_owner.cells = t_cells;
  return *t_cells;
}

}  // namespace

ThreadCells& local() {
  // The common case is one thread-local load and a test; the owner object (which has a
  // destructor and so a guarded initialization) is touched only the first time.
  if (t_cells != nullptr) [[likely]]
    return *t_cells;
  return register_thread();
}

void sum_cells(CellTotals& out) {
  Blocks& b = blocks();
  std::lock_guard lock(b.mutex);
  for (const auto& cells : b.all) {
    for (int i = 0; i < api_key_slots; ++i) {
      out.requests[i] += cells->requests[i].load();
      out.request_latency[i].add(cells->request_latency[i]);
    }
    for (int i = 0; i < error_code_slots; ++i) {
      out.produce_errors[i] += cells->produce_errors[i].load();
      out.fetch_errors[i] += cells->fetch_errors[i].load();
    }
    out.flush_latency.add(cells->flush_latency);
    out.fsync_latency.add(cells->fsync_latency);
    // Closed before accepted: a connection accepted and closed between the two reads then shows
    // in neither, rather than as closed only (which would make the open count negative).
    out.connections_closed += cells->connections_closed.load();
    std::atomic_thread_fence(std::memory_order_acquire);
    out.connections_accepted += cells->connections_accepted.load();
    out.connections_refused += cells->connections_refused.load();
  }
}

std::size_t cell_block_count() {
  Blocks& b = blocks();
  std::lock_guard lock(b.mutex);
  return b.all.size();
}

}  // namespace sluice::metrics
