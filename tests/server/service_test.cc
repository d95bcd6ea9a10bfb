// Tests of the service manager side (src/server/service.h): the loop watchdog pings only while
// every event loop answers its probes, and a stop past its deadline ends the process uncleanly.
// Method: real io::EventLoops on their own threads, and NOTIFY_SOCKET pointing at a datagram
// socket the test reads, as systemd's would be.
#include "server/service.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>

#include "io/event_loop.h"

namespace sluice::server {
namespace {

using namespace std::chrono_literals;

// A bound notify socket; sets NOTIFY_SOCKET for ServiceNotifiers made after it.
class NotifySocket {
 public:
  NotifySocket() {
    path_ = "/tmp/sluice-notify-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  // Datagrams waiting now that contain `text`.
  int drain_count(const std::string& text) {
    int count = 0;
    char buffer[4096];
    for (;;) {
      ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got < 0) return count;
      if (std::string(buffer, static_cast<std::size_t>(got)).find(text) != std::string::npos) ++count;
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

class LoopThread {
 public:
  LoopThread() {
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, &ready] {
      EXPECT_TRUE(loop.init(io::LoopConfig{}).is_ok());
      ready.set_value();
      loop.run();
    });
    started.wait();
  }
  ~LoopThread() {
    loop.stop();
    thread_.join();
  }
  io::EventLoop loop;

 private:
  std::thread thread_;
};

template <class Predicate>
bool eventually(Predicate predicate) {
  for (int i = 0; i < 1000; ++i) {  // at most 10 s
    if (predicate()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return predicate();
}

TEST(LoopWatchdog, PingsOnlyWhileEveryLoopTurns) {
  NotifySocket socket;
  ServiceNotifier notifier;
  ASSERT_TRUE(notifier.enabled());
  LoopThread first, second;
  LoopWatchdog watchdog(notifier, {{"first", &first.loop}, {"second", &second.loop}}, 10ms);
  watchdog.start();
  ASSERT_TRUE(eventually([&] { return watchdog.pings() >= 3; }));

  // Stall the second loop: after the probe answered before the stall, no more pings.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> stalled{false};
  second.loop.post([&stalled, released] {
    stalled.store(true);
    released.wait();
  });
  ASSERT_TRUE(eventually([&] { return stalled.load(); }));
  const std::uint64_t at_stall = watchdog.pings();
  std::this_thread::sleep_for(200ms);  // twenty periods
  EXPECT_LE(watchdog.pings(), at_stall + 1);

  // The loop turns again: pings resume.
  release.set_value();
  const std::uint64_t after_stall = watchdog.pings();
  EXPECT_TRUE(eventually([&] { return watchdog.pings() >= after_stall + 3; }));
  watchdog.stop();
  EXPECT_EQ(static_cast<std::uint64_t>(socket.drain_count("WATCHDOG=1")), watchdog.pings());
}

TEST(BoundedStop, ReturnsWhenTheStopFinishes) {
  ServiceNotifier notifier;  // no NOTIFY_SOCKET: notifications are no-ops
  EXPECT_FALSE(notifier.enabled());
  bool stopped = false;
  auto took = run_bounded_stop(notifier, 60s, [&] { stopped = true; });
  EXPECT_TRUE(stopped);
  EXPECT_LT(took, 60s);
}

TEST(BoundedStopDeathTest, ExitsUncleanlyPastTheDeadline) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ServiceNotifier notifier;
        run_bounded_stop(notifier, 50ms, [] { std::this_thread::sleep_for(10s); });
      },
      testing::ExitedWithCode(1), "stop_deadline_passed");
}

}  // namespace
}  // namespace sluice::server
