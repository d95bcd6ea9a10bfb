// `sluice tune check|apply`: compares a host with the kernel profile Sluice wants (sysctls,
// transparent huge pages, block device scheduler and read-ahead, clock source, IRQ affinity and
// CPU isolation of the pinned cores) and changes it on request, in the spirit of
// `rpk redpanda tune`. The reason for every setting, with its source, lives in the profile
// (tune_profile.cc) and in kernel-tuning/README.md.
//
// Every path is read under a root directory ("/" on a real host), so tests run the tuner against
// a fake /proc and /sys tree. Single-threaded; nothing here is used by the broker at run time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace sluice::tools {

// The host's files, under `root`. Paths given to it are absolute host paths ("/proc/sys/...").
class TuneHost {
 public:
  explicit TuneHost(std::string root);
  const std::string& root() const { return root_; }
  // The path as the process sees it: root + path.
  std::string real_path(const std::string& path) const;
  // The file's contents without the trailing newline; nullopt when it cannot be read.
  std::optional<std::string> read(const std::string& path) const;
  // Names in a directory, sorted; empty when it cannot be read.
  std::vector<std::string> list(const std::string& path) const;
  // Writes `value` plus a newline, as `echo value > path` does (no create: kernel files exist).
  Status write(const std::string& path, const std::string& value) const;
  // Creates or replaces a regular file (with its parent directories), for --persist.
  Status write_file(const std::string& path, const std::string& contents) const;

 private:
  std::string root_;
};

struct TuneWrite {
  std::string path;  // absolute host path
  std::string value;
};

enum class TuneState {
  ok,           // as wanted
  off,          // not as wanted: counts against `check`'s exit status
  advice,       // a manual step (kernel command line, irqbalance); does not count
  unavailable,  // the host has no such setting (older kernel, no such device); does not count
};

struct TuneFinding {
  std::string name;     // "vm.swappiness", "block.nvme0n1.scheduler", "irq.45.affinity", ...
  std::string current;
  std::string wanted;
  std::string reason;   // why Sluice wants it, and the source or measurement behind it
  TuneState state = TuneState::ok;
  std::vector<TuneWrite> writes;  // what `apply` writes to make it as wanted (empty: nothing it can do)
};

struct TuneOptions {
  std::string root = "/";
  std::vector<int> pinned_cpus;  // the broker's pinned cores (--cpus, or from --config)
};

// Every finding for the host, in profile order.
std::vector<TuneFinding> tune_check(const TuneHost& host, const TuneOptions& options);

// The files --persist writes, as (host path, contents): a sysctl.d file with every sysctl of the
// profile, a udev rule for the block devices and a tmpfiles.d line for transparent huge pages.
// A sysctl the host already satisfies keeps the host's value (a larger fs.file-max is not
// lowered); with no findings every value is the profile's, the bytes kernel-tuning/ ships.
std::vector<std::pair<std::string, std::string>> tune_persist_files(const std::vector<TuneFinding>& findings);

// Entry point: argv holds the arguments after "tune". Returns the process exit status.
int tune_main(int argc, char** argv);

// Formats CPU numbers as a kernel CPU list ("0-3,6"); the inverse of io::parse_cpu_list.
std::string format_cpu_set(std::vector<int> cpus);

}  // namespace sluice::tools
