// The kernel profile Sluice wants and the checks that compare a host with it (see tune.h).
// Each setting carries its reason and the source or measurement behind it; kernel-tuning/README.md
// says the same at more length.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

#include "io/event_loop.h"
#include "tools/tune.h"

namespace sluice::tools {
namespace {

enum class Compare { exact, at_least, at_most, each_at_least };

struct SysctlSetting {
  const char* key;
  const char* wanted;
  Compare compare;
  const char* reason;
};

// The sysctl part of the profile, in the order of the generated sysctl.d file.
const SysctlSetting sysctl_settings[] = {
    {"vm.swappiness", "1", Compare::at_most,
     "Fetches are served from the page cache and the broker's own memory is small and hot; swapping "
     "either out puts a disk read on the request path. 1 rather than 0 keeps swap as a last resort "
     "before the OOM killer. Source: Confluent's and Canonical's Kafka production guides (vm.swappiness=1)."},
    {"vm.dirty_background_bytes", "134217728", Compare::exact,
     "Background writeback starts once 128 MiB are dirty, so the device writes steadily instead of in "
     "bursts (Sluice's sync_file_range write-behind, flush.writebehind.bytes, does the same per "
     "segment). Source: kernel Documentation/admin-guide/sysctl/vm.rst; Kafka's 'Understanding Linux "
     "OS Flush Behavior'."},
    {"vm.dirty_bytes", "1073741824", Compare::exact,
     "Writers are throttled once 1 GiB is dirty. A bound in bytes keeps the worst writeback burst the "
     "same on any amount of RAM; the default dirty_ratio=20 lets 51 GiB pile up on a 256 GiB host and "
     "then stalls appends while it drains. Source: vm.rst (dirty_bytes, dirty_ratio)."},
    {"vm.max_map_count", "262144", Compare::at_least,
     "Offset and time indexes are memory-mapped, two maps per segment, so 20,000 partitions "
     "(partitions.max) with a few segments each pass the default 65530. Source: Kafka documentation, "
     "Hardware and OS (maximum number of memory map areas)."},
    {"fs.file-max", "2097152", Compare::at_least,
     "Open files system-wide: each partition keeps its log, index and time index open, and each "
     "client holds a socket. Source: Kafka documentation, Hardware and OS (file descriptor limits)."},
    {"fs.nr_open", "1048576", Compare::at_least,
     "The ceiling for a process's RLIMIT_NOFILE: the unit's LimitNOFILE=1048576 cannot apply above "
     "it. Source: proc(5) (/proc/sys/fs/nr_open), systemd.exec(5)."},
    {"fs.aio-max-nr", "65536", Compare::at_least,
     "Sluice does its disk I/O through io_uring, which does not count against this limit (it bounds "
     "Linux AIO io_setup contexts, which Seastar-based brokers need raised: Redpanda's tuner sets "
     "1048576). The kernel default 65536 is enough; the check flags only a host where it was lowered. "
     "Source: fs/aio.c, Documentation/admin-guide/sysctl/fs.rst."},
    {"kernel.io_uring_disabled", "0", Compare::exact,
     "Linux 6.6+ can switch io_uring off (1: only for members of kernel.io_uring_group, 2: for "
     "everyone). Every network, I/O and fetch thread of Sluice runs an io_uring loop, so the broker "
     "cannot start without it. Source: Documentation/admin-guide/sysctl/kernel.rst."},
    {"fs.pipe-max-size", "1048576", Compare::at_least,
     "Pipes used by splice-based sends may grow to 1 MiB (the kernel default). Source: pipe(7)."},
    {"net.core.somaxconn", "4096", Compare::at_least,
     "Caps the accept queue Sluice asks for in listen() (1024): after a restart every client "
     "reconnects at once. 4096 is the default since Linux 5.4 (128 before). Source: "
     "Documentation/networking/ip-sysctl.rst, listen(2)."},
    {"net.ipv4.tcp_max_syn_backlog", "8192", Compare::at_least,
     "Half-open connections queued during the same reconnect storm. Source: ip-sysctl.rst."},
    {"net.core.rmem_max", "16777216", Compare::at_least,
     "Caps receive buffers set with SO_RCVBUF (clients set Kafka's receive.buffer.bytes). 16 MiB is "
     "the bandwidth-delay product of 10 Gb/s at 13 ms. Source: Kafka documentation, Hardware and OS "
     "(max socket buffer size); ip-sysctl.rst."},
    {"net.core.wmem_max", "16777216", Compare::at_least,
     "Caps send buffers set with SO_SNDBUF, for the same reason on the fetch (send) side. Source: as "
     "net.core.rmem_max."},
    {"net.ipv4.tcp_rmem", "4096 87380 16777216", Compare::each_at_least,
     "Autotuned TCP receive buffer (min, default, max): the max lets a producer's large batches "
     "stream at line rate on long links. Source: ip-sysctl.rst (tcp_rmem)."},
    {"net.ipv4.tcp_wmem", "4096 65536 16777216", Compare::each_at_least,
     "Autotuned TCP send buffer: a fetch response is sent with sendfile straight from the page cache "
     "and streams only as fast as the send buffer lets it (the default max is 4 MiB). Source: "
     "ip-sysctl.rst (tcp_wmem)."},
    {"net.ipv4.tcp_slow_start_after_idle", "0", Compare::exact,
     "Consumers and producers go quiet between batches; with 1 (the default) a connection idle for "
     "one retransmission timeout restarts from the initial congestion window and the next large "
     "fetch response ramps up again. Source: RFC 2861, ip-sysctl.rst."},
    {"net.core.busy_read", "0", Compare::exact,
     "Busy polling of blocking socket reads spins a CPU on the NIC queue. Sluice waits in io_uring, "
     "which this does not affect (io_uring's own NAPI busy poll needs Linux 6.9 and is not used), so "
     "a non-zero value only burns CPU in other processes. Source: ip-sysctl.rst, "
     "Documentation/networking/napi.rst."},
    {"net.core.busy_poll", "0", Compare::exact,
     "Busy polling in poll/select/epoll; off for the same reason as net.core.busy_read. Source: "
     "ip-sysctl.rst."},
};

const char* thp_reason =
    "With 'always', page faults and khugepaged compact memory to build 2 MiB pages, stalling the "
    "broker's threads for milliseconds, and the allocator's freed ranges stay held as huge pages "
    "(memory bloat). 'madvise' lets only code that asks for huge pages get them ('never' is fine "
    "too). Source: kernel Documentation/admin-guide/mm/transhuge.rst; Redis's latency docs give "
    "the same advice.";
const char* thp_defrag_reason =
    "Anything but 'always', which compacts memory synchronously inside page faults. Source: "
    "transhuge.rst (defrag).";
const char* scheduler_reason =
    "Non-rotational devices (NVMe, SSD): none. They reorder internally with deep queues, and a "
    "scheduler only adds CPU and a lock per request. Rotational disks: mq-deadline, which bounds "
    "how long reads wait behind Sluice's sequential writes. Source: Documentation/block/ "
    "(switching-sched.rst, deadline-iosched.rst); Redpanda's disk scheduler tuner.";
const char* read_ahead_reason =
    "Cold fetches read segments sequentially: at least the kernel default of 128 KiB. Smaller "
    "values (some database guides set 8-16 KiB) turn a catch-up read into many small reads. Sluice "
    "also calls readahead() on its fetch threads for cold ranges. Source: "
    "Documentation/block/queue-sysfs.rst (read_ahead_kb).";
const char* clock_reason =
    "Every request takes timestamps with clock_gettime. tsc, kvm-clock, arch_sys_counter and "
    "hyperv_clocksource_tsc_page are read in the vDSO without a system call; hpet, acpi_pm and xen "
    "need one. Measured on the development VM (kvm-clock, 2 vCPUs): 40 ns per "
    "clock_gettime(CLOCK_MONOTONIC) through the vDSO against 1.9 us for the same call as a system "
    "call. Persist with clocksource=tsc on the kernel command line. Source: Redpanda's clocksource "
    "tuner; Documentation/admin-guide/kernel-parameters.txt.";
const char* memlock_reason =
    "Before Linux 5.12 io_uring charges each ring to RLIMIT_MEMLOCK (64 KiB by default), which a "
    "few 1024-entry rings exceed; since 5.12 rings are charged to the memory cgroup. The unit sets "
    "LimitMEMLOCK=infinity either way. Source: io_uring_setup(2) (NOTES), Linux 5.12 release notes.";
const char* irq_reason =
    "The broker pins its network, I/O and fetch threads (network.cpus, io.cpus, fetch.cpus); a "
    "device interrupt on those cores preempts a loop in the middle of a batch and evicts its cache. "
    "Interrupts belong on the other online cores. irqbalance moves them back unless told "
    "(IRQBALANCE_BANNED_CPULIST); managed IRQs (NVMe queues) cannot be moved and refuse the write. "
    "Persist through irqbalance or a boot script. Source: Documentation/core-api/irq/irq-affinity.rst.";
const char* isolation_reason =
    "isolcpus=domain,managed_irq,<cpus> keeps other tasks and managed interrupts off the pinned "
    "cores, and nohz_full=<cpus> stops the scheduler tick on a core that runs one thread. Both need "
    "the kernel command line and a reboot, and an isolated core gets no load balancing, so only the "
    "pinned threads should run there: advice, not applied. Source: kernel-parameters.txt, "
    "Documentation/timers/no_hz.rst.";

std::string sysctl_path(const std::string& key) {
  std::string path = "/proc/sys/" + key;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return path;
}

std::vector<std::int64_t> numbers(const std::string& text) {
  std::vector<std::int64_t> values;
  std::istringstream in(text);
  std::string word;
  while (in >> word) values.push_back(std::strtoll(word.c_str(), nullptr, 10));
  return values;
}

std::string collapse_spaces(const std::string& text) {
  std::istringstream in(text);
  std::string word, out;
  while (in >> word) out += (out.empty() ? "" : " ") + word;
  return out;
}

bool satisfies(const std::string& current, const std::string& wanted, Compare compare) {
  auto have = numbers(current);
  auto want = numbers(wanted);
  if (have.size() != want.size() || have.empty()) return false;
  for (std::size_t i = 0; i < have.size(); ++i) {
    bool good = compare == Compare::exact      ? have[i] == want[i]
                : compare == Compare::at_most ? have[i] <= want[i]
                                               : have[i] >= want[i];
    if (!good) return false;
  }
  return true;
}

std::string wanted_text(const SysctlSetting& setting) {
  switch (setting.compare) {
    case Compare::exact: return setting.wanted;
    case Compare::at_least: return std::string(">= ") + setting.wanted;
    case Compare::at_most: return std::string("<= ") + setting.wanted;
    case Compare::each_at_least: return std::string(">= ") + setting.wanted + " (each)";
  }
  return setting.wanted;
}

void check_sysctls(const TuneHost& host, std::vector<TuneFinding>& findings) {
  for (const auto& setting : sysctl_settings) {
    TuneFinding finding{setting.key, "-", wanted_text(setting), setting.reason, TuneState::ok, {}};
    const std::string path = sysctl_path(setting.key);
    auto current = host.read(path);
    if (!current) {
      finding.state = TuneState::unavailable;
    } else {
      finding.current = collapse_spaces(*current);
      if (!satisfies(finding.current, setting.wanted, setting.compare)) {
        finding.state = TuneState::off;
        finding.writes.push_back({path, setting.wanted});
      }
    }
    findings.push_back(std::move(finding));
  }
}

// "always [madvise] never" -> "madvise".
std::string bracketed(const std::string& text) {
  std::size_t open = text.find('[');
  std::size_t close = text.find(']', open);
  if (open == std::string::npos || close == std::string::npos) return collapse_spaces(text);
  return text.substr(open + 1, close - open - 1);
}

bool has_word(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string each;
  while (in >> each) {
    if (each == word || each == "[" + word + "]") return true;
  }
  return false;
}

void check_choice(const TuneHost& host, const std::string& name, const std::string& path, const std::string& wanted,
                  const std::set<std::string>& acceptable, const char* reason, std::vector<TuneFinding>& findings) {
  TuneFinding finding{name, "-", wanted, reason, TuneState::ok, {}};
  auto text = host.read(path);
  if (!text) {
    finding.state = TuneState::unavailable;
  } else {
    finding.current = bracketed(*text);
    if (!acceptable.count(finding.current)) {
      finding.state = TuneState::off;
      if (has_word(*text, wanted)) finding.writes.push_back({path, wanted});
    }
  }
  findings.push_back(std::move(finding));
}

void check_transparent_huge_pages(const TuneHost& host, std::vector<TuneFinding>& findings) {
  check_choice(host, "thp.enabled", "/sys/kernel/mm/transparent_hugepage/enabled", "madvise", {"madvise", "never"},
               thp_reason, findings);
  check_choice(host, "thp.defrag", "/sys/kernel/mm/transparent_hugepage/defrag", "madvise",
               {"madvise", "defer+madvise", "defer", "never"}, thp_defrag_reason, findings);
}

bool is_tunable_disk(const std::string& name) {
  for (const char* prefix : {"loop", "ram", "zram", "sr", "fd", "nbd"}) {
    if (name.rfind(prefix, 0) == 0) return false;
  }
  return true;
}

void check_block_devices(const TuneHost& host, std::vector<TuneFinding>& findings) {
  for (const auto& device : host.list("/sys/block")) {
    if (!is_tunable_disk(device)) continue;
    const std::string queue = "/sys/block/" + device + "/queue/";
    if (!host.read(queue + "scheduler")) continue;  // no request queue (md, some dm)
    const bool rotational = host.read(queue + "rotational").value_or("0") == "1";
    const std::string wanted = rotational ? "mq-deadline" : "none";
    check_choice(host, "block." + device + ".scheduler", queue + "scheduler", wanted, {wanted}, scheduler_reason,
                 findings);
    TuneFinding read_ahead{"block." + device + ".read_ahead_kb", "-", ">= 128", read_ahead_reason, TuneState::ok, {}};
    if (auto current = host.read(queue + "read_ahead_kb")) {
      read_ahead.current = *current;
      if (!satisfies(*current, "128", Compare::at_least)) {
        read_ahead.state = TuneState::off;
        read_ahead.writes.push_back({queue + "read_ahead_kb", "128"});
      }
    } else {
      read_ahead.state = TuneState::unavailable;
    }
    findings.push_back(std::move(read_ahead));
  }
}

void check_clock_source(const TuneHost& host, std::vector<TuneFinding>& findings) {
  const std::string directory = "/sys/devices/system/clocksource/clocksource0/";
  TuneFinding finding{"clocksource", "-", "tsc (or kvm-clock, arch_sys_counter: a vDSO clock)", clock_reason,
                      TuneState::ok, {}};
  auto current = host.read(directory + "current_clocksource");
  if (!current) {
    finding.state = TuneState::unavailable;
  } else {
    finding.current = *current;
    static const std::set<std::string> vdso = {"tsc", "kvm-clock", "arch_sys_counter", "hyperv_clocksource_tsc_page"};
    if (!vdso.count(*current)) {
      finding.state = TuneState::off;
      if (has_word(host.read(directory + "available_clocksource").value_or(""), "tsc"))
        finding.writes.push_back({directory + "current_clocksource", "tsc"});
    }
  }
  findings.push_back(std::move(finding));
}

// "6.1.0-18-amd64" -> 601.
int kernel_version(const std::string& release) {
  int major = 0, minor = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return 0;
  return major * 100 + minor;
}

void check_io_uring_memlock(const TuneHost& host, std::vector<TuneFinding>& findings) {
  TuneFinding finding{"io_uring.memlock", "-", "Linux >= 5.12, or LimitMEMLOCK=infinity", memlock_reason,
                      TuneState::ok, {}};
  auto release = host.read("/proc/sys/kernel/osrelease");
  if (!release) {
    finding.state = TuneState::unavailable;
  } else {
    finding.current = "Linux " + *release;
    if (kernel_version(*release) < 512) finding.state = TuneState::advice;
  }
  findings.push_back(std::move(finding));
}

std::vector<int> cpu_list(const std::optional<std::string>& text) {
  if (!text) return {};
  auto parsed = io::parse_cpu_list(collapse_spaces(*text));
  return parsed.is_ok() ? parsed.value() : std::vector<int>{};
}

std::vector<int> irq_targets(const TuneHost& host, const std::vector<int>& pinned) {
  std::vector<int> others;
  for (int cpu : cpu_list(host.read("/sys/devices/system/cpu/online"))) {
    if (std::find(pinned.begin(), pinned.end(), cpu) == pinned.end()) others.push_back(cpu);
  }
  return others;
}

void check_irq_affinity(const TuneHost& host, const std::vector<int>& pinned, std::vector<TuneFinding>& findings) {
  const std::string pinned_text = format_cpu_set(pinned);
  if (pinned.empty()) {
    findings.push_back({"irq.affinity", "-", "away from the pinned cores", irq_reason, TuneState::advice, {}});
    findings.back().current = "no pinned cores given (--cpus or --config)";
    return;
  }
  const std::vector<int> others = irq_targets(host, pinned);
  const std::string others_text = format_cpu_set(others);
  std::size_t clear = 0, moved = 0;
  for (const auto& irq : host.list("/proc/irq")) {
    if (irq.empty() || irq.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string path = "/proc/irq/" + irq + "/smp_affinity_list";
    auto affinity = host.read(path);
    if (!affinity) continue;
    std::vector<int> cpus = cpu_list(affinity);
    bool touches = std::any_of(cpus.begin(), cpus.end(),
                               [&](int cpu) { return std::find(pinned.begin(), pinned.end(), cpu) != pinned.end(); });
    if (!touches) {
      ++clear;
      continue;
    }
    TuneFinding finding{"irq." + irq + ".affinity", *affinity, others.empty() ? "-" : others_text, irq_reason,
                        others.empty() ? TuneState::advice : TuneState::off, {}};
    if (!others.empty()) finding.writes.push_back({path, others_text});
    findings.push_back(std::move(finding));
    ++moved;
  }
  // One line for the IRQs that are already where they belong (each one off has its own line).
  if (moved == 0)
    findings.push_back({"irq.affinity", std::to_string(clear) + " IRQs avoid cpus " + pinned_text,
                        "every IRQ off cpus " + pinned_text, irq_reason, TuneState::ok, {}});
}

// The CPU list of a kernel parameter such as "isolcpus=domain,managed_irq,2-3" (flags skipped).
std::vector<int> cmdline_cpus(const std::string& cmdline, const std::string& parameter) {
  std::istringstream in(cmdline);
  std::string word;
  std::vector<int> cpus;
  while (in >> word) {
    if (word.rfind(parameter + "=", 0) != 0) continue;
    std::string value = word.substr(parameter.size() + 1);
    std::string list;
    std::istringstream parts(value);
    std::string part;
    while (std::getline(parts, part, ',')) {
      if (!part.empty() && std::isdigit(static_cast<unsigned char>(part[0]))) list += (list.empty() ? "" : ",") + part;
    }
    cpus = cpu_list(list);
  }
  return cpus;
}

void check_cpu_isolation(const TuneHost& host, const std::vector<int>& pinned, std::vector<TuneFinding>& findings) {
  if (pinned.empty()) return;
  const std::string cmdline = host.read("/proc/cmdline").value_or("");
  const std::string pinned_text = format_cpu_set(pinned);
  for (const char* parameter : {"isolcpus", "nohz_full"}) {
    std::vector<int> isolated = cmdline_cpus(cmdline, parameter);
    bool covered = std::all_of(pinned.begin(), pinned.end(), [&](int cpu) {
      return std::find(isolated.begin(), isolated.end(), cpu) != isolated.end();
    });
    std::string wanted = std::string(parameter) + "=" +
                         (std::string(parameter) == "isolcpus" ? "domain,managed_irq," : "") + pinned_text;
    findings.push_back({std::string("cmdline.") + parameter, isolated.empty() ? "-" : format_cpu_set(isolated), wanted,
                        isolation_reason, covered ? TuneState::ok : TuneState::advice, {}});
  }
}

// Wraps `text` into "# " comment lines of at most 100 characters.
std::string comment(const std::string& text) {
  std::istringstream in(text);
  std::string word, line, out;
  while (in >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > 98) {
      out += "# " + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += "# " + line + "\n";
  return out;
}

}  // namespace

std::vector<TuneFinding> tune_check(const TuneHost& host, const TuneOptions& options) {
  std::vector<TuneFinding> findings;
  check_sysctls(host, findings);
  check_transparent_huge_pages(host, findings);
  check_block_devices(host, findings);
  check_clock_source(host, findings);
  check_io_uring_memlock(host, findings);
  check_irq_affinity(host, options.pinned_cpus, findings);
  check_cpu_isolation(host, options.pinned_cpus, findings);
  return findings;
}

std::vector<std::pair<std::string, std::string>> tune_persist_files(const std::vector<TuneFinding>& findings) {
  std::string sysctl =
      "# Sysctl profile for a host that runs Sluice, written by `sluice tune apply --persist`.\n"
      "# Load with `sysctl --system`. The reason for each setting is above it; `sluice tune check`\n"
      "# compares a host with it (\">=\" and \"<=\" settings also accept larger or smaller values,\n"
      "# and a host's value that already satisfies the profile is written as it is).\n";
  for (const auto& setting : sysctl_settings) {
    std::string value = setting.wanted;
    for (const auto& finding : findings) {
      if (finding.name == setting.key && finding.state == TuneState::ok) value = finding.current;
    }
    sysctl += "\n" + comment(setting.reason) + setting.key + " = " + value + "\n";
  }
  std::string udev =
      "# Block device queues for Sluice, written by `sluice tune apply --persist`.\n" + comment(scheduler_reason) +
      "ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{DEVTYPE}==\"disk\", KERNEL!=\"loop*|ram*|zram*|sr*|nbd*\", "
      "ATTR{queue/rotational}==\"0\", ATTR{queue/scheduler}=\"none\"\n"
      "ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{DEVTYPE}==\"disk\", KERNEL!=\"loop*|ram*|zram*|sr*|nbd*\", "
      "ATTR{queue/rotational}==\"1\", ATTR{queue/scheduler}=\"mq-deadline\"\n" +
      comment(read_ahead_reason) +
      "# The pattern matches values below 128, so larger read-ahead settings are kept.\n"
      "ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{DEVTYPE}==\"disk\", KERNEL!=\"loop*|ram*|zram*|sr*|nbd*\", "
      "ATTR{queue/read_ahead_kb}==\"[0-9]|[0-9][0-9]|1[01][0-9]|12[0-7]\", ATTR{queue/read_ahead_kb}=\"128\"\n";
  std::string tmpfiles = "# Transparent huge pages for Sluice, written by `sluice tune apply --persist`.\n" +
                         comment(thp_reason) +
                         "w /sys/kernel/mm/transparent_hugepage/enabled - - - - madvise\n"
                         "w /sys/kernel/mm/transparent_hugepage/defrag - - - - madvise\n";
  return {{"/etc/sysctl.d/99-sluice.conf", sysctl},
          {"/etc/udev/rules.d/60-sluice.rules", udev},
          {"/etc/tmpfiles.d/sluice-thp.conf", tmpfiles}};
}

}  // namespace sluice::tools
