// Drivers for the peers sluice is compared with, written lean so the client is not the bottleneck:
//   nats-pub          a raw-protocol NATS JetStream publisher: PUB with a reply subject per message
//                     (the JetStream ack comes back there), up to --window messages unacknowledged,
//                     many PUBs per write; creates the file-store stream first;
//   idle-connections  opens --count TCP connections to a server, optionally sends each a first
//                     request (Kafka ApiVersions, Redis PING or NATS CONNECT) and reads the answer,
//                     prints {"ready":...} and holds them until its stdin closes (or --hold-s).
// Single-threaded: each runs on the main thread.
#pragma once

#include "perf_options.h"

namespace sluice::perf {

int command_nats_pub(Options& options);
int command_idle_connections(Options& options);

}  // namespace sluice::perf
