// Goal: log compaction keeps exactly what Kafka's cleaner keeps (the latest record of each key,
// at its original offset; tombstones until their delete horizon; empty headers of idempotent
// producers' last batches), never touches the active segment or data newer than
// min.compaction.lag.ms, writes batches the broker's own checks accept in every codec, swaps only
// segments that are still current, and survives a power cut at any point of a clean.
// Method: real Logs in temp directories with small segments, keyed batches built here (compressed
// with the test's own compressors), cleaned with Cleaner::prepare + Log::swap_cleaned, then read
// back through Log::read and decoded; a randomized run against a "latest value per key" model with
// CrashFileIo power cuts (SLUICE_SEED=<n> replays it).
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "compressors.h"
#include "crash_file_io.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"
#include "protocol/records.h"
#include "storage/cleaner.h"
#include "storage/file_io.h"
#include "storage/log.h"
#include "storage/log_dir.h"
#include "storage/segment.h"
#include "test_dir.h"

namespace sluice::storage {
namespace {

struct Rec {
  std::optional<std::string> key;    // nullopt: null key
  std::optional<std::string> value;  // nullopt: tombstone
};

struct Producer {
  std::int64_t id = -1;
  std::int16_t epoch = -1;
  std::int32_t sequence = -1;
};

std::vector<std::byte> bytes_of(const std::string& s) {
  return std::vector<std::byte>(reinterpret_cast<const std::byte*>(s.data()),
                                reinterpret_cast<const std::byte*>(s.data()) + s.size());
}

// A batch of keyed records (offset deltas 0..n-1, timestamps ts, ts+1, ...), compressed with
// codec by the test's compressors.
std::vector<std::byte> keyed_batch(int codec, const std::vector<Rec>& records, std::int64_t ts,
                                   Producer producer = {}, std::int16_t extra_attributes = 0) {
  std::vector<std::byte> area;
  for (std::size_t i = 0; i < records.size(); ++i) {
    std::vector<std::byte> body{std::byte{0}};
    test::put_varlong(body, static_cast<std::int64_t>(i));  // timestamp delta
    test::put_varlong(body, static_cast<std::int64_t>(i));  // offset delta
    const Rec& r = records[i];
    test::put_varlong(body, r.key ? static_cast<std::int64_t>(r.key->size()) : -1);
    if (r.key) {
      auto k = bytes_of(*r.key);
      body.insert(body.end(), k.begin(), k.end());
    }
    test::put_varlong(body, r.value ? static_cast<std::int64_t>(r.value->size()) : -1);
    if (r.value) {
      auto v = bytes_of(*r.value);
      body.insert(body.end(), v.begin(), v.end());
    }
    test::put_varlong(body, 0);
    test::put_varlong(area, static_cast<std::int64_t>(body.size()));
    area.insert(area.end(), body.begin(), body.end());
  }
  auto payload = codec == 0 ? area : test::compress_for_codec(codec, area);
  std::vector<std::byte> batch(61 + payload.size());
  std::byte* p = batch.data();
  const int n = static_cast<int>(records.size());
  store_be64(p + 0, 0);
  store_be32(p + 8, static_cast<std::uint32_t>(batch.size() - 12));
  store_be32(p + 12, static_cast<std::uint32_t>(-1));
  p[16] = std::byte{2};
  store_be16(p + 21, static_cast<std::uint16_t>(codec | extra_attributes));
  store_be32(p + 23, static_cast<std::uint32_t>(n - 1));
  store_be64(p + 27, static_cast<std::uint64_t>(ts));
  store_be64(p + 35, static_cast<std::uint64_t>(ts + n - 1));
  store_be64(p + 43, static_cast<std::uint64_t>(producer.id));
  store_be16(p + 51, static_cast<std::uint16_t>(producer.epoch));
  store_be32(p + 53, static_cast<std::uint32_t>(producer.sequence));
  store_be32(p + 57, static_cast<std::uint32_t>(n));
  std::copy(payload.begin(), payload.end(), batch.begin() + 61);
  store_be32(p + 17, crc32c(p + 21, batch.size() - 21));
  return batch;
}

struct ReadRecord {
  std::int64_t offset;
  std::int64_t timestamp;
  std::optional<std::string> key, value;
};

struct ReadBatch {
  RecordBatchHeader header;
  std::vector<std::byte> bytes;
  std::vector<ReadRecord> records;
};

// Every batch from the log start to the log end through Log::read, each checked as recovery
// checks it and decoded. Fails the test on any inconsistency.
std::vector<ReadBatch> read_log(const Log& log) {
  std::vector<ReadBatch> out;
  std::int64_t offset = log.log_start_offset();
  std::int64_t previous_last = -1;
  while (offset < log.high_watermark()) {
    ReadResult read = log.read(offset, 1 << 20, true);
    EXPECT_EQ(read.error, ErrorCode::none) << "offset " << offset;
    if (read.error != ErrorCode::none || !read.range) break;
    std::vector<std::byte> bytes(read.range->bytes);
    EXPECT_EQ(::pread(read.range->fd, bytes.data(), bytes.size(), static_cast<off_t>(read.range->position)),
              static_cast<ssize_t>(bytes.size()));
    std::size_t position = 0;
    while (position < bytes.size()) {
      std::size_t batch_bytes = 0;
      EXPECT_EQ(check_batch_on_disk(bytes.data() + position, bytes.size() - position, &batch_bytes), ErrorCode::none);
      if (batch_bytes == 0) return out;
      ReadBatch batch;
      batch.header = parse_record_batch_header(bytes.data() + position);
      batch.bytes.assign(bytes.begin() + position, bytes.begin() + position + batch_bytes);
      EXPECT_GT(batch.header.base_offset, previous_last) << "offsets must increase";
      previous_last = batch.header.last_offset();
      std::vector<std::byte> storage;
      auto area = batch_record_area(batch.bytes, &storage, decompressed_records_bytes_max);
      EXPECT_TRUE(area.is_ok());
      if (!area.is_ok()) return out;
      const bool lat = batch.header.timestamp_type() == timestamp_type_log_append_time;
      bool parsed = protocol::parse_records(area.value(), batch.header.record_count, [&](const protocol::RecordView& v) {
        ReadRecord r;
        r.offset = batch.header.base_offset + v.offset_delta;
        r.timestamp = lat ? batch.header.max_timestamp : batch.header.base_timestamp + v.timestamp_delta;
        if (v.key) r.key = std::string(reinterpret_cast<const char*>(v.key->data()), v.key->size());
        if (v.value) r.value = std::string(reinterpret_cast<const char*>(v.value->data()), v.value->size());
        batch.records.push_back(std::move(r));
      });
      EXPECT_TRUE(parsed) << "batch at " << batch.header.base_offset;
      for (const auto& r : batch.records) {
        EXPECT_GE(r.offset, batch.header.base_offset);
        EXPECT_LE(r.offset, batch.header.last_offset());
      }
      position += batch_bytes;
      out.push_back(std::move(batch));
    }
    offset = previous_last + 1;
  }
  return out;
}

std::vector<ReadRecord> records_of(const std::vector<ReadBatch>& batches) {
  std::vector<ReadRecord> out;
  for (const auto& b : batches) out.insert(out.end(), b.records.begin(), b.records.end());
  return out;
}

LogConfig small_segments() {
  LogConfig config;
  config.segment_bytes = 2048;
  config.index_interval_bytes = 256;
  config.preallocate_step_bytes = 4096;
  return config;
}

CleanerConfig small_cleaner() {
  CleanerConfig config;
  config.dedupe_buffer_bytes = 1 << 20;
  config.io_buffer_bytes = 4096;
  return config;
}

CleanRequest request_for(const Log& log, std::int64_t first_dirty, std::int64_t now_ms) {
  CleanRequest request;
  request.first_dirty_offset = first_dirty;
  request.now_ms = now_ms;
  request.segment_bytes = small_segments().segment_bytes;
  request.index_interval_bytes = small_segments().index_interval_bytes;
  request.index_bytes_max = small_segments().index_bytes_max;
  request.delete_retention_ms = 1000;
  (void)log;
  return request;
}

class CleanerTest : public ::testing::Test {
 protected:
  void SetUp() override { log_ = open_log(); }
  std::unique_ptr<Log> open_log(bool clean = true) {
    auto opened = Log::open(dir_.path(), small_segments(), 0, clean);
    EXPECT_TRUE(opened.is_ok()) << opened.status().message();
    return std::move(opened).value();
  }
  std::int64_t append(const std::vector<Rec>& records, int codec = 0, Producer producer = {}, std::int64_t ts = -1) {
    auto batch = keyed_batch(codec, records, ts >= 0 ? ts : now_, producer);
    auto appended = log_->append(batch, 0, now_);
    EXPECT_TRUE(appended.is_ok());
    // The produce path keeps the producer state; here the test does.
    if (producer.id >= 0) log_->producer_state().update(parse_record_batch_header(batch.data()));
    log_->set_high_watermark(log_->log_end_offset());
    return appended.value().base_offset;
  }
  // Appends filler records until the log has rolled past everything appended so far, and flushes.
  void seal_and_flush() {
    const std::size_t before = log_->segments()->segments.size();
    while (log_->segments()->segments.size() == before) append({{"filler", std::string(200, 'f')}});
    ASSERT_TRUE(log_->flush().is_ok());
  }
  // One clean: prepare + swap; returns the plan's stats and moves first_dirty_.
  CleanStats clean(std::int64_t now_ms, CleanerConfig config = small_cleaner()) {
    Cleaner cleaner(config, nullptr);
    CleanRequest request = request_for(*log_, first_dirty_, now_ms);
    request.producer_last_offsets = log_->producer_last_offsets();
    auto plan = cleaner.prepare(*log_, request);
    EXPECT_TRUE(plan.is_ok()) << plan.status().message();
    if (!plan.is_ok()) return {};
    auto swapped = log_->swap_cleaned(plan.value());
    EXPECT_TRUE(swapped.is_ok()) << swapped.status().message();
    first_dirty_ = plan.value().first_dirty_offset_next;
    return plan.value().stats;
  }
  // key -> (offset, value) of the last record of each key, reading from the start.
  std::map<std::string, std::pair<std::int64_t, std::optional<std::string>>> latest_read() {
    std::map<std::string, std::pair<std::int64_t, std::optional<std::string>>> latest;
    for (const auto& r : records_of(read_log(*log_)))
      if (r.key) latest[*r.key] = {r.offset, r.value};
    return latest;
  }
  std::size_t leftover_files() {
    std::size_t count = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
      auto name = e.path().filename().string();
      if (name.ends_with(".cleaned") || name.ends_with(".swap")) ++count;
    }
    return count;
  }

  test::TempDir dir_;
  std::unique_ptr<Log> log_;
  std::int64_t now_ = 1'000'000;
  std::int64_t first_dirty_ = 0;
};

TEST_F(CleanerTest, KeepsTheLatestValueOfEachKeyAtItsOriginalOffset) {
  std::map<std::string, std::pair<std::int64_t, std::string>> expected;
  for (int round = 0; round < 6; ++round) {
    for (int k = 0; k < 8; ++k) {
      std::string key = "key" + std::to_string(k), value = "v" + std::to_string(round) + "-" + std::string(50, 'x');
      expected[key] = {append({{key, value}}), value};
    }
  }
  seal_and_flush();
  auto active = log_->segments()->segments.back();
  const std::uint64_t active_bytes = active->committed_bytes();
  const std::uint64_t bytes_before = log_->size_bytes();
  const std::int64_t end_before = log_->log_end_offset();
  CleanStats stats = clean(now_);
  EXPECT_GT(stats.records_read, stats.records_kept);
  EXPECT_LT(stats.bytes_written, stats.bytes_read);
  EXPECT_LT(log_->size_bytes(), bytes_before);
  // The active segment is the same object with the same bytes; the end did not move.
  EXPECT_EQ(log_->segments()->segments.back(), active);
  EXPECT_EQ(active->committed_bytes(), active_bytes);
  EXPECT_EQ(log_->log_end_offset(), end_before);
  auto latest = latest_read();
  for (const auto& [key, want] : expected) {
    ASSERT_TRUE(latest.count(key)) << key;
    EXPECT_EQ(latest[key].first, want.first) << key << ": offset must be the original one";
    EXPECT_EQ(latest[key].second, want.second) << key;
  }
  // Older versions are gone: each key appears once below the filler (the gaps stay gaps).
  std::map<std::string, int> seen;
  for (const auto& r : records_of(read_log(*log_))) seen[*r.key]++;
  for (const auto& [key, want] : expected) EXPECT_EQ(seen[key], 1) << key;
  EXPECT_EQ(leftover_files(), 0u);
  // The cleaned log reopens (clean and after a crash) to the same content.
  log_.reset();
  log_ = open_log(false);
  EXPECT_EQ(latest_read(), latest);
}

TEST_F(CleanerTest, TombstonesStayUntilTheirDeleteHorizon) {
  append({{"gone", "old value"}});
  append({{"kept", "value"}});
  const std::int64_t tombstone_offset = append({{"gone", std::nullopt}});
  seal_and_flush();
  const std::int64_t t0 = now_;
  clean(t0);  // first clean: the value goes, the tombstone gets horizon t0 + 1000
  auto latest = latest_read();
  ASSERT_TRUE(latest.count("gone"));
  EXPECT_EQ(latest["gone"].first, tombstone_offset);
  EXPECT_FALSE(latest["gone"].second.has_value());
  for (const auto& b : read_log(*log_))
    for (const auto& r : b.records)
      if (r.offset == tombstone_offset) {
        EXPECT_TRUE(b.header.has_delete_horizon());
        EXPECT_EQ(b.header.base_timestamp, t0 + 1000);
        EXPECT_EQ(r.timestamp, t0) << "the record keeps its own timestamp";
      }
  seal_and_flush();
  clean(t0 + 999);  // before the horizon
  EXPECT_TRUE(latest_read().count("gone"));
  seal_and_flush();
  CleanStats stats = clean(t0 + 1000);  // at the horizon
  EXPECT_EQ(stats.tombstones_removed, 1u);
  latest = latest_read();
  EXPECT_FALSE(latest.count("gone"));
  EXPECT_EQ(latest["kept"].second, "value");
}

TEST_F(CleanerTest, MinCompactionLagKeepsRecentSegmentsDirty) {
  // One record per batch, so offset i is the i-th append.
  for (int i = 0; i < 30; ++i) append({{"k", "old" + std::to_string(i) + std::string(100, 'o')}}, 0, {}, 1000);
  for (int i = 0; i < 30; ++i) append({{"k", "new" + std::to_string(i) + std::string(100, 'n')}}, 0, {}, now_);
  ASSERT_TRUE(log_->flush().is_ok());
  const std::int64_t lag_ms = 60'000;  // the "new" records are younger than that
  auto range = cleanable_range(*log_, 0, now_, lag_ms, INT64_MAX);
  EXPECT_GT(range.first_uncleanable_offset, 0);
  EXPECT_LE(range.first_uncleanable_offset, 30);
  Cleaner cleaner(small_cleaner(), nullptr);
  CleanRequest request = request_for(*log_, 0, now_);
  request.min_compaction_lag_ms = lag_ms;
  auto plan = cleaner.prepare(*log_, request);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan.value().first_dirty_offset_next, range.first_uncleanable_offset);
  ASSERT_GT(log_->swap_cleaned(plan.value()).value(), 0u);
  // Everything from the first uncleanable offset on is untouched; below it only the last "k".
  std::int64_t below = 0, above = 0;
  for (const auto& r : records_of(read_log(*log_))) (r.offset < range.first_uncleanable_offset ? below : above)++;
  EXPECT_EQ(below, 1);
  EXPECT_EQ(above, 60 - range.first_uncleanable_offset);
}

TEST_F(CleanerTest, NothingCleanableGivesAnEmptyPlan) {
  append({{"a", "1"}});
  Cleaner cleaner(small_cleaner(), nullptr);
  auto plan = cleaner.prepare(*log_, request_for(*log_, 0, now_));
  ASSERT_TRUE(plan.is_ok());
  EXPECT_TRUE(plan.value().empty());
  EXPECT_EQ(log_->swap_cleaned(plan.value()).value(), 0u);
}

TEST_F(CleanerTest, UnflushedSegmentsAreNotCleanedWhenDurableOnly) {
  for (int i = 0; i < 20; ++i) append({{"k", std::string(200, 'a' + i % 26)}});
  ASSERT_GT(log_->segments()->segments.size(), 2u);
  ASSERT_EQ(log_->recovery_point(), 0);
  Cleaner cleaner(small_cleaner(), nullptr);
  auto plan = cleaner.prepare(*log_, request_for(*log_, 0, now_));
  ASSERT_TRUE(plan.is_ok());
  EXPECT_TRUE(plan.value().empty());
  CleanRequest request = request_for(*log_, 0, now_);
  request.durable_only = false;
  auto kafka_like = cleaner.prepare(*log_, request);
  ASSERT_TRUE(kafka_like.is_ok());
  EXPECT_FALSE(kafka_like.value().empty());
}

class CleanerCodecTest : public CleanerTest, public ::testing::WithParamInterface<int> {};

TEST_P(CleanerCodecTest, RewrittenBatchesKeepTheirCodecAndPassTheBrokersChecks) {
  const int codec = GetParam();
  std::map<std::string, std::string> expected;
  for (int round = 0; round < 8; ++round) {
    std::vector<Rec> records;
    for (int k = 0; k < 10; ++k) {
      // Half the keys are rewritten every round, the others only in round 0.
      if (round > 0 && k % 2 == 1) continue;
      std::string key = "key" + std::to_string(k), value = "r" + std::to_string(round) + std::string(40, 'a' + k);
      records.push_back({key, value});
      expected[key] = value;
    }
    append(records, codec);
  }
  seal_and_flush();
  CleanStats stats = clean(now_);
  EXPECT_GT(stats.batches_rebuilt, 0u);
  std::map<std::string, std::string> got;
  std::size_t rebuilt = 0;
  for (const auto& b : read_log(*log_)) {
    if (b.records.empty()) continue;
    if (*b.records.front().key == "filler") continue;
    EXPECT_EQ(b.header.compression(), codec);
    if (b.header.record_count != b.header.last_offset_delta + 1) ++rebuilt;
    // The produce path's validation accepts a batch whose offsets have no gap; every batch passes
    // recovery's check (read_log) and decompresses with the broker's own decoder.
    if (b.header.record_count == b.header.last_offset_delta + 1) {
      auto copy = b.bytes;
      EXPECT_EQ(validate_record_batches(copy, BatchLimits{1 << 20}, nullptr), ErrorCode::none);
    }
    for (const auto& r : b.records) got[*r.key] = *r.value;
  }
  EXPECT_GT(rebuilt, 0u);
  for (const auto& [k, v] : expected) EXPECT_EQ(got[k], v) << k;
  // Log::read from every offset of the cleaned range answers with a whole batch holding it or the
  // next one (gaps).
  for (std::int64_t offset = 0; offset < log_->log_end_offset(); ++offset) {
    ReadResult read = log_->read(offset, 1 << 16, true);
    ASSERT_EQ(read.error, ErrorCode::none) << offset;
    ASSERT_TRUE(read.range.has_value()) << offset;
    std::byte header[61];
    ASSERT_EQ(::pread(read.range->fd, header, 61, static_cast<off_t>(read.range->position)), 61);
    EXPECT_GE(parse_record_batch_header(header).last_offset(), offset);
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, CleanerCodecTest, ::testing::Values(0, 1, 2, 3, 4));

TEST_F(CleanerTest, LogAppendTimeBatchesKeepTheirTimestamp) {
  auto batch = keyed_batch(4, {{"a", "1"}, {"b", "2"}, {"a", "3"}}, now_);
  set_log_append_time(batch.data(), batch.size(), 777);
  ASSERT_TRUE(log_->append(batch, 0, now_).is_ok());
  log_->set_high_watermark(log_->log_end_offset());
  seal_and_flush();
  clean(now_);
  auto batches = read_log(*log_);
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(batches[0].header.timestamp_type(), timestamp_type_log_append_time);
  EXPECT_EQ(batches[0].header.max_timestamp, 777);
  ASSERT_EQ(batches[0].records.size(), 2u);
  EXPECT_EQ(*batches[0].records[0].key, "b");
  EXPECT_EQ(batches[0].records[0].timestamp, 777);
}

TEST_F(CleanerTest, IdempotentProducersKeepTheirLastBatchAsAnEmptyHeader) {
  // Producer 7's last batch is fully superseded by producer 8's; its header stays (sequence
  // state), producer 7's earlier superseded batch goes.
  append({{"a", "p7-0"}}, 0, {7, 0, 0});
  append({{"a", "p7-1"}, {"b", "p7-1"}}, 0, {7, 0, 1});
  append({{"a", "p8"}, {"b", "p8"}}, 0, {8, 0, 0});
  seal_and_flush();
  ASSERT_EQ(log_->producer_last_offsets().at(7), 2);
  CleanStats stats = clean(now_);
  EXPECT_GE(stats.batches_emptied, 1u);
  std::vector<ReadBatch> p7;
  for (auto& b : read_log(*log_))
    if (b.header.producer_id == 7) p7.push_back(b);
  ASSERT_EQ(p7.size(), 1u);
  EXPECT_EQ(p7[0].header.record_count, 0);
  EXPECT_EQ(p7[0].header.base_offset, 1);
  EXPECT_EQ(p7[0].header.last_offset(), 2);
  EXPECT_EQ(p7[0].header.base_sequence, 1);
  EXPECT_EQ(p7[0].header.compression(), 0);
  // Recovery rebuilds the producer's last sequence from the kept header.
  log_.reset();
  log_ = open_log(false);
  const ProducerEntry* entry = log_->producer_state().find(7);
  ASSERT_NE(entry, nullptr);
  ASSERT_FALSE(entry->batches.empty());
  EXPECT_EQ(entry->batches.back().last_sequence, 2);
}

TEST_F(CleanerTest, NullKeysAreDroppedAndCounted) {
  append({{std::nullopt, "no key"}, {"k", "v"}});
  seal_and_flush();
  CleanStats stats = clean(now_);
  EXPECT_EQ(stats.null_key_records, 1u);
  for (const auto& r : records_of(read_log(*log_))) EXPECT_TRUE(r.key.has_value());
}

TEST_F(CleanerTest, AFullOffsetMapCleansUpToWhereItFilled) {
  for (int round = 0; round < 3; ++round)
    for (int k = 0; k < 100; ++k) append({{"key" + std::to_string(k), "v" + std::to_string(round)}});
  seal_and_flush();
  CleanerConfig tiny = small_cleaner();
  tiny.dedupe_buffer_bytes = 60 * OffsetMap::slot_bytes;  // 54 keys at load factor 0.9
  const std::int64_t uncleanable = cleanable_range(*log_, 0, now_, 0, INT64_MAX).first_uncleanable_offset;
  CleanStats first = clean(now_, tiny);
  EXPECT_GT(first.map_utilization, 0.8);
  EXPECT_LT(first_dirty_, uncleanable);
  for (int i = 0; i < 10 && first_dirty_ < uncleanable; ++i) clean(now_, tiny);
  EXPECT_GE(first_dirty_, uncleanable);
  auto latest = latest_read();
  for (int k = 0; k < 100; ++k) EXPECT_EQ(latest["key" + std::to_string(k)].second, "v2") << k;
  std::size_t count = 0;
  for (const auto& r : records_of(read_log(*log_)))
    if (*r.key != "filler") ++count;
  EXPECT_EQ(count, 100u);
}

TEST_F(CleanerTest, SwapIsRefusedForSegmentsRetentionRemoved) {
  for (int i = 0; i < 30; ++i) append({{"k" + std::to_string(i % 5), std::string(150, 'a' + i % 26)}});
  seal_and_flush();
  Cleaner cleaner(small_cleaner(), nullptr);
  auto plan = cleaner.prepare(*log_, request_for(*log_, 0, now_));
  ASSERT_TRUE(plan.is_ok());
  ASSERT_FALSE(plan.value().empty());
  EXPECT_GT(leftover_files(), 0u);
  const std::size_t groups = plan.value().groups.size();
  // Retention takes the front segments meanwhile: the first group is no longer current.
  ASSERT_GT(log_->delete_retained_segments(-1, 2500, now_).value(), 0u);
  auto swapped = log_->swap_cleaned(plan.value());
  ASSERT_TRUE(swapped.is_ok());
  EXPECT_LT(swapped.value(), groups);
  EXPECT_TRUE(plan.value().empty());
  EXPECT_EQ(leftover_files(), 0u);
  // Nothing below the new log start came back, and the log reads end to end.
  for (const auto& r : records_of(read_log(*log_))) EXPECT_GE(r.offset, log_->log_start_offset());
}

TEST_F(CleanerTest, DroppedPlanDeletesItsFiles) {
  for (int i = 0; i < 20; ++i) append({{"k", std::string(150, 'a' + i % 26)}});
  seal_and_flush();
  Cleaner cleaner(small_cleaner(), nullptr);
  {
    auto plan = cleaner.prepare(*log_, request_for(*log_, 0, now_));
    ASSERT_TRUE(plan.is_ok());
    EXPECT_GT(leftover_files(), 0u);
  }
  EXPECT_EQ(leftover_files(), 0u);
  std::atomic<bool> cancel{true};
  CleanRequest request = request_for(*log_, 0, now_);
  request.cancel = &cancel;
  auto cancelled = cleaner.prepare(*log_, request);
  ASSERT_FALSE(cancelled.is_ok());
  EXPECT_EQ(cancelled.status().errno_value(), ECANCELED);
  EXPECT_EQ(leftover_files(), 0u);
}

TEST_F(CleanerTest, OpenDeletesCleanedLeftovers) {
  for (int i = 0; i < 20; ++i) append({{"k", std::string(150, 'a' + i % 26)}});
  seal_and_flush();
  auto before = latest_read();
  Cleaner cleaner(small_cleaner(), nullptr);
  auto plan = cleaner.prepare(*log_, request_for(*log_, 0, now_));
  ASSERT_TRUE(plan.is_ok());
  plan.value().groups.clear();  // a crash before the swap: the .cleaned files stay
  ASSERT_GT(leftover_files(), 0u);
  log_.reset();
  log_ = open_log(false);
  EXPECT_EQ(leftover_files(), 0u);
  EXPECT_EQ(latest_read(), before);
}

// A crash inside the swap, after .cleaned -> .swap and `unlinked` of the replaced segments' files
// were removed: open completes the swap.
void crash_mid_swap(CleanerTest* test, Log& log, std::size_t unlinked, const std::filesystem::path& dir) {
  Cleaner cleaner(small_cleaner(), nullptr);
  auto plan = cleaner.prepare(log, request_for(log, 0, 2'000'000));
  ASSERT_TRUE(plan.is_ok());
  ASSERT_FALSE(plan.value().empty());
  std::size_t removed = 0;
  for (auto& group : plan.value().groups) {
    for (const char* kind : {".log", ".index", ".timeindex"}) {
      auto name = segment_file_name(group.segment->base_offset(), kind);
      ASSERT_EQ(::rename((dir / (name + ".cleaned")).c_str(), (dir / (name + ".swap")).c_str()), 0);
    }
  }
  for (auto& group : plan.value().groups)
    for (auto& old : group.replaced)
      if (removed++ < unlinked) {
        ASSERT_TRUE(old->remove_files().is_ok());
      }
  plan.value().groups.clear();
  (void)test;
}

TEST_F(CleanerTest, OpenCompletesAnInterruptedSwap) {
  for (int unlinked : {0, 1, 3}) {
    for (int round = 0; round < 5; ++round)
      for (int k = 0; k < 6; ++k) append({{"key" + std::to_string(k), "v" + std::to_string(round) + std::string(60, 'z')}});
    seal_and_flush();
    crash_mid_swap(this, *log_, unlinked, dir_.path());
    log_.reset();
    log_ = open_log(false);
    EXPECT_EQ(leftover_files(), 0u);
    auto latest = latest_read();
    for (int k = 0; k < 6; ++k) EXPECT_EQ(latest["key" + std::to_string(k)].second, "v4" + std::string(60, 'z'));
    // The old segments are gone: each key once.
    std::map<std::string, int> seen;
    for (const auto& r : records_of(read_log(*log_))) seen[*r.key]++;
    for (int k = 0; k < 6; ++k) EXPECT_EQ(seen["key" + std::to_string(k)], 1) << "unlinked " << unlinked;
  }
}

TEST_F(CleanerTest, RetentionStillAppliesToACompactedLog) {
  for (int i = 0; i < 30; ++i) append({{"k" + std::to_string(i % 3), std::string(150, 'a')}}, 0, {}, 1000 + i);
  seal_and_flush();
  clean(now_);
  const std::int64_t old_end = log_->log_end_offset();
  now_ += 10'000'000;
  for (int i = 0; i < 30; ++i) append({{"k" + std::to_string(i % 3), std::string(150, 'b')}}, 0, {}, now_);
  seal_and_flush();
  // compact,delete: time retention removes the cleaned old segments, compaction the rest.
  ASSERT_GT(log_->delete_retained_segments(1'000'000, -1, now_).value(), 0u);
  EXPECT_GE(log_->log_start_offset(), old_end - 1);
  clean(now_);
  for (const auto& r : records_of(read_log(*log_))) EXPECT_GE(r.offset, log_->log_start_offset());
  EXPECT_EQ(latest_read()["k0"].second, std::string(150, 'b'));
}

TEST_F(CleanerTest, PrepareRunsOnAnotherThreadWhileTheOwnerAppends) {
  // The threading contract: prepare reads only sealed segments through the snapshot while the
  // owner keeps appending and rolling; the swap then runs on the owner.
  for (int i = 0; i < 60; ++i) append({{"k" + std::to_string(i % 6), std::string(150, 'a' + i % 26)}});
  ASSERT_TRUE(log_->flush().is_ok());
  Cleaner cleaner(small_cleaner(), nullptr);
  CleanRequest request = request_for(*log_, 0, now_);
  std::optional<Result<CleanPlan>> plan;
  std::thread cleaner_thread([&] { plan.emplace(cleaner.prepare(*log_, request)); });
  for (int i = 0; i < 60; ++i) append({{"k" + std::to_string(i % 6), "late" + std::to_string(i)}});
  cleaner_thread.join();
  ASSERT_TRUE(plan->is_ok());
  ASSERT_GT(log_->swap_cleaned(plan->value()).value(), 0u);
  auto latest = latest_read();
  for (int k = 0; k < 6; ++k) EXPECT_EQ(latest["k" + std::to_string(k)].second, "late" + std::to_string(54 + k));
}

// ---------------------------------------------------------------- throttle, selection, checkpoint

class FakeClock : public ThrottleClock {
 public:
  std::int64_t now_ns() override { return now += tick; }
  void sleep_ns(std::int64_t ns) override { now += ns, slept += ns; }
  std::int64_t now = 0, slept = 0, tick = 0;
};

TEST(ThrottlerTest, SleepsDownToTheConfiguredRate) {
  FakeClock clock;
  Throttler throttler(1000.0, clock, 100'000'000);  // 1000 B/s, checked every 100 ms
  for (int i = 0; i < 100; ++i) {
    clock.now += 10'000'000;  // 10 ms of work per 100 bytes: 10,000 B/s natural rate
    throttler.maybe_throttle(100);
  }
  // 10,000 bytes at 1000 B/s take 10 s; the work itself took 1 s.
  const double seconds = double(clock.now) / 1e9;
  EXPECT_NEAR(seconds, 10.0, 0.5);
  EXPECT_EQ(throttler.slept_ns(), clock.slept);
}

TEST(ThrottlerTest, NoLimitNeverSleeps) {
  FakeClock clock;
  Throttler throttler(0, clock);
  for (int i = 0; i < 100; ++i) clock.now += 1'000'000, throttler.maybe_throttle(1 << 20);
  EXPECT_EQ(clock.slept, 0);
}

TEST_F(CleanerTest, CleanerSleepsOnItsThrottler) {
  for (int i = 0; i < 40; ++i) append({{"k" + std::to_string(i % 4), std::string(200, 'x')}});
  seal_and_flush();
  FakeClock clock;
  clock.tick = 1000;  // each look at the clock costs 1 us, so periods end
  Throttler throttler(10'000.0, clock, 1);  // 10 KB/s: ~16 KB of log reads and writes take > 1 s
  Cleaner cleaner(small_cleaner(), &throttler);
  auto plan = cleaner.prepare(*log_, request_for(*log_, 0, now_));
  ASSERT_TRUE(plan.is_ok());
  EXPECT_GT(clock.slept, 1'000'000'000);
  const std::uint64_t io = plan.value().stats.map_bytes_read + plan.value().stats.bytes_read + plan.value().stats.bytes_written;
  EXPECT_NEAR(double(clock.now) / 1e9, double(io) / 10'000.0, 0.2);
}

TEST(CleanerSelectionTest, PicksTheDirtiestLogAboveItsRatio) {
  test::TempDir a_dir, b_dir;
  auto a = std::move(Log::open(a_dir.path(), small_segments(), 0, true)).value();
  auto b = std::move(Log::open(b_dir.path(), small_segments(), 0, true)).value();
  for (auto* log : {a.get(), b.get()}) {
    for (int i = 0; i < 100; ++i) {
      auto batch = keyed_batch(0, {{"k", std::string(150, 'x')}}, 1000);
      ASSERT_TRUE(log->append(batch, 0, 1000).is_ok());
    }
    log->set_high_watermark(log->log_end_offset());
    ASSERT_TRUE(log->flush().is_ok());
  }
  // a: everything dirty (ratio 1); b: mostly clean.
  const std::int64_t b_dirty = b->segments()->segments[b->segments()->segments.size() - 3]->base_offset();
  std::vector<CleanCandidate> candidates{{b.get(), b_dirty, 0.5, 0, INT64_MAX}, {a.get(), 0, 0.5, 0, INT64_MAX}};
  auto range_b = cleanable_range(*b, b_dirty, 2000, 0, INT64_MAX);
  EXPECT_GT(range_b.clean_bytes, 0u);
  EXPECT_LT(range_b.dirty_ratio, 0.5);
  EXPECT_EQ(choose_log_to_clean(candidates, 2000), 1u);
  candidates[1].min_cleanable_dirty_ratio = 1.0;  // a's ratio is not above 1.0
  EXPECT_EQ(choose_log_to_clean(candidates, 2000), std::nullopt);
  // max.compaction.lag.ms: b's dirty data is older than 500 ms at t=2000, so it must be cleaned.
  candidates[0].max_compaction_lag_ms = 500;
  EXPECT_EQ(choose_log_to_clean(candidates, 2000), 0u);
  EXPECT_GT(cleanable_range(*b, b_dirty, 2000, 0, 500).compaction_delay_ms, 0);
  // First dirty offset: a checkpoint outside [log start, log end] falls back to the log start.
  EXPECT_EQ(first_dirty_offset(*a, std::nullopt), 0);
  EXPECT_EQ(first_dirty_offset(*a, 5), 5);
  EXPECT_EQ(first_dirty_offset(*a, a->log_end_offset() + 1), 0);
}

TEST(CleanerCheckpointTest, RoundTripsInKafkasFormat) {
  test::TempDir dir;
  OffsetCheckpoint offsets{{{"compacted", 0}, 42}, {{"compacted", 1}, 7}};
  ASSERT_TRUE(write_cleaner_checkpoint(dir.path(), offsets).is_ok());
  EXPECT_EQ(test::read_file(dir.path() / "cleaner-offset-checkpoint"), "0\n2\ncompacted 0 42\ncompacted 1 7\n");
  auto back = read_cleaner_checkpoint(dir.path());
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back.value(), offsets);
}

TEST(OffsetMapTest, KeepsTheLatestOffsetAndStopsAtItsLoadFactor) {
  OffsetMap map(100 * OffsetMap::slot_bytes, 0.5);
  EXPECT_EQ(map.get(bytes_of("absent")), -1);
  map.put(bytes_of("a"), 1);
  map.put(bytes_of("a"), 5);
  map.put(bytes_of(""), 6);
  EXPECT_EQ(map.get(bytes_of("a")), 5);
  EXPECT_EQ(map.get(bytes_of("")), 6);
  EXPECT_EQ(map.size(), 2u);
  for (int i = 0; !map.full(); ++i) map.put(bytes_of("key-" + std::to_string(i)), 10 + i);
  EXPECT_EQ(map.size(), 50u);
  EXPECT_EQ(map.latest_offset(), 10 + 47);
  for (int i = 0; i < 48; ++i) EXPECT_EQ(map.get(bytes_of("key-" + std::to_string(i))), 10 + i);
  map.clear();
  EXPECT_EQ(map.get(bytes_of("a")), -1);
  EXPECT_EQ(map.latest_offset(), -1);
}

// The table starts small, doubles as keys come (every key still found after each rehash), stops
// at the budget's load factor like Kafka's, and clear() gives the memory back.
TEST(OffsetMapTest, GrowsToItsBudgetAndShrinksOnClear) {
  const std::size_t budget_slots = 5 * OffsetMap::initial_slots;
  OffsetMap map(budget_slots * OffsetMap::slot_bytes, 0.9);
  EXPECT_EQ(map.slot_count(), OffsetMap::initial_slots);
  EXPECT_EQ(map.slot_count_max(), budget_slots);
  int added = 0;
  for (; !map.full(); ++added) map.put(bytes_of("k" + std::to_string(added)), added);
  EXPECT_EQ(map.slot_count(), budget_slots);
  EXPECT_EQ(static_cast<std::size_t>(added), static_cast<std::size_t>(double(budget_slots) * 0.9));
  for (int i = 0; i < added; ++i) ASSERT_EQ(map.get(bytes_of("k" + std::to_string(i))), i) << i;
  EXPECT_EQ(map.get(bytes_of("absent")), -1);
  EXPECT_NEAR(map.utilization(), 0.9, 0.001);
  map.clear();
  EXPECT_EQ(map.slot_count(), OffsetMap::initial_slots);
  EXPECT_EQ(map.size(), 0u);
}

// ---------------------------------------------------------------- randomized with power cuts

class FileIoScope {
 public:
  explicit FileIoScope(FileIo* io) { set_file_io(io); }
  ~FileIoScope() { set_file_io(nullptr); }
};

// CrashFileIo plus two things a power cut during a clean needs: (1) a cut at the n-th mutating
// call, after which every mutating call fails with EIO and changes nothing (the machine is off),
// and (2) durability that follows a file across rename (CrashFileIo keys it by path): a file
// synced at its current size stays durable under its new name.
class CuttingFileIo : public test::CrashFileIo {
 public:
  void arm(std::int64_t calls) { calls_left_ = calls; }
  void disarm() { calls_left_ = -1; }
  bool cut() const { return calls_left_ == 0; }

  int open(const char* path, int flags, mode_t mode) override {
    if ((flags & O_CREAT) && !step()) return fail();
    int fd = CrashFileIo::open(path, flags, mode);
    if (fd >= 0) {
      std::lock_guard lock(mutex_);
      paths_[fd] = path;
    }
    return fd;
  }
  int close(int fd) override {
    {
      std::lock_guard lock(mutex_);
      paths_.erase(fd);
    }
    return CrashFileIo::close(fd);
  }
  ssize_t pwrite(int fd, const void* data, std::size_t bytes, off_t position) override {
    return step() ? FileIo::pwrite(fd, data, bytes, position) : fail();
  }
  int fdatasync(int fd) override { return step() ? note_sync(fd, CrashFileIo::fdatasync(fd)) : fail(); }
  int fsync(int fd) override { return step() ? note_sync(fd, CrashFileIo::fsync(fd)) : fail(); }
  int ftruncate(int fd, off_t bytes) override { return step() ? CrashFileIo::ftruncate(fd, bytes) : fail(); }
  int fallocate(int fd, int mode, off_t position, off_t bytes) override {
    return step() ? FileIo::fallocate(fd, mode, position, bytes) : fail();
  }
  int unlink(const char* path) override { return step() ? FileIo::unlink(path) : fail(); }
  int rename(const char* from, const char* to) override {
    if (!step()) return fail();
    int rc = FileIo::rename(from, to);
    if (rc != 0) return rc;
    std::uint64_t synced = 0;
    {
      std::lock_guard lock(mutex_);
      auto it = synced_.find(from);
      if (it == synced_.end()) return 0;
      synced = it->second;
      synced_.erase(it);
    }
    if (std::filesystem::file_size(to) != synced) return 0;
    int fd = CrashFileIo::open(to, O_RDONLY, 0);
    CrashFileIo::fsync(fd);  // records the durable size under the new name
    CrashFileIo::close(fd);
    std::lock_guard lock(mutex_);
    synced_[to] = synced;
    return 0;
  }

 private:
  bool step() {
    std::lock_guard lock(mutex_);
    if (calls_left_ < 0) return true;
    if (calls_left_ == 0) return false;
    --calls_left_;
    return true;
  }
  static int fail() {
    errno = EIO;
    return -1;
  }
  int note_sync(int fd, int rc) {
    if (rc != 0) return rc;
    std::lock_guard lock(mutex_);
    auto it = paths_.find(fd);
    struct stat st;
    if (it != paths_.end() && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
      synced_[it->second] = static_cast<std::uint64_t>(st.st_size);
    return rc;
  }

  std::mutex mutex_;
  std::int64_t calls_left_ = -1;
  std::map<int, std::string> paths_;
  std::map<std::string, std::uint64_t> synced_;
};

TEST(CleanerRandomTest, ConsumersSeeTheLatestValueOfEachKeyThroughCleansAndPowerCuts) {
  std::uint64_t seed = std::random_device{}();
  if (const char* given = std::getenv("SLUICE_SEED")) seed = std::strtoull(given, nullptr, 10);
  std::printf("CleanerRandomTest seed %llu (SLUICE_SEED=%llu replays)\n", (unsigned long long)seed,
              (unsigned long long)seed);
  std::mt19937_64 random(seed);
  test::TempDir dir;
  CuttingFileIo io;
  FileIoScope scope(&io);
  const LogConfig config = small_segments();
  auto log = std::move(Log::open(dir.path(), config, 0, true)).value();

  // Every record appended (offset -> key, value); the model of what a consumer must see is
  // derived from it for the offsets below the log end.
  std::map<std::int64_t, Rec> appended;
  std::int64_t now = 1'000'000, first_dirty = 0;
  std::vector<std::int64_t> recovery_points{0};
  int cleans = 0, swaps = 0, crashes = 0, mid_clean_crashes = 0;

  auto check = [&](const char* when) {
    std::map<std::string, Rec> latest;  // model: the last record of each key below the end
    for (const auto& [offset, rec] : appended)
      if (offset < log->log_end_offset() && rec.key) latest[*rec.key] = rec;
    std::map<std::string, std::optional<std::string>> seen;
    for (const auto& r : records_of(read_log(*log))) {
      auto it = appended.find(r.offset);
      ASSERT_NE(it, appended.end()) << "seed " << seed << " " << when << ": offset " << r.offset << " never appended";
      ASSERT_EQ(r.key, it->second.key) << "seed " << seed << " " << when << ": offset " << r.offset;
      ASSERT_EQ(r.value, it->second.value) << "seed " << seed << " " << when << ": offset " << r.offset;
      seen[*r.key] = r.value;
    }
    for (const auto& [key, rec] : latest) {
      if (rec.value) {
        ASSERT_TRUE(seen.count(key)) << "seed " << seed << " " << when << ": key " << key << " lost";
        ASSERT_EQ(seen[key], rec.value) << "seed " << seed << " " << when << ": key " << key;
      } else if (seen.count(key)) {
        ASSERT_FALSE(seen[key].has_value()) << "seed " << seed << " " << when << ": deleted key " << key << " came back";
      }
    }
  };
  auto crash = [&]() {
    log.reset();
    io.disarm();
    io.crash(dir.path(), random);
    ++crashes;
    auto reopened = Log::open(dir.path(), config, recovery_points[random() % recovery_points.size()], false);
    ASSERT_TRUE(reopened.is_ok()) << "seed " << seed << ": " << reopened.status().message();
    log = std::move(reopened).value();
    appended.erase(appended.lower_bound(log->log_end_offset()), appended.end());
    recovery_points.assign(1, log->recovery_point());
    first_dirty = first_dirty_offset(*log, first_dirty);
  };
  auto run_clean = [&](std::int64_t cut_after) {
    Cleaner cleaner(small_cleaner(), nullptr);
    CleanRequest request = request_for(*log, first_dirty, now);
    request.producer_last_offsets = log->producer_last_offsets();
    if (cut_after >= 0) io.arm(cut_after);
    auto plan = cleaner.prepare(*log, request);
    ++cleans;
    if (plan.is_ok()) {
      auto swapped = log->swap_cleaned(plan.value());
      if (swapped.is_ok() && swapped.value() > 0) first_dirty = plan.value().first_dirty_offset_next, ++swaps;
      if (!io.cut()) {
        ASSERT_TRUE(swapped.is_ok()) << "seed " << seed << ": " << swapped.status().message();
      }
    } else if (!io.cut()) {
      FAIL() << "seed " << seed << ": " << plan.status().message();
    }
    if (io.cut()) {
      ++mid_clean_crashes;
      plan = Status::error("dropped");  // the process is gone: nothing more runs
      crash();
    }
    io.disarm();
  };

  // At least 400 steps, and more (bounded) until enough power cuts landed inside a clean.
  for (int step = 0; step < 400 || (mid_clean_crashes < 4 && step < 4000); ++step) {
    const int choice = static_cast<int>(random() % 100);
    now += static_cast<std::int64_t>(random() % 500);
    if (choice < 60) {
      std::vector<Rec> records(1 + random() % 4);
      for (auto& r : records) {
        r.key = "key" + std::to_string(random() % 12);
        if (random() % 8 == 0) r.value = std::nullopt;
        else r.value = std::to_string(step) + std::string(random() % 200, 'v');
      }
      const int codec = static_cast<int>(random() % 5);
      auto batch = keyed_batch(codec, records, now);
      auto result = log->append(batch, 0, now);
      ASSERT_TRUE(result.is_ok()) << "seed " << seed;
      for (std::size_t i = 0; i < records.size(); ++i) appended[result.value().base_offset + std::int64_t(i)] = records[i];
      log->set_high_watermark(log->log_end_offset());
    } else if (choice < 72) {
      ASSERT_TRUE(log->flush().is_ok());
      recovery_points.push_back(log->recovery_point());
    } else if (choice < 84) {
      run_clean(-1);
    } else if (choice < 92) {
      // A power cut somewhere inside a clean (prepare or swap): after 0..80 mutating calls.
      ASSERT_TRUE(log->flush().is_ok());
      run_clean(static_cast<std::int64_t>(random() % 80));
    } else if (choice < 96) {
      crash();
    } else {
      check("step");
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
  check("end");
  // Finally everything is flushed and cleaned twice past every horizon: no tombstone is left in
  // the cleaned range.
  for (int i = 0; i < 3; ++i) {
    auto batch = keyed_batch(0, {{"final", std::string(1500, 'f')}}, now);
    ASSERT_TRUE(log->append(batch, 0, now).is_ok());
    appended[log->log_end_offset() - 1] = {"final", std::string(1500, 'f')};
  }
  log->set_high_watermark(log->log_end_offset());
  ASSERT_TRUE(log->flush().is_ok());
  now += 1'000'000;
  run_clean(-1);
  now += 1'000'000;
  first_dirty = 0;
  run_clean(-1);
  check("final");
  const std::int64_t cleaned_end = first_dirty;
  for (const auto& r : records_of(read_log(*log)))
    if (r.offset < cleaned_end) {
      EXPECT_TRUE(r.value.has_value()) << "seed " << seed << ": tombstone at " << r.offset;
    }
  std::printf("CleanerRandomTest: %d cleans (%d swapped), %d crashes (%d inside a clean), %zu records appended\n",
              cleans, swaps, crashes, mid_clean_crashes, appended.size());
  EXPECT_GT(swaps, 5);
  EXPECT_GT(mid_clean_crashes, 3);
}

}  // namespace
}  // namespace sluice::storage
