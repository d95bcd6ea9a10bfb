// Goal: the idempotent-producer table answers as Kafka's ProducerStateManager does (in-order
// sequences, duplicates of the last 5 batches with their original offset, gaps, epoch bumps,
// stale epochs, sequence wrap), and a Log rebuilds the same table from its batch headers after a
// clean or unclean reopen. Method: headers built field by field for the table; real batches
// appended through check/append/update (as the produce path does) for the log.
#include "storage/producer_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>

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

std::vector<std::byte> idempotent_batch(std::int64_t producer_id, std::int16_t epoch, std::int32_t sequence, int count) {
  test::BatchSpec spec;
  spec.record_count = count;
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
Answer produce_to_log(Log& log, std::int64_t producer_id, std::int16_t epoch, std::int32_t sequence, int count) {
  auto batch = idempotent_batch(producer_id, epoch, sequence, count);
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
  }  // no close: an unclean stop, no snapshot
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

}  // namespace
}  // namespace sluice::storage
