// Goal: the Flusher's group commit serves many waiters with few rounds of syncs, moves the
// recovery point only over synced bytes, and reports a failed sync to every waiter (taking the
// log offline). Method: a real io_uring loop on its own thread owns a real Log; appends and
// flush requests run there as posted tasks, as on a broker's I/O thread.
#include "storage/flusher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "batch_builder.h"
#include "storage/file_io.h"
#include "test_dir.h"

namespace sluice::storage {
namespace {

class LoopThread {
 public:
  LoopThread() {
    thread_ = std::thread([this] {
      status_ = loop_.init(io::LoopConfig{});
      started_.store(true);
      if (status_.is_ok()) loop_.run();
    });
    while (!started_.load()) std::this_thread::yield();
  }
  ~LoopThread() {
    loop_.stop();
    thread_.join();
  }
  io::EventLoop& loop() { return loop_; }
  bool ok() const { return status_.is_ok(); }
  // Runs `task` on the loop thread and waits for it.
  template <class Task>
  void run(Task task) {
    std::atomic<bool> done{false};
    loop_.post([&] {
      task();
      done.store(true);
    });
    while (!done.load()) usleep(100);
  }

 private:
  io::EventLoop loop_;
  std::atomic<bool> started_{false};
  Status status_;
  std::thread thread_;
};

template <class Predicate>
bool wait_for(Predicate predicate) {
  for (int i = 0; i < 10000; ++i) {
    if (predicate()) return true;
    usleep(1000);
  }
  return false;
}

void append_batch(Log& log) {
  test::BatchSpec spec;
  spec.record_count = 2;
  spec.value_bytes = 200;
  auto batch = test::build_batch(spec);
  ASSERT_TRUE(log.append(batch, 0, 0).is_ok());
}

TEST(FlusherTest, OneRoundServesEveryWaiterThatArrivedBeforeIt) {
  LoopThread thread;
  ASSERT_TRUE(thread.ok());
  test::TempDir dir;
  LogConfig config;
  config.segment_bytes = 16 * 1024;  // rolls too: sealed segments and the directory get synced
  auto log = std::move(Log::open(dir.path(), config, 0, true)).value();
  Flusher flusher(thread.loop());
  constexpr int waiters = 200;
  std::atomic<int> ok{0}, failed{0};
  thread.run([&] {
    for (int i = 0; i < waiters; ++i) {
      append_batch(*log);
      flusher.flush_to(*log, log->log_end_offset(), [&](const Status& status) {
        (status.is_ok() ? ok : failed).fetch_add(1);
      });
    }
  });
  ASSERT_TRUE(wait_for([&] { return ok.load() + failed.load() == waiters; }));
  EXPECT_EQ(failed.load(), 0);
  std::size_t rounds = 0;
  thread.run([&] {
    rounds = flusher.rounds_completed();
    EXPECT_EQ(log->recovery_point(), log->log_end_offset());
    EXPECT_GT(log->segments()->segments.size(), 1u);
  });
  // All waiters arrived while the first round was in flight: two rounds serve them.
  EXPECT_LE(rounds, 2u);
  EXPECT_GE(rounds, 1u);
  // A request for what is already durable is answered at once.
  bool immediate = false;
  thread.run([&] { flusher.flush_to(*log, log->log_end_offset(), [&](const Status& s) { immediate = s.is_ok(); }); });
  EXPECT_TRUE(immediate);
}

TEST(FlusherTest, FailedSyncFailsEveryWaiterAndTakesTheLogOffline) {
  LoopThread thread;
  ASSERT_TRUE(thread.ok());
  test::TempDir dir;
  auto log = std::move(Log::open(dir.path(), LogConfig{}, 0, true)).value();
  Flusher flusher(thread.loop());
  auto faults = std::move(FaultInjectingFileIo::parse("fdatasync:EIO")).value();
  set_file_io(faults.get());
  std::atomic<int> ok{0}, failed{0};
  thread.run([&] {
    for (int i = 0; i < 10; ++i) {
      append_batch(*log);
      flusher.flush_to(*log, log->log_end_offset(), [&](const Status& status) {
        (status.is_ok() ? ok : failed).fetch_add(1);
      });
    }
  });
  ASSERT_TRUE(wait_for([&] { return ok.load() + failed.load() == 10; }));
  set_file_io(nullptr);
  EXPECT_EQ(ok.load(), 0);
  EXPECT_EQ(failed.load(), 10);
  EXPECT_TRUE(log->offline());
  EXPECT_EQ(log->recovery_point(), 0);
}

TEST(FlusherTest, ForgottenLogsWaitersFailAndItsRoundIsIgnored) {
  LoopThread thread;
  ASSERT_TRUE(thread.ok());
  test::TempDir dir;
  auto log = std::move(Log::open(dir.path(), LogConfig{}, 0, true)).value();
  Flusher flusher(thread.loop());
  std::atomic<int> failed{0};
  std::size_t rounds_before = 0;
  thread.run([&] {
    append_batch(*log);
    flusher.flush_to(*log, log->log_end_offset(), [&](const Status& s) { failed.fetch_add(s.is_ok() ? 0 : 1); });
    flusher.forget(*log);
    rounds_before = flusher.rounds_completed();
  });
  EXPECT_EQ(failed.load(), 1);
  // The round still completes (its files stay open through the plan) and touches nothing.
  std::size_t rounds = 0;
  ASSERT_TRUE(wait_for([&] {
    thread.run([&] { rounds = flusher.rounds_completed(); });
    return rounds > rounds_before;
  }));
  log.reset();
}

TEST(FlusherTest, WriteBehindStartsOncePerWindow) {
  LoopThread thread;
  ASSERT_TRUE(thread.ok());
  test::TempDir dir;
  auto log = std::move(Log::open(dir.path(), LogConfig{}, 0, true)).value();
  int ranges = 0;
  thread.run([&] {
    for (int i = 0; i < 100; ++i) {
      append_batch(*log);
      if (log->take_writeback(4096)) ++ranges;
    }
  });
  // 100 batches of ~500 bytes: about 50 KB, one range per 4 KiB window.
  EXPECT_GE(ranges, 8);
  EXPECT_LE(ranges, 13);
}

}  // namespace
}  // namespace sluice::storage
