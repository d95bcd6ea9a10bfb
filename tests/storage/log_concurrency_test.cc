// Goal: readers on other threads, running concurrently with the one appending owner (which also
// rolls segments), only ever see whole, valid batches with contiguous offsets below the high
// watermark. Method: one appender, three readers pread every returned range and check each batch's
// length, magic and CRC.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "batch_builder.h"
#include "protocol/record_batch.h"
#include "storage/log.h"
#include "test_dir.h"

namespace sluice::storage {
namespace {

TEST(LogConcurrency, ReadersSeeOnlyWholeBatches) {
  test::TempDir dir;
  LogConfig config;
  config.segment_bytes = 64 * 1024;
  config.index_interval_bytes = 512;
  config.index_bytes_max = 4096;
  config.preallocate_step_bytes = 16 * 1024;
  auto opened = Log::open(dir.path(), config, 0, true);
  ASSERT_TRUE(opened.is_ok());
  std::unique_ptr<Log> log = std::move(opened).value();
  constexpr int batch_count = 4000;
  std::atomic<bool> done{false};
  std::atomic<std::int64_t> reads{0}, failures{0};

  auto reader = [&](unsigned seed) {
    std::mt19937 random(seed);
    std::vector<std::byte> buffer;
    while (!done.load(std::memory_order_acquire)) {
      std::int64_t hwm = log->high_watermark();
      if (hwm == 0) continue;
      std::int64_t offset = static_cast<std::int64_t>(random() % hwm);
      auto r = log->read(offset, 1 + random() % 20000, random() % 2 == 0);
      if (r.error != ErrorCode::none || r.high_watermark < hwm) {
        failures++;
        continue;
      }
      if (!r.range) continue;
      buffer.resize(r.range->bytes);
      if (pread(r.range->fd, buffer.data(), buffer.size(), static_cast<off_t>(r.range->position)) !=
          static_cast<ssize_t>(buffer.size())) {
        failures++;
        continue;
      }
      std::size_t pos = 0;
      std::int64_t expected_base = -1;
      while (pos < buffer.size()) {
        std::size_t bytes = 0;
        if (check_batch_on_disk(buffer.data() + pos, buffer.size() - pos, &bytes) != ErrorCode::none) {
          failures++;
          break;
        }
        auto h = parse_record_batch_header(buffer.data() + pos);
        if (expected_base < 0 && !(h.base_offset <= offset && offset <= h.last_offset())) failures++;
        if (expected_base >= 0 && h.base_offset != expected_base) failures++;
        if (h.last_offset() >= r.high_watermark) failures++;
        expected_base = h.last_offset() + 1;
        pos += bytes;
      }
      reads++;
    }
  };
  std::vector<std::thread> readers;
  for (unsigned i = 0; i < 3; ++i) readers.emplace_back(reader, 1234 + i);

  std::mt19937 random(99);
  for (int i = 0; i < batch_count; ++i) {
    auto batch = test::build_batch({.record_count = 1 + static_cast<int>(random() % 4),
                                    .base_timestamp = 1000 + i,
                                    .value_bytes = static_cast<int>(random() % 300)});
    auto info = log->append(batch, 0, 0);
    ASSERT_TRUE(info.is_ok());
    log->set_high_watermark(log->log_end_offset());
  }
  done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_GT(log->segments()->segments.size(), 3u);
  ASSERT_TRUE(log->close(true).is_ok());
}

}  // namespace
}  // namespace sluice::storage
