// sluice [server.properties] [--override key=value]...
// Wiring only: configuration, start-up and shutdown order, signals.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "base/config.h"
#include "base/log.h"
#include "broker/broker.h"

namespace {

void print_usage() {
  std::fprintf(stderr,
               "usage: sluice [server.properties] [--override key=value]...\n"
               "  A Kafka-protocol broker. Takes Kafka's property names (listeners, log.dirs, node.id,\n"
               "  num.partitions, ...); see config/server.properties for the keys Sluice knows.\n");
}

sluice::LogLevel level_from(const std::string& name) {
  if (name == "debug") return sluice::LogLevel::debug;
  if (name == "warn") return sluice::LogLevel::warn;
  if (name == "error") return sluice::LogLevel::error;
  return sluice::LogLevel::info;
}

}  // namespace

int main(int argc, char** argv) {
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

  sluice::broker::Broker broker(config);
  sluice::Status started = broker.start();
  if (!started.is_ok()) {
    LOG_ERROR("start_failed", "error=\"%s\"", started.to_string().c_str());
    return 1;
  }
  int received = 0;
  sigwait(&signals, &received);
  LOG_INFO("stopping", "signal=%s", strsignal(received));
  broker.stop();
  return 0;
}
