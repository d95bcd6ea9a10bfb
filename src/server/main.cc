// sluice [server.properties] [--override key=value]...
// sluice tune check|apply ...
// Wiring only: configuration, start-up and shutdown order, signals, the service manager.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "base/config.h"
#include "base/log.h"
#include "broker/broker.h"
#include "server/service.h"
#include "tools/dump_log.h"
#include "tools/tune.h"

namespace {

void print_usage() {
  std::fprintf(stderr,
               "usage: sluice [server.properties] [--override key=value]...\n"
               "       sluice tune check|apply [--root DIR] [--cpus LIST | --config FILE] [--dry-run] [--persist]\n"
               "       sluice dump-log [--deep-iteration] [--print-data-log] [--verify-index-only] FILE...\n"
               "  A Kafka-protocol broker. Takes Kafka's property names (listeners, log.dirs, node.id,\n"
               "  num.partitions, ...); see config/server.properties for the keys Sluice knows.\n"
               "  Logs one line per event on stderr: level, component, event, then key=value fields.\n"
               "  Under systemd (Type=notify) it reports READY=1 once it serves requests, pets the\n"
               "  watchdog while every event loop turns, and stops cleanly on SIGTERM within\n"
               "  shutdown.timeout.ms.\n"
               "  tune: compares this host with the kernel profile Sluice wants (sluice tune --help).\n"
               "  dump-log: prints and checks segments, indexes and state files like kafka-dump-log.sh\n"
               "  (sluice dump-log --help).\n");
}

sluice::LogLevel level_from(const std::string& name) {
  if (name == "debug") return sluice::LogLevel::debug;
  if (name == "warn") return sluice::LogLevel::warn;
  if (name == "error") return sluice::LogLevel::error;
  return sluice::LogLevel::info;
}

}  // namespace

// Until SIGTERM or SIGINT: pets the watchdog while every event loop answers (no thread without
// a watchdog). Returns the signal.
int serve(sluice::broker::Broker& broker, const sluice::server::ServiceNotifier& notifier, sigset_t& signals) {
  std::unique_ptr<sluice::server::LoopWatchdog> watchdog;
  if (notifier.watchdog_interval().count() > 0) {
    std::vector<sluice::server::LoopWatchdog::Loop> loops;
    for (auto& [name, loop] : broker.event_loops()) loops.push_back({name, loop});
    // Four probe rounds per interval: a ping goes out at least every half interval, as systemd
    // asks, while each loop has a quarter interval to answer its probe.
    auto period = std::chrono::duration_cast<std::chrono::milliseconds>(notifier.watchdog_interval() / 4);
    watchdog = std::make_unique<sluice::server::LoopWatchdog>(notifier, std::move(loops),
                                                              std::max(period, std::chrono::milliseconds(1)));
    watchdog->start();
  }
  int received = 0;
  sigwait(&signals, &received);
  // The loops stop during broker.stop(): the probes must end first.
  if (watchdog) watchdog->stop();
  return received;
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "tune") == 0) return sluice::tools::tune_main(argc - 2, argv + 2);
  if (argc >= 2 && std::strcmp(argv[1], "dump-log") == 0) return sluice::tools::dump_log_main(argc - 1, argv + 1);
  std::map<std::string, std::string> properties;
  std::vector<std::pair<std::string, std::string>> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      print_usage();
      return 0;
    }
    if (arg == "--version") {
      std::printf("sluice 0.1.0\n");
      return 0;
    }
    if (arg == "--override") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "sluice: --override needs key=value\n");
        return 2;
      }
      std::string pair = argv[++i];
      std::size_t equals = pair.find('=');
      if (equals == std::string::npos || equals == 0) {
        std::fprintf(stderr, "sluice: --override needs key=value, got '%s'\n", pair.c_str());
        return 2;
      }
      overrides.emplace_back(pair.substr(0, equals), pair.substr(equals + 1));
      continue;
    }
    if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "sluice: unknown option '%s'\n", arg.c_str());
      print_usage();
      return 2;
    }
    auto file = sluice::read_properties_file(arg);
    if (!file.is_ok()) {
      std::fprintf(stderr, "sluice: cannot read %s: %s\n", arg.c_str(), file.status().to_string().c_str());
      return 2;
    }
    for (auto& [key, value] : file.value()) properties[key] = value;
  }
  for (auto& [key, value] : overrides) properties[key] = value;

  sluice::Config config;
  std::vector<std::string> unknown;
  sluice::Status applied = sluice::apply_properties(properties, config, unknown);
  if (!applied.is_ok()) {
    std::fprintf(stderr, "sluice: %s\n", applied.message().c_str());
    return 2;
  }
  sluice::log_set_level(level_from(config.log_level));
  for (const auto& key : unknown) LOG_WARN("config_unknown_key", "key=%s (ignored)", key.c_str());

  // Signals are taken synchronously by the main thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Every partition keeps three files open: take the whole open-files allowance the host gives.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) LOG_WARN("rlimit_nofile", "could not raise the open-files limit");
  }

  sluice::server::ServiceNotifier notifier;
  notifier.status("Starting: opening the log directory");
  sluice::broker::Broker broker(config);
  sluice::Status started = broker.start();
  if (!started.is_ok()) {
    LOG_ERROR("start_failed", "error=\"%s\"", started.to_string().c_str());
    notifier.status("Failed to start: " + started.to_string());
    return 1;
  }
  // start() returned: the logs are loaded and every listener accepts.
  const std::string serving = "Serving on " + config.listeners.at(0).host + ":" + std::to_string(broker.bound_port());
  notifier.ready(serving);
  int received = serve(broker, notifier, signals);
  LOG_INFO("stopping", "signal=%s deadline_ms=%lld", strsignal(received),
           static_cast<long long>(config.shutdown_timeout_ms));
  notifier.stopping("Stopping: closing the logs and writing the checkpoints");
  auto took = sluice::server::run_bounded_stop(notifier, std::chrono::milliseconds(config.shutdown_timeout_ms),
                                               [&broker] { broker.stop(); });
  LOG_INFO("stop_done", "ms=%lld", static_cast<long long>(took.count()));
  notifier.status("Stopped");
  return 0;
}
