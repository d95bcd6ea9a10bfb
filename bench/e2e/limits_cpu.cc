// wake-lateness (see perf_limits.h): how late a sleeping thread runs again on each CPU.
//
// One probe thread per CPU, pinned, at normal priority, with a 1 ns timer slack, sleeps until
// due times on a common grid (start + i * period) and records, for every due time, how long after
// it the thread ran. A stall of S ms (the vCPU taken by the hypervisor, an interrupt storm, a
// kernel thread) makes the due times inside it late by S, S - period, ... 0, so the samples are
// the delay a uniform stream of work arriving on that CPU would see from the machine alone,
// before any broker code runs: a floor for the end-to-end latency percentiles. The "either" set
// takes, for each due time, the latest of the CPUs: the floor for work that needs all of them.
// The "all" set takes the earliest: a due time late on every CPU at once marks a stall of the
// whole machine (a hypervisor throttling the VM), not one CPU busy with something else; the
// start of each such stall of 5 ms or more is listed (ms from the start, at most 200).
#include <pthread.h>
#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "base/assert.h"
#include "latency_histogram.h"
#include "perf_io.h"
#include "perf_json.h"
#include "perf_limits.h"

namespace sluice::perf {

namespace {

// One probe's samples: lateness_ns[i] is how long after due time i the thread ran.
struct Probe {
  int cpu = -1;
  std::vector<std::int64_t> lateness_ns;
};

// Sleeps to each due time of the grid and records its lateness. When a wake-up is already past
// later due times (a stall longer than the period), those are recorded at once, each with its own
// lateness, without sleeping: every due time gets exactly one sample.
// Requires: probe->lateness_ns holds the grid's sample count (preallocated and touched).
void run_probe(Probe* probe, std::int64_t start_ns, std::int64_t period_ns) {
  pin_thread(probe->cpu);
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // the default 50 us slack would be counted as lateness
  const std::size_t count = probe->lateness_ns.size();
  std::size_t i = 0;
  while (i < count) {
    std::int64_t due = start_ns + static_cast<std::int64_t>(i) * period_ns;
    timespec ts{static_cast<time_t>(due / 1'000'000'000), static_cast<long>(due % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    std::int64_t woke = now_ns();
    do {
      probe->lateness_ns[i] = woke - (start_ns + static_cast<std::int64_t>(i) * period_ns);
      ++i;
    } while (i < count && start_ns + static_cast<std::int64_t>(i) * period_ns <= woke);
  }
}

// Distinct stalls of at least `floor_ns`: the index of the first sample of each run of
// consecutive samples late by >= floor_ns (a long stall makes many due times late).
std::vector<std::size_t> stall_starts(const std::vector<std::int64_t>& lateness_ns, std::int64_t floor_ns) {
  std::vector<std::size_t> starts;
  bool inside = false;
  for (std::size_t i = 0; i < lateness_ns.size(); ++i) {
    bool late = lateness_ns[i] >= floor_ns;
    if (late && !inside) starts.push_back(i);
    inside = late;
  }
  return starts;
}

void write_probe(Json& json, const std::string& name, const std::vector<std::int64_t>& lateness_ns) {
  LatencyHistogram histogram;
  for (std::int64_t value : lateness_ns) histogram.record(value);
  json.key(name).begin_object();
  histogram.write_json(json, "lateness");
  json.field("stalls_over_1ms", stall_starts(lateness_ns, 1'000'000).size());
  json.field("stalls_over_5ms", stall_starts(lateness_ns, 5'000'000).size());
  json.field("stalls_over_10ms", stall_starts(lateness_ns, 10'000'000).size());
  json.end_object();
}

}  // namespace

int command_wake_lateness(Options& options) {
  std::vector<std::int64_t> cpus = options.get_int_list("cpus", "0,1");
  double duration_s = options.get_double("duration-s", 8);
  std::int64_t period_us = options.get_int("period-us", 100);
  options.check_all_used();
  if (cpus.empty()) fail("wake-lateness: --cpus names no CPU");
  if (period_us < 10) fail("wake-lateness: --period-us must be at least 10");
  if (duration_s <= 0) fail("wake-lateness: --duration-s must be positive");
  const std::int64_t period_ns = period_us * 1000;
  const auto count = static_cast<std::size_t>(duration_s * 1e9 / static_cast<double>(period_ns));
  if (count == 0) fail("wake-lateness: the run holds no period");

  std::vector<Probe> probes(cpus.size());
  for (std::size_t p = 0; p < cpus.size(); ++p) {
    probes[p].cpu = static_cast<int>(cpus[p]);
    probes[p].lateness_ns.assign(count, 0);  // touched here, not during the run
  }
  const std::int64_t start_ns = now_ns() + 50'000'000;  // every probe pinned and asleep by then
  std::vector<std::thread> threads;
  for (Probe& probe : probes) threads.emplace_back(run_probe, &probe, start_ns, period_ns);
  for (std::thread& thread : threads) thread.join();

  std::vector<std::int64_t> either(count, 0);
  std::vector<std::int64_t> all = probes[0].lateness_ns;
  for (const Probe& probe : probes) {
    for (std::size_t i = 0; i < count; ++i) {
      either[i] = std::max(either[i], probe.lateness_ns[i]);
      all[i] = std::min(all[i], probe.lateness_ns[i]);
    }
  }

  Json json;
  json.begin_object().field("command", "wake-lateness");
  json.field("period_us", period_us).field("duration_s", duration_s).field("samples_per_cpu", count);
  json.key("cpus").begin_object();
  for (const Probe& probe : probes) write_probe(json, std::to_string(probe.cpu), probe.lateness_ns);
  json.end_object();
  write_probe(json, "either", either);
  write_probe(json, "all", all);
  json.key("all_stall_starts_ms").begin_array();
  std::vector<std::size_t> starts = stall_starts(all, 5'000'000);
  if (starts.size() > 200) starts.resize(200);
  for (std::size_t start : starts) json.value(static_cast<double>(start) * static_cast<double>(period_ns) / 1e6);
  json.end_array();
  json.end_object();
  std::printf("%s\n", json.text().c_str());
  return 0;
}

}  // namespace sluice::perf
