// Checks the io_uring event loop: tasks posted from other threads run on the loop thread, timers
// fire in deadline order and can be cancelled, and completions reach their Completion.
#include "io/event_loop.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace sluice::io {
namespace {

class LoopThread {
 public:
  LoopThread() {
    thread_ = std::thread([this] {
      ready_status_ = loop_.init(LoopConfig{});
      started_.store(true);
      if (ready_status_.is_ok()) loop_.run();
    });
    while (!started_.load()) std::this_thread::yield();
  }
  ~LoopThread() {
    loop_.stop();
    thread_.join();
  }
  EventLoop& loop() { return loop_; }
  bool ok() const { return ready_status_.is_ok(); }

 private:
  EventLoop loop_;
  std::atomic<bool> started_{false};
  Status ready_status_;
  std::thread thread_;
};

template <class Predicate>
bool wait_for(Predicate predicate) {
  for (int i = 0; i < 5000; ++i) {
    if (predicate()) return true;
    usleep(1000);
  }
  return false;
}

TEST(EventLoop, PostedTasksRunOnLoopThreadInOrder) {
  LoopThread thread;
  ASSERT_TRUE(thread.ok());
  std::vector<int> seen;
  std::atomic<int> count{0};
  std::atomic<bool> on_loop{true};
  for (int i = 0; i < 1000; ++i) {
    thread.loop().post([&, i] {
      if (!thread.loop().on_loop_thread()) on_loop.store(false);
      seen.push_back(i);
      count.fetch_add(1);
    });
  }
  ASSERT_TRUE(wait_for([&] { return count.load() == 1000; }));
  EXPECT_TRUE(on_loop.load());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
}

TEST(EventLoop, TimersFireInDeadlineOrderAndCancel) {
  LoopThread thread;
  ASSERT_TRUE(thread.ok());
  std::vector<int> fired;
  std::atomic<bool> done{false};
  thread.loop().post([&] {
    auto& loop = thread.loop();
    loop.add_timer(30, [&] { fired.push_back(3); done.store(true); });
    loop.add_timer(10, [&] { fired.push_back(1); });
    auto cancelled = loop.add_timer(20, [&] { fired.push_back(2); });
    loop.add_timer(0, [&] { fired.push_back(0); });
    loop.cancel_timer(cancelled);
  });
  ASSERT_TRUE(wait_for([&] { return done.load(); }));
  EXPECT_EQ(fired, (std::vector<int>{0, 1, 3}));
}

class ReadCompletion : public Completion {
 public:
  void complete(int result, std::uint32_t) override {
    this->result.store(result);
    done.store(true);
  }
  std::atomic<int> result{0};
  std::atomic<bool> done{false};
};

TEST(EventLoop, CompletionsReachTheirTarget) {
  LoopThread thread;
  ASSERT_TRUE(thread.ok());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  char buffer[16] = {};
  ReadCompletion completion;
  thread.loop().post([&] {
    thread.loop().submit_read(&completion, fds[0], buffer, sizeof buffer, 0);
  });
  usleep(10000);
  EXPECT_FALSE(completion.done.load());
  ASSERT_EQ(write(fds[1], "hello", 5), 5);
  ASSERT_TRUE(wait_for([&] { return completion.done.load(); }));
  EXPECT_EQ(completion.result.load(), 5);
  EXPECT_EQ(std::string(buffer, 5), "hello");
  close(fds[0]);
  close(fds[1]);
}

TEST(CpuList, Parses) {
  auto cpus = parse_cpu_list("0-2,5");
  ASSERT_TRUE(cpus.is_ok());
  EXPECT_EQ(cpus.value(), (std::vector<int>{0, 1, 2, 5}));
  EXPECT_FALSE(parse_cpu_list("3-1").is_ok());
  EXPECT_FALSE(parse_cpu_list("x").is_ok());
}

}  // namespace
}  // namespace sluice::io
