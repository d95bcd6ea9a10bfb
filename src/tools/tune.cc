// `sluice tune check|apply`: argument parsing, the report, and applying or persisting the profile
// (see tune.h; the profile itself is in tune_profile.cc).
#include "tools/tune.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/config.h"
#include "io/event_loop.h"

namespace sluice::tools {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_off = 1;          // check: some setting is off; apply: some write failed
constexpr int exit_usage = 2;
constexpr int exit_not_permitted = 4;

void print_tune_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: sluice tune check [--root DIR] [--cpus LIST | --config FILE]\n"
               "       sluice tune apply [--root DIR] [--cpus LIST | --config FILE] [--dry-run] [--persist]\n"
               "  check   prints every setting of the host profile: status, name, current, wanted, reason.\n"
               "          Exits 1 when any setting is off, 0 when all are as wanted.\n"
               "  apply   writes the settings that are off (root only); --dry-run prints the exact writes\n"
               "          instead; --persist also writes /etc/sysctl.d/99-sluice.conf,\n"
               "          /etc/udev/rules.d/60-sluice.rules and /etc/tmpfiles.d/sluice-thp.conf.\n"
               "  --root DIR     read and write the host's files under DIR (a fake /proc and /sys for tests)\n"
               "  --cpus LIST    the cores the broker pins threads to (e.g. 2-5), for IRQ affinity and CPU\n"
               "                 isolation; --config FILE takes them from network.cpus, io.cpus, fetch.cpus\n");
}

struct Command {
  std::string verb;
  TuneOptions options;
  bool dry_run = false;
  bool persist = false;
};

bool pinned_from_config(const std::string& path, std::vector<int>& pinned) {
  auto properties = read_properties_file(path);
  if (!properties.is_ok()) {
    std::fprintf(stderr, "sluice tune: cannot read %s: %s\n", path.c_str(), properties.status().to_string().c_str());
    return false;
  }
  Config config;
  std::vector<std::string> unknown;
  Status applied = apply_properties(properties.value(), config, unknown);
  if (!applied.is_ok()) {
    std::fprintf(stderr, "sluice tune: %s: %s\n", path.c_str(), applied.message().c_str());
    return false;
  }
  for (const auto* list : {&config.network_cpus, &config.io_cpus, &config.fetch_cpus})
    pinned.insert(pinned.end(), list->begin(), list->end());
  return true;
}

// Returns false (after printing why) on a bad command line.
bool parse(int argc, char** argv, Command& command) {
  if (argc < 1) return false;
  command.verb = argv[0];
  if (command.verb != "check" && command.verb != "apply") return false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--dry-run" && command.verb == "apply") {
      command.dry_run = true;
    } else if (arg == "--persist" && command.verb == "apply") {
      command.persist = true;
    } else if (arg == "--root" && has_value) {
      command.options.root = argv[++i];
    } else if (arg == "--cpus" && has_value) {
      auto cpus = io::parse_cpu_list(argv[++i]);
      if (!cpus.is_ok()) {
        std::fprintf(stderr, "sluice tune: %s\n", cpus.status().message().c_str());
        return false;
      }
      command.options.pinned_cpus = cpus.value();
    } else if (arg == "--config" && has_value) {
      if (!pinned_from_config(argv[++i], command.options.pinned_cpus)) return false;
    } else {
      std::fprintf(stderr, "sluice tune: unexpected argument '%s'\n", arg.c_str());
      return false;
    }
  }
  return true;
}

const char* state_name(TuneState state) {
  switch (state) {
    case TuneState::ok: return "ok";
    case TuneState::off: return "off";
    case TuneState::advice: return "advice";
    case TuneState::unavailable: return "n/a";
  }
  return "?";
}

// One line per setting: status, name, current, wanted, in columns at least two spaces apart (so
// scripts can split on two spaces), then the reason on an indented line below it.
void print_report(const std::vector<TuneFinding>& findings) {
  std::size_t name_width = 7, current_width = 7;
  for (const auto& finding : findings) {
    name_width = std::max(name_width, finding.name.size());
    current_width = std::max(current_width, finding.current.size());
  }
  const int name_w = static_cast<int>(name_width), current_w = static_cast<int>(current_width);
  std::printf("%-6s  %-*s  %-*s  %s\n", "STATUS", name_w, "SETTING", current_w, "CURRENT", "WANTED");
  for (const auto& finding : findings) {
    std::printf("%-6s  %-*s  %-*s  %s\n", state_name(finding.state), name_w, finding.name.c_str(), current_w,
                finding.current.c_str(), finding.wanted.c_str());
    std::printf("        why: %s\n", finding.reason.c_str());
  }
}

int run_check(const Command& command) {
  TuneHost host(command.options.root);
  auto findings = tune_check(host, command.options);
  print_report(findings);
  std::size_t off = 0;
  for (const auto& finding : findings) off += finding.state == TuneState::off ? 1 : 0;
  std::printf("%zu settings checked, %zu off\n", findings.size(), off);
  return off == 0 ? exit_ok : exit_off;
}

bool permission_error(const Status& status) {
  int e = status.errno_value();
  return e == EACCES || e == EPERM || e == EROFS;
}

// Writes (or, dry, prints) every change the off findings name. Returns the failed write count.
std::size_t apply_writes(const TuneHost& host, const std::vector<TuneFinding>& findings, bool dry_run,
                         bool& lacked_permission) {
  std::size_t failed = 0;
  for (const auto& finding : findings) {
    if (finding.state != TuneState::off) continue;
    if (finding.writes.empty()) {
      std::printf("# %s: cannot be changed here (current %s, wanted %s)\n", finding.name.c_str(),
                  finding.current.c_str(), finding.wanted.c_str());
      continue;
    }
    for (const auto& write : finding.writes) {
      if (dry_run) {
        std::printf("write %s %s\n", host.real_path(write.path).c_str(), write.value.c_str());
        continue;
      }
      Status written = host.write(write.path, write.value);
      if (written.is_ok()) {
        std::printf("wrote %s %s\n", host.real_path(write.path).c_str(), write.value.c_str());
        continue;
      }
      ++failed;
      lacked_permission = lacked_permission || permission_error(written);
      std::printf("failed %s %s: %s\n", host.real_path(write.path).c_str(), write.value.c_str(),
                  std::strerror(written.errno_value()));
    }
  }
  return failed;
}

std::size_t persist_files(const TuneHost& host, const std::vector<TuneFinding>& findings, bool dry_run,
                          bool& lacked_permission) {
  std::size_t failed = 0;
  for (const auto& [path, contents] : tune_persist_files(findings)) {
    if (dry_run) {
      std::printf("create %s\n", host.real_path(path).c_str());
      std::size_t start = 0;
      while (start < contents.size()) {
        std::size_t end = contents.find('\n', start);
        std::printf("| %s\n", contents.substr(start, end - start).c_str());
        start = end == std::string::npos ? contents.size() : end + 1;
      }
      continue;
    }
    Status written = host.write_file(path, contents);
    if (written.is_ok()) {
      std::printf("created %s\n", host.real_path(path).c_str());
      continue;
    }
    ++failed;
    lacked_permission = lacked_permission || permission_error(written);
    std::printf("failed %s: %s\n", host.real_path(path).c_str(), written.to_string().c_str());
  }
  std::printf("# load them now with: sysctl --system; udevadm trigger --subsystem-match=block; "
              "systemd-tmpfiles --create sluice-thp.conf\n");
  return failed;
}

void print_manual_steps(const std::vector<TuneFinding>& findings) {
  for (const auto& finding : findings) {
    if (finding.state == TuneState::advice)
      std::printf("# manual: %s: current %s, wanted %s\n", finding.name.c_str(), finding.current.c_str(),
                  finding.wanted.c_str());
  }
}

int run_apply(const Command& command) {
  TuneHost host(command.options.root);
  if (!command.dry_run && host.root() == "/" && ::geteuid() != 0) {
    std::fprintf(stderr,
                 "sluice tune apply: changing kernel settings needs root, and this runs as uid %u; nothing was "
                 "changed.\n  Run it with sudo, or add --dry-run to see the exact writes.\n",
                 static_cast<unsigned>(::geteuid()));
    return exit_not_permitted;
  }
  auto findings = tune_check(host, command.options);
  bool lacked_permission = false;
  std::size_t failed = apply_writes(host, findings, command.dry_run, lacked_permission);
  if (command.persist) failed += persist_files(host, findings, command.dry_run, lacked_permission);
  print_manual_steps(findings);
  if (lacked_permission) {
    std::fprintf(stderr,
                 "sluice tune apply: %zu change(s) were refused for lack of permission (read-only /proc/sys or "
                 "/sys in a container, or not root); the rest were applied.\n",
                 failed);
  }
  return failed == 0 ? exit_ok : (lacked_permission ? exit_not_permitted : exit_off);
}

}  // namespace

int tune_main(int argc, char** argv) {
  if (argc >= 1 && (std::strcmp(argv[0], "-h") == 0 || std::strcmp(argv[0], "--help") == 0)) {
    print_tune_usage(stdout);
    return exit_ok;
  }
  Command command;
  if (!parse(argc, argv, command)) {
    print_tune_usage(stderr);
    return exit_usage;
  }
  return command.verb == "check" ? run_check(command) : run_apply(command);
}

}  // namespace sluice::tools
