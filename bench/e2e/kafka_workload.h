// The Kafka commands of sluice-perf:
//   kafka         producers and/or consumers against a broker for a warm-up and a measured window,
//                 printing one JSON report (throughput, produce and end-to-end latency, the client's
//                 own CPU share, the broker's CPU per GB moved when --broker-pid is given);
//   create-topic  creates a topic (with per-topic configs) and waits until Metadata lists all its
//                 partitions.
// Both run on the main thread, which starts one thread per connection and joins them.
#pragma once

#include "perf_options.h"

namespace sluice::perf {

int command_kafka(Options& options);
int command_create_topic(Options& options);

}  // namespace sluice::perf
