// The broker's metric cells: counters and latency histograms that each thread writes into its own
// block of memory, summed by whoever scrapes.
//
// Why: the produce and fetch paths run on many threads at once. A shared counter (an atomic
// fetch_add on one cache line) makes every thread that touches it wait for that line. Here each
// thread owns a ThreadCells block (cache-line aligned, allocated on the thread's first use) and
// updates it with a relaxed load and a relaxed store: a plain add on x86, no locked instruction,
// no line shared with another writer. A scrape reads every block with relaxed loads and sums.
//
// Threads: local() from any thread, returning that thread's block; only that thread may write it.
// sum_cells() from any thread. A block outlives its thread: when a thread exits, its block goes
// back to a free list and the next new thread continues counting in it (counters only grow, and a
// sum over all blocks stays right). Blocks are never freed, so their number is the peak number of
// threads that counted at once.
// Process-wide: two brokers in one process (some tests) count into the same cells.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "metrics/histogram.h"

namespace sluice::metrics {

// Kafka API keys are small non-negative integers (the highest Kafka defines is below 100).
inline constexpr int api_key_slots = 128;
// Kafka error codes run from -1 (UNKNOWN_SERVER_ERROR) up; slot = code + 1.
inline constexpr int error_code_slots = 160;

inline int api_key_slot(int api_key) { return api_key >= 0 && api_key < api_key_slots ? api_key : api_key_slots - 1; }
inline int error_code_slot(int code) { return code >= -1 && code < error_code_slots - 1 ? code + 1 : 0; }
inline int error_code_of_slot(int slot) { return slot - 1; }

struct alignas(64) ThreadCells {
  std::array<LocalCounter, api_key_slots> requests;            // requests received, by API key
  std::array<LatencyCell, api_key_slots> request_latency;      // received -> response queued
  std::array<LocalCounter, error_code_slots> produce_errors;   // per partition, by error code
  std::array<LocalCounter, error_code_slots> fetch_errors;     // per partition (or request), by code
  LatencyCell flush_latency;  // one group-commit round: first sync submitted -> all done
  LatencyCell fsync_latency;  // one fsync/fdatasync of one file or directory
  LocalCounter connections_accepted;
  LocalCounter connections_closed;
  LocalCounter connections_refused;  // max.connections reached
};

// The calling thread's cells; registers them on the thread's first call.
ThreadCells& local();

// Plain sums of every thread's cells at one moment (each cell read once; cells written meanwhile
// may or may not be included).
struct CellTotals {
  std::array<std::uint64_t, api_key_slots> requests{};
  std::array<LatencyTotals, api_key_slots> request_latency{};
  std::array<std::uint64_t, error_code_slots> produce_errors{};
  std::array<std::uint64_t, error_code_slots> fetch_errors{};
  LatencyTotals flush_latency;
  LatencyTotals fsync_latency;
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_closed = 0;
  std::uint64_t connections_refused = 0;
};
void sum_cells(CellTotals& out);

// How many blocks exist (threads that counted at some time, less those reused). For tests.
std::size_t cell_block_count();

}  // namespace sluice::metrics
