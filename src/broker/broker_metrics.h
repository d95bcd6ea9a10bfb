// What a scrape gathers from the broker's threads and the functions that write it out in the
// Prometheus text format (metrics_writers.cc). Internal to broker_metrics.cc.
//
// Threads: everything here runs on the metrics server's thread, except committed_offsets(), which
// runs on the coordinator's I/O thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "broker/group_coordinator.h"
#include "broker/topic_registry.h"
#include "io/event_loop.h"
#include "metrics/cells.h"
#include "metrics/exposition.h"
#include "metrics/topic_counters.h"
#include "net/memory_budget.h"

namespace sluice::broker {

// One network thread's answer: its parked fetches and its bytes out per topic.
struct NetworkAnswer {
  std::size_t fetches_parked = 0;
  metrics::TopicCounters::Map bytes_out;
  std::uint64_t bytes_out_untracked = 0;
};

struct CommittedEntry {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

// One I/O thread's answer: requests waiting for its group commits, its groups' offsets.
struct IoAnswer {
  std::size_t flush_waiters = 0;
  std::vector<CommittedEntry> committed;
};

using NetworkAnswers = std::vector<std::optional<NetworkAnswer>>;
using IoAnswers = std::vector<std::optional<IoAnswer>>;

// I/O thread of the coordinator: every committed offset of its groups, at most `entries_max`.
std::vector<CommittedEntry> committed_offsets(GroupCoordinator& coordinator, std::size_t entries_max);

void write_cells(metrics::TextWriter& out, const metrics::CellTotals& totals);
void write_topics(metrics::TextWriter& out, const TopicMap& topics, const NetworkAnswers& network);
void write_partitions(metrics::TextWriter& out, const TopicMap& topics);
void write_threads(metrics::TextWriter& out, const NetworkAnswers& network, const IoAnswers& io,
                   const std::vector<std::pair<std::string, io::EventLoop*>>& loops);
void write_memory(metrics::TextWriter& out, const net::MemoryBudget& budget, std::uint64_t cold_reads);
void write_groups(metrics::TextWriter& out, const TopicRegistry& registry, const IoAnswers& io);

}  // namespace sluice::broker
