// Checks the io_uring event loop: tasks posted from other threads run on the loop thread (with
// and without DEFER_TASKRUN), timers fire in deadline order and can be cancelled, completions
// reach their Completion even while posted tasks keep the loop busy, and a multishot recv hands
// out provided buffers that come back with recycle(), ending with -ENOBUFS when they run out.
#include "io/event_loop.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace sluice::io {
namespace {

class LoopThread {
 public:
  explicit LoopThread(LoopConfig config = {}) {
    thread_ = std::thread([this, config] {
      ready_status_ = loop_.init(config);
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
  // Runs f on the loop thread and waits for it.
  template <class F>
  void on_loop(F f) {
    std::atomic<bool> done{false};
    loop_.post([&] {
      f();
      done.store(true);
    });
    while (!done.load()) std::this_thread::yield();
  }

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

class EventLoopTaskrun : public ::testing::TestWithParam<bool> {
 protected:
  LoopConfig config() const {
    LoopConfig config;
    config.defer_taskrun = GetParam();
    return config;
  }
};

INSTANTIATE_TEST_SUITE_P(Taskrun, EventLoopTaskrun, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Defer") : std::string("Coop");
                         });

TEST_P(EventLoopTaskrun, PostedTasksRunOnLoopThreadInOrder) {
  LoopThread thread(config());
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

TEST_P(EventLoopTaskrun, CompletionsReachTheirTarget) {
  LoopThread thread(config());
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

TEST_P(EventLoopTaskrun, CompletionsArriveWhilePostsKeepTheLoopBusy) {
  // A task that re-posts itself keeps every turn's wait at zero; a read armed meanwhile must
  // still complete (under DEFER_TASKRUN the kernel posts it only when the loop asks for events).
  // Declared before the loop thread, so they outlive its last turn (a task re-posted before
  // spin went false still runs when the thread stops).
  std::atomic<bool> spin{true};
  std::atomic<int> turns{0};
  std::function<void()> again;
  char buffer[16] = {};
  ReadCompletion completion;
  LoopThread thread(config());
  ASSERT_TRUE(thread.ok());
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  again = [&] {
    turns.fetch_add(1);
    if (spin.load()) thread.loop().post(again);
  };
  thread.loop().post([&] {
    thread.loop().submit_read(&completion, fds[0], buffer, sizeof buffer, 0);
    again();
  });
  // Write only once the read was submitted (a turn later) and waits in the kernel, so its
  // completion comes from task work rather than inline at submission.
  ASSERT_TRUE(wait_for([&] { return turns.load() >= 3; }));
  ASSERT_EQ(write(fds[1], "busy", 4), 4);
  bool done = wait_for([&] { return completion.done.load(); });
  spin.store(false);
  ASSERT_TRUE(done);
  EXPECT_EQ(completion.result.load(), 4);
  close(fds[0]);
  close(fds[1]);
}

TEST(EventLoop, DeferTaskrunIsUsedWhenAsked) {
  // The kernel here (6.1+) accepts DEFER_TASKRUN; an older one falls back to COOP_TASKRUN.
  LoopConfig defer;
  defer.defer_taskrun = true;
  LoopThread deferred(defer);
  ASSERT_TRUE(deferred.ok());
  LoopConfig coop;
  coop.defer_taskrun = false;
  LoopThread cooperative(coop);
  ASSERT_TRUE(cooperative.ok());
  EXPECT_FALSE(cooperative.loop().defer_taskrun());
  if (!deferred.loop().defer_taskrun()) GTEST_SKIP() << "kernel refused IORING_SETUP_DEFER_TASKRUN";
}

// Collects the chunks of a multishot recv, copying each out and recycling its buffer unless
// told to keep the buffers (to drain the ring).
class MultishotCompletion : public Completion {
 public:
  explicit MultishotCompletion(EventLoop& loop) : loop_(loop) {}
  void complete(int result, std::uint32_t flags) override {
    if (completion_has_buffer(flags)) {
      std::uint16_t bid = completion_buffer_id(flags);
      loop_.recv_buffers()->note_taken();
      bids.push_back(bid);
      if (result > 0) data.append(reinterpret_cast<const char*>(loop_.recv_buffers()->buffer(bid)), static_cast<std::size_t>(result));
      if (recycle) loop_.recv_buffers()->recycle(bid);
    }
    if (!completion_has_more(flags)) {
      final_result = result;
      ended.store(true);
    }
  }
  bool recycle = true;
  std::string data;
  std::vector<std::uint16_t> bids;
  int final_result = 1;
  std::atomic<bool> ended{false};

 private:
  EventLoop& loop_;
};

TEST(EventLoop, LoopWithoutBufferCountHasNoBufferRing) {
  LoopThread thread;
  ASSERT_TRUE(thread.ok());
  EXPECT_EQ(thread.loop().recv_buffers(), nullptr);
}

TEST(EventLoop, MultishotRecvUsesProvidedBuffersUntilEof) {
  // Chunks larger than a buffer are split across buffers; recycled buffers are used again, so
  // 4 buffers carry 64 KiB; EOF ends the recv with 0 and no buffer.
  LoopConfig config;
  config.recv_buffer_count = 4;
  config.recv_buffer_bytes = 1024;
  LoopThread thread(config);
  ASSERT_TRUE(thread.ok());
  if (thread.loop().recv_buffers() == nullptr) GTEST_SKIP() << "kernel refused a provided-buffer ring";
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  MultishotCompletion completion(thread.loop());
  thread.on_loop([&] { thread.loop().submit_multishot_recv(&completion, fds[1]); });
  std::string sent;
  for (int i = 0; i < 64; ++i) {
    std::string piece(1024, static_cast<char>('a' + i % 26));
    ASSERT_EQ(write(fds[0], piece.data(), piece.size()), 1024);
    sent += piece;
    ASSERT_TRUE(wait_for([&] {
      std::size_t got = 0;
      thread.on_loop([&] { got = completion.data.size(); });
      return got == sent.size();
    }));
  }
  shutdown(fds[0], SHUT_WR);
  ASSERT_TRUE(wait_for([&] { return completion.ended.load(); }));
  thread.on_loop([&] {
    EXPECT_EQ(completion.final_result, 0);
    EXPECT_EQ(completion.data, sent);
    EXPECT_GE(completion.bids.size(), 64u);
    for (auto bid : completion.bids) EXPECT_LT(bid, 4u);
    EXPECT_EQ(thread.loop().recv_buffers()->outstanding(), 0u);
    EXPECT_EQ(thread.loop().inflight(), 1u);  // the eventfd wakeup read only
  });
  close(fds[0]);
  close(fds[1]);
}

TEST(EventLoop, MultishotRecvEndsWithNoBuffersWhenRingIsEmpty) {
  // Nothing is recycled: after 2 chunks the ring is empty and the recv ends with -ENOBUFS.
  // Recycled buffers then serve a new recv.
  LoopConfig config;
  config.recv_buffer_count = 2;
  config.recv_buffer_bytes = 512;
  LoopThread thread(config);
  ASSERT_TRUE(thread.ok());
  if (thread.loop().recv_buffers() == nullptr) GTEST_SKIP() << "kernel refused a provided-buffer ring";
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  MultishotCompletion completion(thread.loop());
  completion.recycle = false;
  thread.on_loop([&] { thread.loop().submit_multishot_recv(&completion, fds[1]); });
  for (int i = 0; i < 3 && !completion.ended.load(); ++i) {
    ASSERT_EQ(write(fds[0], "0123456789", 10), 10);
    wait_for([&] {
      std::size_t got = 0;
      thread.on_loop([&] { got = completion.data.size(); });
      return got == static_cast<std::size_t>(10 * (i + 1)) || completion.ended.load();
    });
  }
  ASSERT_TRUE(wait_for([&] { return completion.ended.load(); }));
  MultishotCompletion second(thread.loop());
  thread.on_loop([&] {
    EXPECT_EQ(completion.final_result, -ENOBUFS);
    EXPECT_EQ(completion.bids.size(), 2u);
    EXPECT_EQ(thread.loop().recv_buffers()->outstanding(), 2u);
    for (auto bid : completion.bids) thread.loop().recv_buffers()->recycle(bid);
    thread.loop().submit_multishot_recv(&second, fds[1]);
  });
  ASSERT_TRUE(wait_for([&] {
    std::size_t got = 0;
    thread.on_loop([&] { got = second.data.size(); });
    return got == 10;  // the third write, which found no buffer the first time
  }));
  close(fds[0]);
  ASSERT_TRUE(wait_for([&] { return second.ended.load(); }));
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
