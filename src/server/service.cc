#include "server/service.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>

#include "base/assert.h"
#include "base/log.h"
#include "base/thread_name.h"
#include "io/event_loop.h"

namespace sluice::server {

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  std::uint64_t usec = 0;
  // sd_watchdog_enabled also checks WATCHDOG_PID, so a child that inherited the variables does
  // not ping for its parent.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_interval_ = std::chrono::microseconds(usec);
}

void ServiceNotifier::send(const std::string& state) const {
  if (!enabled_) return;
  int sent = sd_notify(0, state.c_str());
  if (sent < 0) LOG_WARN("sd_notify_failed", "errno=%d", -sent);
}

void ServiceNotifier::ready(const std::string& status) const { send("READY=1\nSTATUS=" + status); }
void ServiceNotifier::status(const std::string& status) const { send("STATUS=" + status); }
void ServiceNotifier::stopping(const std::string& status) const { send("STOPPING=1\nSTATUS=" + status); }
void ServiceNotifier::watchdog_ping() const { send("WATCHDOG=1"); }

LoopWatchdog::LoopWatchdog(const ServiceNotifier& notifier, std::vector<Loop> loops, std::chrono::milliseconds period)
    : notifier_(notifier), period_(period) {
  SLUICE_ASSERT(period.count() > 0);
  for (auto& loop : loops) {
    SLUICE_ASSERT(loop.loop != nullptr);
    probes_.push_back(Probe{std::move(loop.name), loop.loop, std::make_shared<std::atomic<std::uint64_t>>(0), 0, false});
  }
}

LoopWatchdog::~LoopWatchdog() { stop(); }

void LoopWatchdog::start() {
  SLUICE_ASSERT(!thread_.joinable());
  thread_ = std::thread([this] { run(); });
}

void LoopWatchdog::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LoopWatchdog::run() {
  name_current_thread("watchdog");
  std::uint64_t round_number = 1;
  round(round_number);  // posts the first probes
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
    ++round_number;
    if (round(round_number)) {
      notifier_.watchdog_ping();
      pings_.fetch_add(1);
    }
  }
}

bool LoopWatchdog::round(std::uint64_t round_number) {
  bool all_answered = true;
  for (auto& probe : probes_) {
    const std::uint64_t answered = probe.answered->load();
    SLUICE_ASSERT(answered <= probe.posted);
    if (answered != probe.posted) {
      all_answered = false;
      if (!probe.stall_logged) {
        LOG_WARN("watchdog_loop_stalled", "loop=%s round=%llu (no watchdog ping until it turns again)",
                 probe.name.c_str(), static_cast<unsigned long long>(probe.posted));
        probe.stall_logged = true;
      }
      continue;  // one unanswered probe per loop at most
    }
    if (probe.stall_logged) {
      LOG_INFO("watchdog_loop_resumed", "loop=%s", probe.name.c_str());
      probe.stall_logged = false;
    }
    probe.posted = round_number;
    probe.loop->post([answered = probe.answered, round_number] { answered->store(round_number); });
  }
  return all_answered;
}

std::chrono::milliseconds run_bounded_stop(const ServiceNotifier& notifier, std::chrono::milliseconds deadline,
                                           const std::function<void()>& stop) {
  SLUICE_ASSERT(deadline.count() > 0);
  const auto started = std::chrono::steady_clock::now();
  // Feed the watchdog at half its interval (systemd's advice), or check the deadline every
  // 100 ms when there is no watchdog.
  std::chrono::milliseconds tick{100};
  if (notifier.watchdog_interval().count() > 0)
    tick = std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(notifier.watchdog_interval() / 2));
  std::mutex mutex;
  std::condition_variable done_signal;
  bool done = false;
  std::thread guard([&] {
    std::unique_lock<std::mutex> lock(mutex);
    const auto until = started + deadline;
    while (!done) {
      if (std::chrono::steady_clock::now() >= until) {
        LOG_ERROR("stop_deadline_passed", "deadline_ms=%lld (exiting without the clean-shutdown marker)",
                  static_cast<long long>(deadline.count()));
        notifier.status("Stop did not finish within its deadline; exiting uncleanly");
        ::_exit(1);
      }
      notifier.watchdog_ping();
      done_signal.wait_until(lock, std::min(until, std::chrono::steady_clock::now() + tick));
    }
  });
  stop();
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  done_signal.notify_all();
  guard.join();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
}

}  // namespace sluice::server
