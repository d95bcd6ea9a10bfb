// Goal: whatever a flush made durable survives a power cut, and after it the log reads end to end
// with exactly the batches that were appended, none altered. Method: a randomized sequence of
// appends, flushes (the asynchronous plan synced the way the Flusher syncs it, or Log::flush),
// clean closes that leave the syncing to one syncfs (made, or cut off by a crash before it),
// and crashes through CrashFileIo (unsynced bytes lost, partly kept, or with a page missing;
// unsynced new files gone), against a model of the stored batches by base offset. Prints its
// seed; SLUICE_SEED=<n> replays a run.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>

#include "batch_builder.h"
#include "crash_file_io.h"
#include "protocol/record_batch.h"
#include "storage/file_io.h"
#include "storage/log.h"
#include "test_dir.h"

namespace sluice::storage {
namespace {

class FileIoScope {
 public:
  explicit FileIoScope(FileIo* io) { set_file_io(io); }
  ~FileIoScope() { set_file_io(nullptr); }
};

// Syncs a plan's files the way the Flusher does (each result through sync_completed).
void run_plan(Log& log) {
  FlushPlan plan = log.plan_flush();
  int error = 0;
  for (const auto& target : plan.targets) {
    int rc = target.data_only ? ::fdatasync(target.fd) : ::fsync(target.fd);
    rc = file_io().sync_completed(target.fd, rc == 0 ? 0 : -errno);
    if (rc < 0) error = -rc;
  }
  if (plan.directory) {
    int fd = file_io().open(log.dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    int rc = file_io().sync_completed(fd, ::fsync(fd) == 0 ? 0 : -errno);
    file_io().close(fd);
    if (rc < 0) error = -rc;
  }
  if (error != 0) return log.flush_failed(plan);
  log.flush_done(plan);
}

using Model = std::map<std::int64_t, std::string>;  // base offset -> stored batch bytes

// Reads every batch from the log start to its end and compares with the model.
void expect_log_matches(Log& log, const Model& model, std::uint64_t seed) {
  std::int64_t offset = log.log_start_offset();
  std::size_t batches = 0;
  while (offset < log.log_end_offset()) {
    ReadResult read = log.read(offset, 1 << 20, true);
    ASSERT_EQ(read.error, ErrorCode::none) << "seed " << seed << " offset " << offset;
    ASSERT_TRUE(read.range.has_value()) << "seed " << seed << " offset " << offset;
    std::string bytes(read.range->bytes, '\0');
    ASSERT_EQ(::pread(read.range->fd, bytes.data(), bytes.size(), static_cast<off_t>(read.range->position)),
              static_cast<ssize_t>(bytes.size()));
    std::size_t position = 0;
    while (position < bytes.size()) {
      auto header = parse_record_batch_header(reinterpret_cast<const std::byte*>(bytes.data() + position));
      auto size = static_cast<std::size_t>(header.batch_bytes());
      ASSERT_EQ(header.base_offset, offset) << "seed " << seed << ": a gap or overlap";
      auto expected = model.find(offset);
      ASSERT_NE(expected, model.end()) << "seed " << seed << ": batch at " << offset << " was never appended";
      ASSERT_EQ(bytes.substr(position, size), expected->second) << "seed " << seed << ": batch at " << offset << " altered";
      offset = header.last_offset() + 1;
      position += size;
      ++batches;
    }
  }
  EXPECT_EQ(offset, log.log_end_offset());
  EXPECT_EQ(batches, model.size()) << "seed " << seed;
}

TEST(LogCrashTest, FlushedBatchesSurvivePowerCuts) {
  std::uint64_t seed = std::random_device{}();
  if (const char* given = std::getenv("SLUICE_SEED")) seed = std::strtoull(given, nullptr, 10);
  std::printf("LogCrashTest seed %llu (SLUICE_SEED=%llu replays)\n", (unsigned long long)seed, (unsigned long long)seed);
  std::mt19937_64 random(seed);
  test::TempDir dir;
  test::CrashFileIo io;
  FileIoScope scope(&io);
  LogConfig config;
  config.segment_bytes = 8 * 1024;  // many rolls
  config.index_interval_bytes = 512;
  config.preallocate_step_bytes = 4096;

  auto opened = Log::open(dir.path(), config, 0, true);
  ASSERT_TRUE(opened.is_ok());
  std::unique_ptr<Log> log = std::move(opened).value();
  Model model;
  std::vector<std::int64_t> recovery_points{0};  // checkpoints written so far (they lag)
  int crashes = 0;
  std::uint64_t lost_bytes = 0;
  std::int64_t now_ms = 1000;
  for (int step = 0; step < 800; ++step) {
    int choice = static_cast<int>(random() % 100);
    if (choice < 70) {
      test::BatchSpec spec;
      spec.record_count = 1 + static_cast<int>(random() % 8);
      spec.value_bytes = 10 + static_cast<int>(random() % 600);
      spec.base_timestamp = now_ms++;
      auto batch = test::build_batch(spec);
      auto appended = log->append(batch, 0, now_ms);
      ASSERT_TRUE(appended.is_ok()) << "seed " << seed;
      model[appended.value().base_offset] = std::string(reinterpret_cast<const char*>(batch.data()), batch.size());
      log->set_high_watermark(log->log_end_offset());
    } else if (choice < 85) {
      run_plan(*log);
      recovery_points.push_back(log->recovery_point());
    } else if (choice < 90) {
      ASSERT_TRUE(log->flush().is_ok());
      recovery_points.push_back(log->recovery_point());
    } else if (choice < 98) {
      // A power cut; from 95 on, it comes after a clean stop as the broker makes it: the close
      // syncs nothing, then a syncfs of the directory makes it all durable and the recovery
      // point moves to the end, or the power cut comes first and the next open recovers from a
      // checkpoint that does not trust the close.
      const std::int64_t durable = log->recovery_point();
      const std::int64_t end = log->log_end_offset();
      bool synced = false;
      if (choice >= 95) {
        ASSERT_TRUE(log->close(true, Durability::by_caller).is_ok()) << "seed " << seed;
        EXPECT_EQ(log->recovery_point(), durable) << "seed " << seed << ": a close that synced nothing moved it";
        synced = random() % 2 == 0;
        if (synced) {
          int fd = file_io().open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
          ASSERT_GE(fd, 0);
          ASSERT_EQ(file_io().syncfs(fd), 0);
          file_io().close(fd);
          log->mark_durable_to_end();
          ASSERT_EQ(log->recovery_point(), end);
        }
      }
      // The checkpoint on disk may hold any earlier recovery point (after a synced stop: the end).
      const std::int64_t checkpointed = synced ? end : recovery_points[random() % recovery_points.size()];
      log.reset();
      lost_bytes += io.crash(dir.path(), random);
      ++crashes;
      auto reopened = Log::open(dir.path(), config, checkpointed, synced);
      ASSERT_TRUE(reopened.is_ok()) << "seed " << seed << ": " << reopened.status().to_string();
      log = std::move(reopened).value();
      if (synced) {
        ASSERT_EQ(log->log_end_offset(), end) << "seed " << seed << ": a synced clean stop lost batches";
      } else {
        ASSERT_GE(log->log_end_offset(), durable) << "seed " << seed << ": flushed batches lost";
      }
      model.erase(model.lower_bound(log->log_end_offset()), model.end());
      expect_log_matches(*log, model, seed);
      recovery_points.assign(1, log->recovery_point());
    } else {
      expect_log_matches(*log, model, seed);
    }
    if (HasFatalFailure()) return;
  }
  std::printf("LogCrashTest: %d crashes, %zu batches kept, %llu unsynced bytes lost\n", crashes, model.size(),
              (unsigned long long)lost_bytes);
  EXPECT_GT(crashes, 10);
}

}  // namespace
}  // namespace sluice::storage
