// Goal: delete retention removes only whole, closed segments the policy no longer needs (by age,
// by total size, below the log start offset), never the active segment or data past the high
// watermark, moves the log start offset, and never pulls a file from under a reader in flight.
// Method: a real Log with tiny segments, timestamps chosen per batch, checked segment by segment.
#include <gtest/gtest.h>
#include <unistd.h>

#include "batch_builder.h"
#include "storage/log.h"
#include "storage/segment.h"
#include "test_dir.h"

namespace sluice::storage {
namespace {

LogConfig small_segments() {
  LogConfig config;
  config.segment_bytes = 1024;  // about two batches per segment
  return config;
}

// Appends `count` batches of 4 records with the given timestamp; returns the log end.
std::int64_t append_batches(Log& log, int count, std::int64_t timestamp) {
  for (int i = 0; i < count; ++i) {
    test::BatchSpec spec;
    spec.record_count = 4;
    spec.value_bytes = 100;
    spec.base_timestamp = timestamp;
    spec.timestamp_step = 0;
    auto batch = test::build_batch(spec);
    EXPECT_TRUE(log.append(batch, 0, timestamp).is_ok());
  }
  log.set_high_watermark(log.log_end_offset());
  return log.log_end_offset();
}

std::size_t segment_count(const Log& log) { return log.segments()->segments.size(); }

TEST(LogRetentionTest, TimeRetentionDeletesOnlyOldClosedSegments) {
  test::TempDir dir;
  auto log = std::move(Log::open(dir.path(), small_segments(), 0, true)).value();
  const std::int64_t day_ms = 24 * 3600 * 1000LL;
  const std::int64_t now = 100 * day_ms;
  append_batches(*log, 10, now - 3 * day_ms);  // old
  const std::int64_t old_end = log->log_end_offset();
  append_batches(*log, 10, now - 1000);  // fresh
  const std::size_t before = segment_count(*log);
  auto deleted = log->delete_retained_segments(day_ms, -1, now);
  ASSERT_TRUE(deleted.is_ok());
  EXPECT_GT(deleted.value(), 0u);
  EXPECT_EQ(segment_count(*log), before - deleted.value());
  // Every remaining segment but possibly the first holds fresh data; nothing fresh went.
  EXPECT_LE(log->log_start_offset(), old_end);
  EXPECT_EQ(log->log_start_offset(), log->segments()->segments.front()->base_offset());
  for (const auto& segment : log->segments()->segments)
    EXPECT_FALSE(std::filesystem::exists(dir.path() / segment_file_name(segment->base_offset() - 1, ".log")));
  EXPECT_EQ(log->read(0, 1 << 20, true).error, ErrorCode::offset_out_of_range);
  EXPECT_EQ(log->read(log->log_start_offset(), 1 << 20, true).error, ErrorCode::none);
  // Everything is old a year later, but the active segment stays.
  ASSERT_TRUE(log->delete_retained_segments(day_ms, -1, now + 365 * day_ms).is_ok());
  EXPECT_EQ(segment_count(*log), 1u);
  EXPECT_EQ(log->log_start_offset(), log->segments()->segments.back()->base_offset());
}

TEST(LogRetentionTest, SizeRetentionKeepsTheNewestBytes) {
  test::TempDir dir;
  auto log = std::move(Log::open(dir.path(), small_segments(), 0, true)).value();
  append_batches(*log, 40, 1000);
  const std::uint64_t limit = 4 * 1024;
  ASSERT_TRUE(log->delete_retained_segments(-1, static_cast<std::int64_t>(limit), 2000).is_ok());
  // Kafka deletes a segment only while what remains is still at least the limit: the log ends
  // between the limit and the limit plus its oldest segment.
  EXPECT_GE(log->size_bytes(), limit);
  EXPECT_LT(log->size_bytes() - log->segments()->segments.front()->committed_bytes(), limit);
  EXPECT_EQ(log->log_end_offset(), 160);
}

TEST(LogRetentionTest, NothingAtOrPastTheHighWatermarkGoes) {
  test::TempDir dir;
  auto log = std::move(Log::open(dir.path(), small_segments(), 0, true)).value();
  append_batches(*log, 20, 1000);
  log->set_high_watermark(0);  // as in durable mode before any flush
  auto deleted = log->delete_retained_segments(0, 0, 1'000'000);
  ASSERT_TRUE(deleted.is_ok());
  EXPECT_EQ(deleted.value(), 0u);
  EXPECT_EQ(log->log_start_offset(), 0);
}

TEST(LogRetentionTest, DeleteRecordsMovesTheStartAndWholeSegmentsBelowItGo) {
  test::TempDir dir;
  auto log = std::move(Log::open(dir.path(), small_segments(), 0, true)).value();
  append_batches(*log, 20, 1000);
  const std::size_t before = segment_count(*log);
  log->advance_log_start_offset(30);
  EXPECT_EQ(log->log_start_offset(), 30);
  EXPECT_EQ(log->read(29, 1 << 20, true).error, ErrorCode::offset_out_of_range);
  auto deleted = log->delete_retained_segments(-1, -1, 2000);
  ASSERT_TRUE(deleted.is_ok());
  EXPECT_GT(deleted.value(), 0u);
  EXPECT_EQ(segment_count(*log), before - deleted.value());
  EXPECT_LE(log->segments()->segments.front()->base_offset(), 30) << "the segment holding the start stays";
  EXPECT_EQ(log->log_start_offset(), 30);
  // The start survives a reopen through the checkpoint.
  log->set_high_watermark(log->log_end_offset());
  ASSERT_TRUE(log->close(true).is_ok());
  log.reset();
  auto reopened = std::move(Log::open(dir.path(), small_segments(), 0, true)).value();
  reopened->restore_log_start_offset(30);
  EXPECT_EQ(reopened->log_start_offset(), 30);
}

TEST(LogRetentionTest, ReaderInFlightKeepsReadingADeletedSegment) {
  test::TempDir dir;
  auto log = std::move(Log::open(dir.path(), small_segments(), 0, true)).value();
  append_batches(*log, 10, 1000);
  ReadResult read = log->read(0, 1 << 20, true);
  ASSERT_TRUE(read.range.has_value());
  std::string before(read.range->bytes, '\0');
  ASSERT_EQ(::pread(read.range->fd, before.data(), before.size(), static_cast<off_t>(read.range->position)),
            static_cast<ssize_t>(before.size()));
  ASSERT_TRUE(log->delete_retained_segments(0, -1, 1'000'000).is_ok());
  EXPECT_FALSE(std::filesystem::exists(read.range->file->path()));
  std::string after(read.range->bytes, '\0');
  ASSERT_EQ(::pread(read.range->fd, after.data(), after.size(), static_cast<off_t>(read.range->position)),
            static_cast<ssize_t>(after.size()));
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace sluice::storage
