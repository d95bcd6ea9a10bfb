// sluice-perf: the load generator and limit probes of Sluice's end-to-end harness (bench/e2e).
// Usage: sluice-perf <command> [--option value]...; each command prints one JSON object on stdout.
// Commands: kafka, create-topic (kafka_workload.h); disk-write, fdatasync, tcp-stream, tcp-rtt,
// file-to-socket, open-files, wake-lateness (perf_limits.h); nats-pub, idle-connections (peers.h).
#include <cstdio>
#include <cstring>

#include "kafka_workload.h"
#include "perf_limits.h"
#include "peers.h"
#include "perf_options.h"

namespace {

struct Command {
  const char* name;
  int (*run)(sluice::perf::Options&);
  const char* summary;
};

constexpr Command commands[] = {
    {"kafka", sluice::perf::command_kafka, "producers/consumers against a Kafka-protocol broker"},
    {"create-topic", sluice::perf::command_create_topic, "create a topic and wait for its partitions"},
    {"disk-write", sluice::perf::command_disk_write, "buffered sequential write throughput (1 GiB once, or --duration-s S sustained)"},
    {"fdatasync", sluice::perf::command_fdatasync, "write + fdatasync latency"},
    {"tcp-stream", sluice::perf::command_tcp_stream, "loopback TCP throughput"},
    {"tcp-rtt", sluice::perf::command_tcp_rtt, "loopback TCP round trip"},
    {"file-to-socket", sluice::perf::command_file_to_socket, "sendfile / splice / io_uring splice / read+write throughput"},
    {"open-files", sluice::perf::command_open_files, "open+fstat+close every file under a directory"},
    {"wake-lateness", sluice::perf::command_wake_lateness, "how late a sleeping thread runs on each CPU"},
    {"nats-pub", sluice::perf::command_nats_pub, "NATS JetStream raw-protocol publisher"},
    {"idle-connections", sluice::perf::command_idle_connections, "hold N idle connections to a server"},
};

void usage() {
  std::fprintf(stderr, "usage: sluice-perf <command> [--option value]...\ncommands:\n");
  for (const Command& command : commands) std::fprintf(stderr, "  %-17s %s\n", command.name, command.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  for (const Command& command : commands) {
    if (std::strcmp(argv[1], command.name) == 0) {
      sluice::perf::Options options(argc, argv, 2);
      return command.run(options);
    }
  }
  usage();
  return 2;
}
