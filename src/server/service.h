// The broker's side of the service manager protocol (systemd's sd_notify): READY=1 once requests
// are served, STATUS= lines, STOPPING=1 at SIGTERM, and WATCHDOG=1 pings that are sent only when
// every event loop has proved it is turning. Without systemd (no NOTIFY_SOCKET) every call is a
// no-op and the broker runs the same.
//
// Threads: ServiceNotifier may be used from any thread (sd_notify opens its own socket per call).
// LoopWatchdog::start/stop from the main thread; it runs one thread of its own.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::io {
class EventLoop;
}

namespace sluice::server {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID from the environment once.
  ServiceNotifier();

  bool enabled() const { return enabled_; }
  // The interval the service manager expects pings within; zero when the watchdog is off.
  std::chrono::microseconds watchdog_interval() const { return watchdog_interval_; }

  void ready(const std::string& status) const;
  void status(const std::string& status) const;
  void stopping(const std::string& status) const;
  void watchdog_ping() const;

 private:
  void send(const std::string& state) const;
  bool enabled_ = false;
  std::chrono::microseconds watchdog_interval_{0};
};

// Proves liveness of a set of event loops before each watchdog ping. Every period it checks that
// each loop ran the probe (a no-op task) posted to it in the previous period, pings the service
// manager only if all did, and posts the next probe. A loop that has not answered gets no new
// probe, so a stalled loop's queue grows by at most one task; the stall is logged once per loop
// with the loop's name, and systemd's watchdog then restarts the service.
// Invariant: at most one unanswered probe per loop.
// Requires: the loops outlive stop(); stop() is called before they stop running.
class LoopWatchdog {
 public:
  struct Loop {
    std::string name;
    io::EventLoop* loop = nullptr;
  };

  LoopWatchdog(const ServiceNotifier& notifier, std::vector<Loop> loops, std::chrono::milliseconds period);
  ~LoopWatchdog();
  LoopWatchdog(const LoopWatchdog&) = delete;
  LoopWatchdog& operator=(const LoopWatchdog&) = delete;

  void start();
  void stop();
  // Pings sent so far (tests and the STATUS line).
  std::uint64_t pings() const { return pings_.load(); }

 private:
  struct Probe {
    std::string name;
    io::EventLoop* loop = nullptr;
    std::shared_ptr<std::atomic<std::uint64_t>> answered;  // last round the loop ran
    std::uint64_t posted = 0;                               // last round posted to it
    bool stall_logged = false;
  };
  void run();
  // One period: true when every loop answered its last probe. Posts the next probes.
  bool round(std::uint64_t round_number);

  const ServiceNotifier& notifier_;
  std::vector<Probe> probes_;
  std::chrono::milliseconds period_;
  std::atomic<std::uint64_t> pings_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// Bounds a clean stop: while `stop` runs on the calling thread, a guard thread keeps the service
// manager's watchdog fed (the stop is live as long as it is within its deadline) and, once the
// deadline passes, logs stop_deadline_passed and ends the process with exit status 1 without the
// clean-shutdown marker (the next start recovers, as after a crash). Returns the stop's duration.
std::chrono::milliseconds run_bounded_stop(const ServiceNotifier& notifier, std::chrono::milliseconds deadline,
                                           const std::function<void()>& stop);

}  // namespace sluice::server
