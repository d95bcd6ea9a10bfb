// Goal: a storage error never corrupts a log. Method: the fault-injecting FileIo fails chosen
// operations (short writes, ENOSPC, EIO on write and on sync) under a real Log; afterwards the log
// either keeps serving (out of space) or goes offline (unknown state), and a reopen finds every
// batch that was appended successfully and nothing else.
#include <gtest/gtest.h>

#include "batch_builder.h"
#include "protocol/record_batch.h"
#include "storage/file_io.h"
#include "storage/log.h"
#include "storage/segment.h"
#include "test_dir.h"

namespace sluice::storage {
namespace {

class FaultScope {
 public:
  explicit FaultScope(const std::string& rules) {
    auto parsed = FaultInjectingFileIo::parse(rules);
    EXPECT_TRUE(parsed.is_ok()) << rules;
    io_ = std::move(parsed).value();
    set_file_io(io_.get());
  }
  ~FaultScope() { set_file_io(nullptr); }
  FaultInjectingFileIo& io() { return *io_; }

 private:
  std::unique_ptr<FaultInjectingFileIo> io_;
};

std::unique_ptr<Log> open_log(const std::filesystem::path& dir, bool clean = true) {
  auto log = Log::open(dir, LogConfig{}, 0, clean);
  EXPECT_TRUE(log.is_ok()) << (log.is_ok() ? "" : log.status().to_string());
  return log.is_ok() ? std::move(log).value() : nullptr;
}

Result<AppendInfo> append_one(Log& log, int records = 3) {
  test::BatchSpec spec;
  spec.record_count = records;
  spec.value_bytes = 100;
  auto batch = test::build_batch(spec);
  auto appended = log.append(batch, 0, 0);
  if (appended.is_ok()) log.set_high_watermark(log.log_end_offset());
  return appended;
}

std::uint64_t log_file_bytes(const Log& log) {
  return std::filesystem::file_size(log.segments()->segments.back()->file()->path());
}

TEST(FaultInjectingFileIoTest, ParsesRulesAndRefusesBadOnes) {
  EXPECT_TRUE(FaultInjectingFileIo::parse("pwrite:EIO").is_ok());
  EXPECT_TRUE(FaultInjectingFileIo::parse("pwrite:short:path=t-0:after=3:count=1;fdatasync:ENOSPC").is_ok());
  EXPECT_FALSE(FaultInjectingFileIo::parse("write:EIO").is_ok());
  EXPECT_FALSE(FaultInjectingFileIo::parse("fsync:short").is_ok());
  EXPECT_FALSE(FaultInjectingFileIo::parse("pwrite:EIO:after=x").is_ok());
  EXPECT_FALSE(FaultInjectingFileIo::parse("pwrite").is_ok());
}

TEST(LogFaultsTest, ShortWriteIsCutBackAndTheLogKeepsServing) {
  test::TempDir dir;
  std::int64_t end = 0;
  {
    auto log = open_log(dir.path());
    ASSERT_TRUE(append_one(*log).is_ok());
    const std::uint64_t before = log_file_bytes(*log);
    {
      FaultScope faults("pwrite:short:path=.log:count=1");
      auto failed = append_one(*log);
      ASSERT_FALSE(failed.is_ok());
      EXPECT_EQ(failed.status().errno_value(), ENOSPC);
      EXPECT_EQ(faults.io().injected_count(), 1u);
    }
    EXPECT_FALSE(log->offline());
    EXPECT_EQ(log_file_bytes(*log), before) << "the half-written batch must be cut off";
    EXPECT_EQ(log->log_end_offset(), 3);
    ASSERT_TRUE(append_one(*log).is_ok());
    end = log->log_end_offset();
    EXPECT_EQ(end, 6);
  }  // unclean: no close
  auto log = open_log(dir.path(), false);
  EXPECT_EQ(log->log_end_offset(), end);
}

TEST(LogFaultsTest, OutOfSpaceOnPreallocationRefusesTheBatchOnly) {
  test::TempDir dir;
  auto log = open_log(dir.path());
  {
    FaultScope faults("fallocate:ENOSPC:count=1");
    auto failed = append_one(*log);
    ASSERT_FALSE(failed.is_ok());
    EXPECT_EQ(failed.status().errno_value(), ENOSPC);
  }
  EXPECT_FALSE(log->offline());
  ASSERT_TRUE(append_one(*log).is_ok());
  EXPECT_EQ(log->log_end_offset(), 3);
}

TEST(LogFaultsTest, WriteErrorTakesTheLogOfflineAndReopenRecoversIt) {
  test::TempDir dir;
  {
    auto log = open_log(dir.path());
    ASSERT_TRUE(append_one(*log).is_ok());
    ASSERT_TRUE(append_one(*log).is_ok());
    {
      FaultScope faults("pwrite:EIO:path=.log");
      EXPECT_FALSE(append_one(*log).is_ok());
    }
    EXPECT_TRUE(log->offline());
    EXPECT_FALSE(append_one(*log).is_ok()) << "an offline log takes no appends";
    EXPECT_EQ(log->read(0, 1 << 20, true).error, ErrorCode::kafka_storage_error);
    EXPECT_FALSE(log->close(true).is_ok()) << "an offline log must not look cleanly closed";
  }
  auto log = open_log(dir.path(), false);
  EXPECT_FALSE(log->offline());
  EXPECT_EQ(log->log_end_offset(), 6);
  ReadResult read = log->read(0, 1 << 20, true);
  ASSERT_EQ(read.error, ErrorCode::none);
  ASSERT_TRUE(read.range.has_value());
  EXPECT_EQ(read.range->bytes, log_file_bytes(*log));
  ASSERT_TRUE(append_one(*log).is_ok());
}

TEST(LogFaultsTest, FailedSyncLeavesTheRecoveryPointAndTakesTheLogOffline) {
  test::TempDir dir;
  auto log = open_log(dir.path());
  ASSERT_TRUE(log->flush().is_ok());
  ASSERT_TRUE(append_one(*log).is_ok());
  const std::int64_t before = log->recovery_point();
  {
    FaultScope faults("fdatasync:EIO");
    EXPECT_FALSE(log->flush().is_ok());
    FlushPlan plan = log->plan_flush();
    ASSERT_FALSE(plan.targets.empty());
    // What the Flusher does with an io_uring sync's result.
    EXPECT_EQ(file_io().sync_completed(plan.targets[0].fd, 0), -EIO);
    log->flush_failed(plan);
  }
  EXPECT_EQ(log->recovery_point(), before);
  EXPECT_TRUE(log->offline());
}

}  // namespace
}  // namespace sluice::storage
