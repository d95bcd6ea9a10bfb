// One producer connection of sluice-perf: sends Produce v8 requests, each holding one RecordBatch
// for one partition (round-robin over the connection's partitions), with up to `window` requests
// in flight (Kafka's max.in.flight.requests.per.connection), and reads the responses in order.
//
// Open loop when a rate is set: batch i is due at start + i / rate; it is sent at its due time or,
// when the window was full, as soon as a slot frees, and its latency is counted from the due time,
// so a stalled broker shows in the percentiles instead of hiding (no coordinated omission). The
// same due time is the stamp in the batch for end-to-end latency. Unlimited rate: sent as fast as
// the window allows, latency from the actual send.
//
// A batch counts when its response arrives inside [measure_start_ns, measure_end_ns) (acks=0: when
// it is sent inside that window). Nothing is sent after measure_end_ns; responses still in flight
// are drained (bounded by the socket timeout) and not counted.
// Runs on its own thread; the config is read-only, the result belongs to the thread until joined.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "batch_maker.h"
#include "latency_histogram.h"

namespace sluice::perf {

struct ProducerConfig {
  std::string host;
  int port = 0;
  std::string topic;
  std::vector<std::int32_t> partitions;  // Requires: not empty
  std::uint32_t partition_count = 1;     // of the topic (for the key spread)
  BatchShape shape;
  std::int16_t acks = -1;
  int window = 8;                        // Requires: >= 1
  double batches_per_s = 0;              // 0: unlimited
  std::int64_t start_ns = 0;
  std::int64_t measure_start_ns = 0;
  std::int64_t measure_end_ns = 0;
  int timeout_ms = 30000;
  int cpu = -1;
  std::uint64_t seed = 1;
};

struct ProducerResult {
  std::uint64_t records = 0;
  std::uint64_t batches = 0;
  std::uint64_t payload_bytes = 0;  // keys + values, uncompressed
  std::uint64_t batch_bytes = 0;    // the batches as sent (compressed when compressed)
  std::uint64_t errors = 0;         // partitions answered with an error code
  std::int16_t first_error = 0;
  std::uint64_t late_batches = 0;   // sent more than 1 ms after their due time (rate mode)
  LatencyHistogram latency;
};

// Runs one producer connection to completion. Fails the process on a socket error or a response
// that does not parse.
void run_producer(const ProducerConfig& config, ProducerResult* result);

}  // namespace sluice::perf
