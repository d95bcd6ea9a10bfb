// Goal: the idempotent-producer table answers as Kafka's ProducerStateManager does (in-order
// sequences, duplicates of the last 5 batches with their original offset, gaps, epoch bumps,
// stale epochs, sequence wrap, expiry after producer.id.expiration.ms), stays within its bound by
// evicting the least recently updated producer, and a Log rebuilds the same table from its batch
// headers after a clean or unclean reopen. Method: headers built field by field for the table, a
// randomized run against a simple model; real batches appended through check/append/update (as
// the produce path does) for the log.
#include "storage/producer_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "base/endian.h"
#include "batch_builder.h"
#include "storage/log.h"
#include "storage/segment.h"
#include "test_dir.h"

namespace sluice::storage {
namespace {

constexpr std::int64_t producer = 7;

RecordBatchHeader header_of(std::int16_t epoch, std::int32_t sequence, std::int32_t count,
                            std::int64_t producer_id = producer) {
  RecordBatchHeader header;
  header.producer_id = producer_id;
  header.producer_epoch = epoch;
  header.base_sequence = sequence;
  header.record_count = count;
  header.last_offset_delta = count - 1;
  return header;
}

// What the produce path does: check, then (not a duplicate, no error) assign offsets and update.
// Returns the check; *base_offset is the answered offset.
ProducerCheck produce(ProducerStateTable& table, std::int64_t* next_offset, RecordBatchHeader header,
                      std::int64_t* base_offset = nullptr) {
  ProducerCheck check = table.check(header);
  if (check.error != ErrorCode::none) return check;
  if (check.duplicate_base_offset) {
    if (base_offset) *base_offset = *check.duplicate_base_offset;
    return check;
  }
  header.base_offset = *next_offset;
  *next_offset += header.record_count;
  table.update(header);
  if (base_offset) *base_offset = header.base_offset;
  return check;
}

TEST(ProducerStateTest, InOrderSequencesAreAccepted) {
  ProducerStateTable table;
  std::int64_t next = 0, base = -1;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(produce(table, &next, header_of(0, i * 3, 3), &base).error, ErrorCode::none);
    EXPECT_EQ(base, i * 3);
  }
  EXPECT_EQ(table.find(producer)->batches.size(), producer_batches_max);
}

TEST(ProducerStateTest, DuplicatesOfTheLastFiveAnswerTheOriginalOffset) {
  ProducerStateTable table;
  std::int64_t next = 100;  // offsets differ from sequences
  for (int i = 0; i < 6; ++i) ASSERT_EQ(produce(table, &next, header_of(0, i * 2, 2)).error, ErrorCode::none);
  for (int i = 1; i < 6; ++i) {
    std::int64_t base = -1;
    ProducerCheck check = produce(table, &next, header_of(0, i * 2, 2), &base);
    EXPECT_EQ(check.error, ErrorCode::none);
    ASSERT_TRUE(check.duplicate_base_offset.has_value()) << i;
    EXPECT_EQ(base, 100 + i * 2);
  }
  EXPECT_EQ(next, 112) << "a duplicate was appended";
  // The 6th-oldest batch is no longer cached: it is out of order.
  ProducerCheck oldest = table.check(header_of(0, 0, 2));
  EXPECT_EQ(oldest.error, ErrorCode::out_of_order_sequence_number);
  EXPECT_FALSE(oldest.duplicate_base_offset.has_value());
  // A batch overlapping a cached one with another range is not a duplicate.
  EXPECT_EQ(table.check(header_of(0, 10, 1)).error, ErrorCode::out_of_order_sequence_number);
}

TEST(ProducerStateTest, GapsAreOutOfOrder) {
  ProducerStateTable table;
  std::int64_t next = 0;
  ASSERT_EQ(produce(table, &next, header_of(0, 0, 3)).error, ErrorCode::none);
  EXPECT_EQ(table.check(header_of(0, 4, 1)).error, ErrorCode::out_of_order_sequence_number);
  EXPECT_EQ(table.check(header_of(0, 20, 1)).error, ErrorCode::out_of_order_sequence_number);
  EXPECT_EQ(table.check(header_of(0, 2, 2)).error, ErrorCode::out_of_order_sequence_number);
  EXPECT_EQ(table.check(header_of(0, 3, 1)).error, ErrorCode::none);
}

TEST(ProducerStateTest, UnknownProducerAcceptsAnySequence) {
  // Kafka accepts any sequence when the partition has no epoch for the producer (KIP-360).
  ProducerStateTable table;
  std::int64_t next = 0;
  EXPECT_EQ(produce(table, &next, header_of(0, 42, 2)).error, ErrorCode::none);
  EXPECT_EQ(table.check(header_of(0, 44, 1)).error, ErrorCode::none);
  EXPECT_EQ(table.check(header_of(0, 45, 1)).error, ErrorCode::out_of_order_sequence_number);
  // Batches without a producer id are never checked.
  EXPECT_EQ(table.check(header_of(-1, -1, 5, -1)).error, ErrorCode::none);
  EXPECT_EQ(table.producer_count(), 1u);
}

TEST(ProducerStateTest, EpochBumpResetsSequences) {
  ProducerStateTable table;
  std::int64_t next = 0;
  for (int i = 0; i < 3; ++i) ASSERT_EQ(produce(table, &next, header_of(0, i, 1)).error, ErrorCode::none);
  // A new epoch must start at 0.
  EXPECT_EQ(table.check(header_of(1, 3, 1)).error, ErrorCode::out_of_order_sequence_number);
  EXPECT_EQ(table.check(header_of(1, 5, 1)).error, ErrorCode::out_of_order_sequence_number);
  ASSERT_EQ(produce(table, &next, header_of(1, 0, 1)).error, ErrorCode::none);
  EXPECT_EQ(table.find(producer)->epoch, 1);
  EXPECT_EQ(table.find(producer)->batches.size(), 1u);
  EXPECT_EQ(table.check(header_of(1, 1, 1)).error, ErrorCode::none);
  // The old epoch's batches are forgotten: a retry of one is a stale epoch, not a duplicate.
  ProducerCheck stale = table.check(header_of(0, 2, 1));
  EXPECT_EQ(stale.error, ErrorCode::invalid_producer_epoch);
  EXPECT_FALSE(stale.duplicate_base_offset.has_value());
}

TEST(ProducerStateTest, StaleEpochIsRefused) {
  ProducerStateTable table;
  std::int64_t next = 0;
  ASSERT_EQ(produce(table, &next, header_of(5, 0, 1)).error, ErrorCode::none);
  EXPECT_EQ(table.check(header_of(4, 1, 1)).error, ErrorCode::invalid_producer_epoch);
  EXPECT_EQ(table.check(header_of(4, 0, 1)).error, ErrorCode::invalid_producer_epoch);
  EXPECT_EQ(table.check(header_of(5, 1, 1)).error, ErrorCode::none);
}

TEST(ProducerStateTest, SequencesWrapAtInt32Max) {
  EXPECT_EQ(increment_sequence(INT32_MAX, 0), INT32_MAX);
  EXPECT_EQ(increment_sequence(INT32_MAX, 1), 0);
  EXPECT_EQ(increment_sequence(INT32_MAX - 1, 3), 1);
  ProducerStateTable table;
  std::int64_t next = 0;
  // Unknown producer: may start anywhere. This batch covers MAX-1, MAX, 0.
  ASSERT_EQ(produce(table, &next, header_of(0, INT32_MAX - 1, 3)).error, ErrorCode::none);
  EXPECT_EQ(table.find(producer)->batches.back().last_sequence, 0);
  EXPECT_EQ(table.check(header_of(0, 0, 1)).error, ErrorCode::out_of_order_sequence_number);
  ASSERT_EQ(produce(table, &next, header_of(0, 1, 1)).error, ErrorCode::none);
  // The wrapped batch is still recognized as a duplicate.
  std::int64_t base = -1;
  EXPECT_TRUE(produce(table, &next, header_of(0, INT32_MAX - 1, 3), &base).duplicate_base_offset.has_value());
  EXPECT_EQ(base, 0);
  // Ending exactly at INT32_MAX: the next batch starts at 0.
  ProducerStateTable other;
  std::int64_t other_next = 0;
  ASSERT_EQ(produce(other, &other_next, header_of(0, INT32_MAX - 1, 2)).error, ErrorCode::none);
  EXPECT_EQ(other.check(header_of(0, 0, 1)).error, ErrorCode::none);
}

// ---------------------------------------------------------------- rebuild from the log

std::vector<std::byte> idempotent_batch(std::int64_t producer_id, std::int16_t epoch, std::int32_t sequence, int count,
                                        std::int64_t base_timestamp = 1000) {
  test::BatchSpec spec;
  spec.record_count = count;
  spec.base_timestamp = base_timestamp;
  spec.producer_id = producer_id;
  auto batch = test::build_batch(spec);
  store_be16(batch.data() + 51, static_cast<std::uint16_t>(epoch));
  store_be32(batch.data() + 53, static_cast<std::uint32_t>(sequence));
  test::fix_crc(batch);
  return batch;
}

struct Answer {
  ErrorCode error;
  std::int64_t base_offset;
  friend bool operator==(const Answer&, const Answer&) = default;
  friend std::ostream& operator<<(std::ostream& out, const Answer& a) {
    return out << "{" << static_cast<int>(a.error) << ", " << a.base_offset << "}";
  }
};

// The produce path (append_one) against a Log.
Answer produce_to_log(Log& log, std::int64_t producer_id, std::int16_t epoch, std::int32_t sequence, int count,
                      std::int64_t base_timestamp = 1000) {
  auto batch = idempotent_batch(producer_id, epoch, sequence, count, base_timestamp);
  EXPECT_EQ(validate_record_batches(batch, BatchLimits{1 << 30}, nullptr), ErrorCode::none);
  ProducerCheck check = log.producer_state().check(parse_record_batch_header(batch.data()));
  if (check.error != ErrorCode::none) return {check.error, -1};
  if (check.duplicate_base_offset) return {ErrorCode::none, *check.duplicate_base_offset};
  auto info = log.append(batch, 0, 0);
  EXPECT_TRUE(info.is_ok());
  log.producer_state().update(parse_record_batch_header(batch.data()));
  return {ErrorCode::none, info.value().base_offset};
}

// A set of probes whose answers depend on the whole state: duplicates of each cached batch, the
// next sequence, a gap, a stale epoch, per producer. Checks only (nothing is appended).
std::vector<Answer> probe(Log& log) {
  std::vector<Answer> out;
  auto ask = [&](std::int64_t id, std::int16_t epoch, std::int32_t sequence, int count) {
    auto batch = idempotent_batch(id, epoch, sequence, count);
    ProducerCheck check = log.producer_state().check(parse_record_batch_header(batch.data()));
    out.push_back({check.error, check.duplicate_base_offset.value_or(-1)});
  };
  for (int i = 0; i < 8; ++i) ask(1, 0, i * 2, 2);
  ask(1, 0, 16, 1);
  for (int i = 0; i < 3; ++i) ask(2, 3, i, 1);
  ask(2, 2, 3, 1);
  ask(2, 3, 3, 1);
  ask(2, 3, 9, 1);
  return out;
}

void fill(Log& log) {
  // Producer 1 writes 8 batches (epoch 0); producer 2 bumps from epoch 2 to 3, interleaved with
  // batches without a producer id.
  for (int i = 0; i < 8; ++i) ASSERT_EQ(produce_to_log(log, 1, 0, i * 2, 2).error, ErrorCode::none);
  ASSERT_EQ(produce_to_log(log, 2, 2, 0, 1).error, ErrorCode::none);
  ASSERT_EQ(produce_to_log(log, -1, -1, -1, 4).error, ErrorCode::none);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(produce_to_log(log, 2, 3, i, 1).error, ErrorCode::none);
}

LogConfig small_segments() {
  LogConfig config;
  config.segment_bytes = 300;  // several segments, so the rebuild crosses them
  return config;
}

std::filesystem::path snapshot_path(const std::filesystem::path& dir, std::int64_t offset) {
  char name[40];
  std::snprintf(name, sizeof name, "%020lld.snapshot", static_cast<long long>(offset));
  return dir / name;
}

// Fills a log, checks the probes, and closes it cleanly (snapshot at 24) or not.
std::vector<Answer> fill_and_stop(const std::filesystem::path& dir, bool clean) {
  auto log = Log::open(dir, small_segments(), 0, true);
  EXPECT_TRUE(log.is_ok());
  fill(*log.value());
  auto answers = probe(*log.value());
  EXPECT_GT(log.value()->segments()->segments.size(), 2u);
  if (clean) {
    EXPECT_TRUE(log.value()->close(true).is_ok());
  }
  // Sanity: the probes see duplicates with offsets and errors.
  EXPECT_EQ(answers[3], (Answer{ErrorCode::none, 6}));
  EXPECT_EQ(answers[0].error, ErrorCode::out_of_order_sequence_number);
  EXPECT_EQ(answers[8], (Answer{ErrorCode::none, -1}));
  EXPECT_EQ(answers[11], (Answer{ErrorCode::none, 23}));
  EXPECT_EQ(answers[12].error, ErrorCode::invalid_producer_epoch);
  EXPECT_EQ(answers[14].error, ErrorCode::out_of_order_sequence_number);
  return answers;
}

// What Kafka answers after loading a snapshot: it keeps each producer's last batch only, so
// retries of the older cached batches become out of order.
std::vector<Answer> after_snapshot(std::vector<Answer> answers) {
  for (std::size_t i : {3, 4, 5, 6, 9, 10}) answers[i] = {ErrorCode::out_of_order_sequence_number, -1};
  return answers;
}

TEST(ProducerStateLogTest, CleanCloseWritesSnapshotThatReopenLoads) {
  test::TempDir dir;
  auto before = fill_and_stop(dir.path(), true);
  ASSERT_TRUE(std::filesystem::exists(snapshot_path(dir.path(), 24)));
  auto log = Log::open(dir.path(), small_segments(), 0, true);
  ASSERT_TRUE(log.is_ok());
  EXPECT_EQ(probe(*log.value()), after_snapshot(before));
  // Appends continue from the loaded state.
  EXPECT_EQ(produce_to_log(*log.value(), 1, 0, 14, 2), (Answer{ErrorCode::none, 14}));
  EXPECT_EQ(produce_to_log(*log.value(), 1, 0, 16, 1), (Answer{ErrorCode::none, 24}));
  // The next clean close replaces the snapshot.
  ASSERT_TRUE(log.value()->close(true).is_ok());
  EXPECT_TRUE(std::filesystem::exists(snapshot_path(dir.path(), 25)));
  EXPECT_FALSE(std::filesystem::exists(snapshot_path(dir.path(), 24)));
}

TEST(ProducerStateLogTest, RebuiltFromAllHeadersWithoutSnapshot) {
  test::TempDir dir;
  auto before = fill_and_stop(dir.path(), true);
  std::filesystem::remove(snapshot_path(dir.path(), 24));
  auto log = Log::open(dir.path(), small_segments(), 0, true);
  ASSERT_TRUE(log.is_ok());
  EXPECT_EQ(probe(*log.value()), before);
}

TEST(ProducerStateLogTest, CorruptSnapshotFallsBackToScanning) {
  test::TempDir dir;
  auto before = fill_and_stop(dir.path(), true);
  auto path = snapshot_path(dir.path(), 24);
  std::string bytes = test::read_file(path);
  ASSERT_FALSE(bytes.empty());
  bytes.back() ^= 1;
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  auto log = Log::open(dir.path(), small_segments(), 0, true);
  ASSERT_TRUE(log.is_ok());
  EXPECT_EQ(probe(*log.value()), before);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(ProducerStateLogTest, RebuiltAfterUncleanReopenWithoutTheTornBatch) {
  test::TempDir dir;
  std::vector<Answer> before;
  std::filesystem::path last_segment;
  {
    auto log = Log::open(dir.path(), small_segments(), 0, true);
    ASSERT_TRUE(log.is_ok());
    fill(*log.value());
    before = probe(*log.value());
    // One more batch of producer 1, then torn: recovery cuts it off, so its sequence is free again.
    ASSERT_EQ(produce_to_log(*log.value(), 1, 0, 16, 1).error, ErrorCode::none);
    last_segment = log.value()->segments()->segments.back()->file()->path();
    ASSERT_TRUE(log.value()->flush().is_ok());
  }  // no close: an unclean stop
  // Every roll wrote a snapshot (Kafka's habit); drop them so the state comes from the headers
  // alone, which is what this test is about.
  std::size_t snapshots = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    if (entry.path().extension() == ".snapshot") snapshots += std::filesystem::remove(entry.path()) ? 1 : 0;
  EXPECT_GT(snapshots, 0u);
  auto size = std::filesystem::file_size(last_segment);
  std::filesystem::resize_file(last_segment, size - 5);
  auto log = Log::open(dir.path(), small_segments(), 0, false);
  ASSERT_TRUE(log.is_ok());
  EXPECT_EQ(log.value()->log_end_offset(), 24);
  EXPECT_EQ(probe(*log.value()), before);
}

TEST(ProducerStateLogTest, UncleanReopenLoadsSnapshotAndScansAfterIt) {
  test::TempDir dir;
  auto before = fill_and_stop(dir.path(), true);
  std::filesystem::path last_segment;
  {
    auto log = Log::open(dir.path(), small_segments(), 24, true);
    ASSERT_TRUE(log.is_ok());
    ASSERT_EQ(produce_to_log(*log.value(), 1, 0, 16, 1), (Answer{ErrorCode::none, 24}));
    ASSERT_EQ(produce_to_log(*log.value(), 2, 3, 3, 1), (Answer{ErrorCode::none, 25}));
    last_segment = log.value()->segments()->segments.back()->file()->path();
    ASSERT_TRUE(log.value()->flush().is_ok());
  }  // crash; the last batch (producer 2, sequence 3) is torn
  std::filesystem::resize_file(last_segment, std::filesystem::file_size(last_segment) - 5);
  auto log = Log::open(dir.path(), small_segments(), 24, false);
  ASSERT_TRUE(log.is_ok());
  EXPECT_EQ(log.value()->log_end_offset(), 25);
  auto after = probe(*log.value());
  auto expected = after_snapshot(before);
  expected[8] = {ErrorCode::none, 24};                          // found by the scan after the snapshot
  EXPECT_EQ(after, expected);
}

TEST(ProducerStateLogTest, SnapshotPastTheRecoveredEndIsDropped) {
  test::TempDir dir;
  auto before = fill_and_stop(dir.path(), true);
  // A torn tail below the snapshot's offset: recovery cuts producer 2's last batch (offset 23).
  auto segments_dir = dir.path();
  std::filesystem::path last;
  for (const auto& entry : std::filesystem::directory_iterator(segments_dir))
    if (entry.path().extension() == ".log" && (last.empty() || entry.path() > last)) last = entry.path();
  std::filesystem::resize_file(last, std::filesystem::file_size(last) - 5);
  auto log = Log::open(dir.path(), small_segments(), 0, true);
  ASSERT_TRUE(log.is_ok());
  ASSERT_EQ(log.value()->log_end_offset(), 23);
  EXPECT_FALSE(std::filesystem::exists(snapshot_path(dir.path(), 24)));
  auto expected = before;
  expected[11] = {ErrorCode::none, -1};  // sequence 2 of epoch 3 is next again, not a duplicate
  expected[13] = {ErrorCode::out_of_order_sequence_number, -1};
  EXPECT_EQ(probe(*log.value()), expected);
}

TEST(ProducerStateTest, SnapshotIsKafkasFormat) {
  ProducerStateTable table;
  RecordBatchHeader header = header_of(3, 10, 4);
  header.base_offset = 100;
  header.max_timestamp = 5000;
  table.update(header);
  std::string bytes = table.encode_snapshot();
  ASSERT_EQ(bytes.size(), 2u + 4 + 4 + 46);
  EXPECT_EQ(load_be16(bytes.data()), 1);                        // version
  EXPECT_EQ(load_be32(bytes.data() + 6), 1u);                   // entry count
  EXPECT_EQ(load_be64(bytes.data() + 10), 7u);                  // producer id
  EXPECT_EQ(load_be16(bytes.data() + 18), 3);                   // epoch
  EXPECT_EQ(load_be32(bytes.data() + 20), 13u);                 // last sequence
  EXPECT_EQ(load_be64(bytes.data() + 24), 103u);                // last offset
  EXPECT_EQ(load_be32(bytes.data() + 32), 3u);                  // offset delta
  EXPECT_EQ(load_be64(bytes.data() + 36), 5000u);               // timestamp
  EXPECT_EQ(load_be32(bytes.data() + 44), 0xffffffffu);         // coordinator epoch
  EXPECT_EQ(load_be64(bytes.data() + 48), ~std::uint64_t{0});   // current txn first offset
  EXPECT_EQ(load_be32(bytes.data() + 2), crc32c(bytes.data() + 6, bytes.size() - 6));
  ProducerStateTable loaded;
  ASSERT_TRUE(loaded.load_snapshot(bytes));
  ASSERT_NE(loaded.find(7), nullptr);
  EXPECT_EQ(loaded.find(7)->epoch, 3);
  ASSERT_EQ(loaded.find(7)->batches.size(), 1u);
  EXPECT_EQ(loaded.check(header).duplicate_base_offset, std::optional<std::int64_t>(100));
  EXPECT_EQ(loaded.check(header_of(3, 14, 1)).error, ErrorCode::none);
  bytes[20] ^= 1;
  EXPECT_FALSE(loaded.load_snapshot(bytes));
  EXPECT_EQ(loaded.producer_count(), 0u);
  EXPECT_FALSE(loaded.load_snapshot(bytes.substr(0, 5)));
}

TEST(ProducerStateTest, SnapshotKeepsAWrappedLastBatch) {
  ProducerStateTable table;
  RecordBatchHeader header = header_of(0, INT32_MAX - 1, 4);  // MAX-1, MAX, 0, 1
  header.base_offset = 10;
  table.update(header);
  ProducerStateTable loaded;
  ASSERT_TRUE(loaded.load_snapshot(table.encode_snapshot()));
  EXPECT_EQ(loaded.check(header).duplicate_base_offset, std::optional<std::int64_t>(10));
  EXPECT_EQ(loaded.check(header_of(0, 2, 1)).error, ErrorCode::none);
}

// ---------------------------------------------------------------- expiry and the bound

RecordBatchHeader stamped(RecordBatchHeader header, std::int64_t max_timestamp) {
  header.max_timestamp = max_timestamp;
  return header;
}

TEST(ProducerStateTest, ExpiryRemovesOnlyProducersIdleForTheExpiration) {
  // Goal: expire() applies Kafka's isProducerExpired (now - lastTimestamp >= expiration, where
  // lastTimestamp is the max timestamp of the producer's last batch) and leaves the others as
  // they were. Method: four producers with known batch timestamps, one refreshed by a later
  // batch and one exactly at the limit; expire at a chosen now and probe what is left.
  ProducerStateTable table;
  std::int64_t next = 0;
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 0, 1, 1), 1000)).error, ErrorCode::none);
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 0, 1, 2), 5000)).error, ErrorCode::none);
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 0, 1, 3), 5001)).error, ErrorCode::none);
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 0, 1, 4), 500)).error, ErrorCode::none);
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 1, 1, 4), 9000)).error, ErrorCode::none);
  EXPECT_EQ(table.find(4)->last_timestamp, 9000);
  // Producer 1 is 8000 ms idle, producer 2 exactly 4000 (>= expires); 3 is 3999 ms idle.
  EXPECT_EQ(table.expire(9000, 4000), 2u);
  EXPECT_EQ(table.producer_count(), 2u);
  EXPECT_EQ(table.find(1), nullptr);
  EXPECT_EQ(table.find(2), nullptr);
  // The kept producers answer as before: duplicates with their offsets, gaps refused.
  EXPECT_EQ(table.check(header_of(0, 0, 1, 3)).duplicate_base_offset, std::optional<std::int64_t>(2));
  EXPECT_EQ(table.check(header_of(0, 1, 1, 4)).duplicate_base_offset, std::optional<std::int64_t>(4));
  EXPECT_EQ(table.check(header_of(0, 3, 1, 4)).error, ErrorCode::out_of_order_sequence_number);
  // An expired producer is unknown again: its retry is not a duplicate, and any sequence passes.
  ProducerCheck retry = table.check(header_of(0, 0, 1, 1));
  EXPECT_EQ(retry.error, ErrorCode::none);
  EXPECT_FALSE(retry.duplicate_base_offset.has_value());
  EXPECT_EQ(table.check(header_of(0, 17, 1, 2)).error, ErrorCode::none);
  // Nothing more is due at the same now; with the default day, producer 3 goes a day after 5001.
  EXPECT_EQ(table.expire(9000, 4000), 0u);
  EXPECT_EQ(table.expire(5000 + producer_expiration_ms_default, producer_expiration_ms_default), 0u);
  EXPECT_EQ(table.expire(5001 + producer_expiration_ms_default, producer_expiration_ms_default), 1u);
  EXPECT_EQ(table.find(3), nullptr);
  EXPECT_NE(table.find(4), nullptr);
  EXPECT_EQ(table.eviction_count(), 0u) << "expiry is not eviction";
}

TEST(ProducerStateTest, SnapshotKeepsTimestampsSoExpiryWorksAfterReload) {
  // Goal: the snapshot's per-entry timestamp is the entry's last timestamp, so a reloaded table
  // expires the same producers the original would. Method: producers with distinct timestamps
  // (one whose older batches had later timestamps than its last one), round trip, compare.
  ProducerStateTable table;
  for (std::int64_t id = 1; id <= 4; ++id) {
    RecordBatchHeader header = stamped(header_of(0, 0, 2, id), id * 1000);
    header.base_offset = id * 10;
    table.update(header);
  }
  RecordBatchHeader later = stamped(header_of(0, 2, 1, 4), 3500);  // producer 4 goes back in time
  later.base_offset = 50;
  table.update(later);
  ProducerStateTable loaded;
  ASSERT_TRUE(loaded.load_snapshot(table.encode_snapshot()));
  ASSERT_EQ(loaded.producer_count(), 4u);
  for (std::int64_t id = 1; id <= 3; ++id) EXPECT_EQ(loaded.find(id)->last_timestamp, id * 1000) << id;
  EXPECT_EQ(loaded.find(4)->last_timestamp, 3500);
  EXPECT_EQ(loaded.find(4)->batches.back().max_timestamp, 3500);
  // Cutoff 2000: producers 1 and 2 expire in both tables, and the rest is the same.
  EXPECT_EQ(loaded.expire(6000, 4000), 2u);
  EXPECT_EQ(table.expire(6000, 4000), 2u);
  EXPECT_EQ(loaded.encode_snapshot(), table.encode_snapshot());
  EXPECT_EQ(loaded.check(header_of(0, 2, 1, 4)).duplicate_base_offset, std::optional<std::int64_t>(50));
  // Cutoff 3500: producer 3 (3000) and producer 4 (its last batch, 3500) expire.
  EXPECT_EQ(loaded.expire(7500, 4000), 2u);
  EXPECT_EQ(loaded.producer_count(), 0u);
}

TEST(ProducerStateLogTest, ReopenKeepsTimestampsForExpiry) {
  // Goal: after a clean reopen (snapshot) and after a rebuild from the log's batch headers, each
  // producer's last timestamp is its last batch's max timestamp, so expiry removes the same
  // producers. Method: two producers, the first refreshed by a later batch; reopen both ways.
  for (bool keep_snapshot : {true, false}) {
    SCOPED_TRACE(keep_snapshot ? "snapshot" : "scan");
    test::TempDir dir;
    {
      auto log = Log::open(dir.path(), small_segments(), 0, true);
      ASSERT_TRUE(log.is_ok());
      ASSERT_EQ(produce_to_log(*log.value(), 1, 0, 0, 1, 1000).error, ErrorCode::none);
      ASSERT_EQ(produce_to_log(*log.value(), 2, 0, 0, 1, 5000).error, ErrorCode::none);
      ASSERT_EQ(produce_to_log(*log.value(), 1, 0, 1, 2, 2000).error, ErrorCode::none);  // max 2001
      ASSERT_TRUE(log.value()->close(true).is_ok());
    }
    ASSERT_TRUE(std::filesystem::exists(snapshot_path(dir.path(), 4)));
    if (!keep_snapshot) std::filesystem::remove(snapshot_path(dir.path(), 4));
    auto log = Log::open(dir.path(), small_segments(), 0, true);
    ASSERT_TRUE(log.is_ok());
    ProducerStateTable& table = log.value()->producer_state();
    ASSERT_EQ(table.producer_count(), 2u);
    EXPECT_EQ(table.find(1)->last_timestamp, 2001);
    EXPECT_EQ(table.find(2)->last_timestamp, 5000);
    EXPECT_EQ(table.expire(6001, 4000), 1u);
    EXPECT_EQ(table.find(1), nullptr);
    EXPECT_EQ(produce_to_log(*log.value(), 2, 0, 0, 1, 5000), (Answer{ErrorCode::none, 1}));  // still a duplicate
  }
}

TEST(ProducerStateTest, BoundEvictsTheLeastRecentlyUpdatedProducer) {
  // Goal: at the bound, a new producer evicts the producer whose last update() is oldest, not
  // the one with the oldest timestamp, so a client's future timestamps cannot pin its entry.
  // Method: a table of 3; producer 2 sends a far-future timestamp, producer 1 is updated again
  // (with an old timestamp); new producers 4 and 5 then evict 2, and (after 3 is touched) 1.
  ProducerStateTable table(3);
  EXPECT_EQ(table.producers_max(), 3u);
  std::int64_t next = 0;
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 0, 1, 1), 1000)).error, ErrorCode::none);
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 0, 1, 2), INT64_MAX / 2)).error, ErrorCode::none);
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 0, 1, 3), 1000)).error, ErrorCode::none);
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 1, 1, 1), 10)).error, ErrorCode::none);
  EXPECT_EQ(table.eviction_count(), 0u) << "updating a known producer at the bound evicts nothing";
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 0, 1, 4), 1000)).error, ErrorCode::none);  // order 2 3 1
  EXPECT_EQ(table.producer_count(), 3u);
  EXPECT_EQ(table.eviction_count(), 1u);
  EXPECT_EQ(table.find(2), nullptr);
  EXPECT_NE(table.find(1), nullptr);
  EXPECT_NE(table.find(3), nullptr);
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 1, 1, 3), 1000)).error, ErrorCode::none);  // order 1 4 3
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 0, 1, 5), 1000)).error, ErrorCode::none);
  EXPECT_EQ(table.eviction_count(), 2u);
  EXPECT_EQ(table.find(1), nullptr);
  EXPECT_NE(table.find(3), nullptr);
  EXPECT_NE(table.find(4), nullptr);
  EXPECT_NE(table.find(5), nullptr);
  // A duplicate answered by check() is not an update: it does not refresh producer 4.
  EXPECT_TRUE(table.check(header_of(0, 0, 1, 4)).duplicate_base_offset.has_value());
  ASSERT_EQ(produce(table, &next, stamped(header_of(0, 0, 1, 6), 1000)).error, ErrorCode::none);
  EXPECT_EQ(table.find(4), nullptr);
  EXPECT_EQ(table.eviction_count(), 3u);
}

TEST(ProducerStateTest, EvictedProducersRetryIsAppendedAgain) {
  // Goal: pin down what a retry from an evicted producer gets. Kafka 2.5+ (KIP-360) keeps no
  // UNKNOWN_PRODUCER_ID answer: ProducerAppendInfo.checkSequence accepts any sequence when the
  // partition has no epoch for the producer, and we mirror it. So the retry of a batch written
  // before the eviction is accepted as new data and appended a second time at a new offset, as
  // after Kafka's expiry. Method: a table of 1; producer 1 writes, producer 2 evicts it, then
  // producer 1 retries its batch.
  ProducerStateTable table(1);
  std::int64_t next = 0, base = -1;
  ASSERT_EQ(produce(table, &next, header_of(0, 0, 3, 1), &base).error, ErrorCode::none);
  EXPECT_EQ(base, 0);
  EXPECT_TRUE(table.check(header_of(0, 0, 3, 1)).duplicate_base_offset.has_value());
  ASSERT_EQ(produce(table, &next, header_of(0, 0, 1, 2)).error, ErrorCode::none);
  EXPECT_EQ(table.eviction_count(), 1u);
  EXPECT_EQ(table.find(1), nullptr);
  // Unknown again: any epoch and sequence pass the check.
  EXPECT_EQ(table.check(header_of(0, 3, 1, 1)).error, ErrorCode::none);
  EXPECT_EQ(table.check(header_of(0, 99, 1, 1)).error, ErrorCode::none);
  EXPECT_EQ(table.check(header_of(3, 7, 1, 1)).error, ErrorCode::none);
  ProducerCheck retry = produce(table, &next, header_of(0, 0, 3, 1), &base);
  EXPECT_EQ(retry.error, ErrorCode::none);
  EXPECT_FALSE(retry.duplicate_base_offset.has_value());
  EXPECT_EQ(base, 4) << "appended again after producer 2's batch at offset 3";
  EXPECT_EQ(next, 7);
  EXPECT_EQ(table.eviction_count(), 2u);  // producer 1's return evicted producer 2
  // From here producer 1 is tracked again: its retry is now a duplicate of the second copy.
  EXPECT_EQ(table.check(header_of(0, 0, 3, 1)).duplicate_base_offset, std::optional<std::int64_t>(4));
}

TEST(ProducerStateTest, LoweredBoundAndSnapshotLoadEvict) {
  // Goal: set_producers_max() evicts down to the new bound in update order, and a snapshot with
  // more producers than the bound keeps the most recent timestamps (the file has no update
  // order). Method: five producers updated in order with decreasing timestamps.
  ProducerStateTable table;
  EXPECT_EQ(table.producers_max(), producers_max_default);
  for (std::int64_t id = 1; id <= 5; ++id) table.update(stamped(header_of(0, 0, 1, id), (10 - id) * 100));
  table.set_producers_max(3);
  EXPECT_EQ(table.producer_count(), 3u);
  EXPECT_EQ(table.eviction_count(), 2u);
  EXPECT_EQ(table.find(1), nullptr);
  EXPECT_EQ(table.find(2), nullptr);
  ProducerStateTable small(2);  // producers 3, 4, 5 have timestamps 700, 600, 500
  ASSERT_TRUE(small.load_snapshot(table.encode_snapshot()));
  EXPECT_EQ(small.producer_count(), 2u);
  EXPECT_EQ(small.eviction_count(), 1u);
  EXPECT_EQ(small.find(5), nullptr);
  // The loaded order is by timestamp: 4 (600) before 3 (700), so a new producer evicts 4.
  small.update(stamped(header_of(0, 0, 1, 6), 0));
  EXPECT_EQ(small.find(4), nullptr);
  EXPECT_NE(small.find(3), nullptr);
  // Raising the bound evicts nothing; clear() keeps the counter.
  small.set_producers_max(100);
  small.clear();
  EXPECT_EQ(small.producer_count(), 0u);
  EXPECT_EQ(small.eviction_count(), 2u);
  small.update(stamped(header_of(0, 0, 1, 1), 0));
  EXPECT_EQ(small.producer_count(), 1u);
}

// A model of the table: Kafka's rules written as plainly as possible, with the recency order kept
// as an update counter and eviction as a scan for its minimum.
struct ModelBatch {
  std::int32_t first_sequence;
  std::int32_t last_sequence;
  std::int64_t first_offset;
};

struct ModelProducer {
  std::int16_t epoch;
  std::vector<ModelBatch> batches;  // last 5, oldest first
  std::int64_t last_timestamp;
  std::uint64_t updated;  // recency: larger is more recent
};

struct Model {
  std::map<std::int64_t, ModelProducer> producers;
  std::size_t producers_max;
  std::uint64_t evictions = 0;
  std::uint64_t clock = 0;

  ProducerCheck check(const RecordBatchHeader& h) const {
    auto it = producers.find(h.producer_id);
    if (it == producers.end() || it->second.epoch == producer_epoch_none) return {};
    const ModelProducer& p = it->second;
    std::int32_t last = h.base_sequence + h.last_offset_delta;  // no wrap in this run
    if (h.producer_epoch == p.epoch)
      for (const auto& b : p.batches)
        if (b.first_sequence == h.base_sequence && b.last_sequence == last) return {ErrorCode::none, b.first_offset};
    if (h.producer_epoch < p.epoch) return {ErrorCode::invalid_producer_epoch, std::nullopt};
    if (h.producer_epoch != p.epoch)
      return {h.base_sequence == 0 ? ErrorCode::none : ErrorCode::out_of_order_sequence_number, std::nullopt};
    std::int32_t previous = p.batches.empty() ? -1 : p.batches.back().last_sequence;
    return {h.base_sequence == previous + 1 ? ErrorCode::none : ErrorCode::out_of_order_sequence_number, std::nullopt};
  }
  void evict_down_to(std::size_t count) {
    while (producers.size() > count) {
      auto oldest = std::min_element(producers.begin(), producers.end(),
                                     [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
      producers.erase(oldest);
      ++evictions;
    }
  }
  void update(const RecordBatchHeader& h) {
    if (!producers.contains(h.producer_id)) evict_down_to(producers_max - 1);
    auto [it, inserted] = producers.try_emplace(h.producer_id, ModelProducer{h.producer_epoch, {}, 0, 0});
    ModelProducer& p = it->second;
    if (p.epoch != h.producer_epoch) p = ModelProducer{h.producer_epoch, {}, 0, 0};
    p.batches.push_back({h.base_sequence, h.base_sequence + h.last_offset_delta, h.base_offset});
    if (p.batches.size() > 5) p.batches.erase(p.batches.begin());
    p.last_timestamp = h.max_timestamp;
    p.updated = ++clock;
  }
  std::size_t expire(std::int64_t now, std::int64_t expiration) {
    return std::erase_if(producers, [&](const auto& e) { return now - e.second.last_timestamp >= expiration; });
  }
  // A snapshot keeps each producer's last batch; the order after loading is (timestamp, id).
  void reload() {
    std::vector<std::pair<std::int64_t, std::int64_t>> order;  // (timestamp, id)
    for (auto& [id, p] : producers) {
      p.batches.erase(p.batches.begin(), p.batches.end() - 1);
      order.emplace_back(p.last_timestamp, id);
    }
    std::sort(order.begin(), order.end());
    for (const auto& [timestamp, id] : order) producers.at(id).updated = ++clock;
    evict_down_to(producers_max);
  }
};

// Compares every producer the run may use, field by field.
void expect_same(const ProducerStateTable& table, const Model& model, int step) {
  ASSERT_EQ(table.producer_count(), model.producers.size()) << "step " << step;
  ASSERT_EQ(table.eviction_count(), model.evictions) << "step " << step;
  for (const auto& [id, p] : model.producers) {
    const ProducerEntry* entry = table.find(id);
    ASSERT_NE(entry, nullptr) << "step " << step << " producer " << id;
    EXPECT_EQ(entry->epoch, p.epoch) << "step " << step << " producer " << id;
    EXPECT_EQ(entry->last_timestamp, p.last_timestamp) << "step " << step << " producer " << id;
    ASSERT_EQ(entry->batches.size(), p.batches.size()) << "step " << step << " producer " << id;
    for (std::size_t i = 0; i < p.batches.size(); ++i) {
      EXPECT_EQ(entry->batches[i].first_sequence, p.batches[i].first_sequence) << "step " << step;
      EXPECT_EQ(entry->batches[i].last_sequence, p.batches[i].last_sequence) << "step " << step;
      EXPECT_EQ(entry->batches[i].first_offset, p.batches[i].first_offset) << "step " << step;
    }
  }
}

// A batch header for producer_id that the model makes interesting: usually the next sequence of
// the current epoch, else a retry of a cached batch, a gap, a stale or a new epoch.
RecordBatchHeader random_header(std::mt19937_64& random, const Model& model, std::int64_t producer_id, std::int64_t now) {
  auto it = model.producers.find(producer_id);
  std::int16_t epoch = it == model.producers.end() ? 0 : it->second.epoch;
  std::int32_t sequence = 0;
  if (it != model.producers.end() && !it->second.batches.empty()) sequence = it->second.batches.back().last_sequence + 1;
  int count = 1 + static_cast<int>(random() % 4);
  int kind = static_cast<int>(random() % 100);
  if (kind < 15 && it != model.producers.end() && !it->second.batches.empty()) {
    const ModelBatch& b = it->second.batches[random() % it->second.batches.size()];
    sequence = b.first_sequence;
    count = b.last_sequence - b.first_sequence + 1;
  } else if (kind < 22) {
    sequence = static_cast<std::int32_t>(random() % 60);
  } else if (kind < 27) {
    epoch = static_cast<std::int16_t>(epoch + 1);
    sequence = random() % 2 == 0 ? 0 : 5;
  } else if (kind < 30) {
    epoch = static_cast<std::int16_t>(epoch - 1);
  }
  // Timestamps: client clocks around now, sometimes far in the future.
  std::int64_t timestamp = now - 3000 + static_cast<std::int64_t>(random() % 6000);
  if (random() % 20 == 0) timestamp = now + 1000000000;
  return stamped(header_of(epoch, sequence, count, producer_id), timestamp);
}

TEST(ProducerStateTest, RandomizedAgainstModel) {
  // Goal: checks, updates, expiry, the bound, snapshot round trips and clear() together agree
  // with a plain model. Method: random steps over 24 producer ids with a small, changing bound;
  // every answer and the whole state are compared after each step.
  std::uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("SLUICE_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::printf("ProducerStateTest.RandomizedAgainstModel seed=%llu (set SLUICE_SEED to replay)\n",
              static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 random(seed);
  std::size_t producers_max = 1 + random() % 16;
  ProducerStateTable table(producers_max);
  Model model{.producers = {}, .producers_max = producers_max};
  std::int64_t now = 1000000, next_offset = 0;
  std::size_t duplicate_count = 0, refused_count = 0, expired_count = 0;
  for (int step = 0; step < 20000; ++step) {
    int action = static_cast<int>(random() % 100);
    if (action < 80) {
      RecordBatchHeader header = random_header(random, model, static_cast<std::int64_t>(random() % 24), now);
      ProducerCheck got = table.check(header), want = model.check(header);
      ASSERT_EQ(got.error, want.error) << "step " << step;
      ASSERT_EQ(got.duplicate_base_offset, want.duplicate_base_offset) << "step " << step;
      duplicate_count += got.duplicate_base_offset.has_value();
      refused_count += got.error != ErrorCode::none;
      if (got.error == ErrorCode::none && !got.duplicate_base_offset) {
        header.base_offset = next_offset;
        next_offset += header.record_count;
        table.update(header);
        model.update(header);
      }
      now += static_cast<std::int64_t>(random() % 100);
    } else if (action < 90) {
      now += static_cast<std::int64_t>(random() % 3000);
      std::int64_t expiration = 1 + static_cast<std::int64_t>(random() % 8000);
      std::size_t expired = table.expire(now, expiration);
      ASSERT_EQ(expired, model.expire(now, expiration)) << "step " << step;
      expired_count += expired;
    } else if (action < 95) {
      ASSERT_TRUE(table.load_snapshot(table.encode_snapshot())) << "step " << step;
      model.reload();
    } else if (action < 99) {
      model.producers_max = 1 + random() % 16;
      table.set_producers_max(model.producers_max);
      model.evict_down_to(model.producers_max);
    } else {
      table.clear();
      model.producers.clear();
    }
    expect_same(table, model, step);
    if (HasFatalFailure() || HasNonfatalFailure()) return;
  }
  // The run reached every path it means to test.
  EXPECT_GT(duplicate_count, 0u);
  EXPECT_GT(refused_count, 0u);
  EXPECT_GT(expired_count, 0u);
  EXPECT_GT(table.eviction_count(), 0u);
  std::printf("duplicates=%zu refused=%zu expired=%zu evicted=%llu\n", duplicate_count, refused_count, expired_count,
              static_cast<unsigned long long>(table.eviction_count()));
}

}  // namespace
}  // namespace sluice::storage
