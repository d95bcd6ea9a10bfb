// One consumer connection of sluice-perf: Fetch v11 for its partitions from given offsets, one
// fetch in flight (as Kafka's consumer has per broker), walking the returned batches by their
// headers only (no record is decoded, except the first of each batch for its stamp) and counting
// records, batch bytes and end-to-end latency (receive time minus the producer's stamp, weighted
// by the batch's record count). Optionally checks each batch's CRC-32C, as check.crcs=true does.
//
// Stops at stop_ns, or, with end offsets, once every partition reached its end offset (a catch-up
// read of a backlog: the time of the last batch is reported). Batches count when they arrive
// inside [measure_start_ns, measure_end_ns).
// Runs on its own thread; the config is read-only, the result belongs to the thread until joined.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "latency_histogram.h"

namespace sluice::perf {

struct ConsumerConfig {
  std::string host;
  int port = 0;
  std::string topic;
  std::vector<std::int32_t> partitions;   // Requires: not empty
  std::vector<std::int64_t> start_offsets;  // one per partition
  std::vector<std::int64_t> end_offsets;    // empty: run until stop_ns
  int max_wait_ms = 500;
  int min_bytes = 1;
  int max_bytes = 64 << 20;
  int partition_max_bytes = 8 << 20;
  bool check_crc = false;
  std::int64_t start_ns = 0;
  std::int64_t measure_start_ns = 0;
  std::int64_t measure_end_ns = 0;
  std::int64_t stop_ns = 0;
  int timeout_ms = 30000;
  int cpu = -1;
};

struct ConsumerResult {
  std::uint64_t records = 0;
  std::uint64_t batches = 0;
  std::uint64_t batch_bytes = 0;
  std::uint64_t fetches = 0;
  std::uint64_t empty_fetches = 0;
  std::uint64_t errors = 0;       // partitions answered with an error code
  std::int16_t first_error = 0;
  std::uint64_t crc_errors = 0;
  std::int64_t first_fetch_ns = 0;
  std::int64_t last_batch_ns = 0;  // arrival of the last counted batch
  bool reached_end = false;
  LatencyHistogram e2e_latency;
};

void run_consumer(const ConsumerConfig& config, ConsumerResult* result);

}  // namespace sluice::perf
