// Goal: RecordBatch v2 header parsing, Produce validation with Kafka's error codes, and the in-place
// edits, on batches built byte by byte (tests/storage/batch_builder.h) with correct CRCs.
#include "protocol/record_batch.h"

#include <gtest/gtest.h>

#include "../storage/batch_builder.h"
#include "base/endian.h"

namespace sluice {
namespace {

using test::build_batch;
using test::BatchSpec;

constexpr BatchLimits kLimits{1 << 20};

ErrorCode validate(const std::vector<std::byte>& bytes, BatchesInfo* info = nullptr) {
  return validate_record_batches(bytes, kLimits, info);
}

TEST(RecordBatch, ParsesEveryHeaderField) {
  std::vector<std::byte> b(61);
  std::byte* p = b.data();
  store_be64(p + 0, 0x0102030405060708ull);
  store_be32(p + 8, 49);
  store_be32(p + 12, 7);
  p[16] = std::byte{2};
  store_be32(p + 17, 0xdeadbeef);
  store_be16(p + 21, 0x0034);  // transactional, control, gzip=... bits: 0x34 = 0b110100
  store_be32(p + 23, 4);
  store_be64(p + 27, 1111);
  store_be64(p + 35, 2222);
  store_be64(p + 43, 99);
  store_be16(p + 51, 3);
  store_be32(p + 53, 17);
  store_be32(p + 57, 5);
  RecordBatchHeader h = parse_record_batch_header(p);
  EXPECT_EQ(h.base_offset, 0x0102030405060708ll);
  EXPECT_EQ(h.batch_length, 49);
  EXPECT_EQ(h.partition_leader_epoch, 7);
  EXPECT_EQ(h.magic, 2);
  EXPECT_EQ(h.crc, 0xdeadbeefu);
  EXPECT_EQ(h.compression(), 4);
  EXPECT_TRUE(h.is_transactional());
  EXPECT_TRUE(h.is_control());
  EXPECT_EQ(h.timestamp_type(), 0);
  EXPECT_EQ(h.last_offset_delta, 4);
  EXPECT_EQ(h.base_timestamp, 1111);
  EXPECT_EQ(h.max_timestamp, 2222);
  EXPECT_EQ(h.producer_id, 99);
  EXPECT_EQ(h.producer_epoch, 3);
  EXPECT_EQ(h.base_sequence, 17);
  EXPECT_EQ(h.record_count, 5);
  EXPECT_EQ(h.last_offset(), 0x0102030405060708ll + 4);
  EXPECT_EQ(h.batch_bytes(), 61);
}

TEST(RecordBatch, GoodBatchValidates) {
  auto b = build_batch({.record_count = 3, .value_bytes = 20});
  BatchesInfo info;
  ASSERT_EQ(validate(b, &info), ErrorCode::none);
  EXPECT_EQ(info.batch_bytes, b.size());
  EXPECT_EQ(info.header.record_count, 3);
  EXPECT_EQ(info.header.last_offset_delta, 2);
  EXPECT_EQ(info.header.max_timestamp, 1002);
  EXPECT_EQ(info.compression, 0);
}

TEST(RecordBatch, BadCrcIsCorrupt) {
  auto b = build_batch({.record_count = 2});
  b.back() ^= std::byte{1};
  EXPECT_EQ(validate(b), ErrorCode::corrupt_message);
  auto c = build_batch({.record_count = 2});
  c[17] ^= std::byte{0x80};
  EXPECT_EQ(validate(c), ErrorCode::corrupt_message);
}

TEST(RecordBatch, TruncatedOrEmptyIsInvalidRecord) {
  auto b = build_batch({.record_count = 2});
  EXPECT_EQ(validate({}), ErrorCode::invalid_record);
  for (std::size_t cut : {std::size_t{1}, std::size_t{10}, b.size() - 16, b.size() - 13})
    EXPECT_EQ(validate(std::vector<std::byte>(b.begin(), b.end() - cut)), ErrorCode::invalid_record) << cut;
}

TEST(RecordBatch, TinyBatchLengthIsCorrupt) {
  auto b = build_batch({});
  store_be32(b.data() + 8, 13);
  EXPECT_EQ(validate(b), ErrorCode::corrupt_message);
  // A v2 batch shorter than its 61-byte header: the stream accepts it, ensureValid does not.
  std::vector<std::byte> short_batch(b.begin(), b.begin() + 40);
  store_be32(short_batch.data() + 8, 28);
  EXPECT_EQ(validate(short_batch), ErrorCode::corrupt_message);
}

TEST(RecordBatch, TwoBatchesOrTrailingBytesAreInvalidRecord) {
  auto b = build_batch({});
  auto two = b;
  two.insert(two.end(), b.begin(), b.end());
  EXPECT_EQ(validate(two), ErrorCode::invalid_record);
  auto trailing = b;
  trailing.push_back(std::byte{0});
  EXPECT_EQ(validate(trailing), ErrorCode::invalid_record);
}

TEST(RecordBatch, OldMagicIsInvalidRecordNewerIsCorrupt) {
  for (int magic : {0, 1}) {
    auto b = build_batch({});
    b[16] = static_cast<std::byte>(magic);
    EXPECT_EQ(validate(b), ErrorCode::invalid_record) << magic;
  }
  auto b = build_batch({});
  b[16] = std::byte{3};
  EXPECT_EQ(validate(b), ErrorCode::corrupt_message);
}

TEST(RecordBatch, TooLargeBeforeCrc) {
  auto b = build_batch({.record_count = 10, .value_bytes = 100});
  b.back() ^= std::byte{1};  // Kafka checks the size before the CRC
  EXPECT_EQ(validate_record_batches(b, BatchLimits{static_cast<std::uint32_t>(b.size() - 1)}, nullptr),
            ErrorCode::message_too_large);
  b.back() ^= std::byte{1};
  EXPECT_EQ(validate_record_batches(b, BatchLimits{static_cast<std::uint32_t>(b.size())}, nullptr), ErrorCode::none);
}

TEST(RecordBatch, WrongCountsAreInvalidRecord) {
  auto zero = build_batch({.record_count = 2});
  store_be32(zero.data() + 57, 0);
  test::fix_crc(zero);
  EXPECT_EQ(validate(zero), ErrorCode::invalid_record);
  auto delta = build_batch({.record_count = 2});
  store_be32(delta.data() + 23, 5);
  test::fix_crc(delta);
  EXPECT_EQ(validate(delta), ErrorCode::invalid_record);
  // Header claims 3 records (consistent offsets) but the body holds 2.
  auto body = build_batch({.record_count = 2});
  store_be32(body.data() + 57, 3);
  store_be32(body.data() + 23, 2);
  test::fix_crc(body);
  EXPECT_EQ(validate(body), ErrorCode::invalid_record);
  // Header claims 1 record but the body holds 2: records do not end at the batch end.
  auto extra = build_batch({.record_count = 2});
  store_be32(extra.data() + 57, 1);
  store_be32(extra.data() + 23, 0);
  test::fix_crc(extra);
  EXPECT_EQ(validate(extra), ErrorCode::invalid_record);
}

TEST(RecordBatch, RecordOffsetDeltasMustCountFromZero) {
  // Readers take base offset + delta as a record's offset: a gap or a repeat is refused even
  // when the header's counts agree. Record 1's delta byte: after its length, attributes and
  // timestamp delta (one byte each here).
  for (std::byte bad : {std::byte{0x04}, std::byte{0x00}}) {  // zig-zag deltas 2 and 0
    auto b = build_batch({.record_count = 2});
    ASSERT_EQ(validate(b), ErrorCode::none);
    std::size_t first_length = static_cast<std::size_t>(b[61]) / 2;  // zig-zag, one byte
    std::size_t second = 61 + 1 + first_length;
    ASSERT_EQ(b[second + 3], std::byte{0x02});  // delta 1 as built
    b[second + 3] = bad;
    test::fix_crc(b);
    EXPECT_EQ(validate(b), ErrorCode::invalid_record);
  }
}

TEST(RecordBatch, CompressedPayloadIsNotOpened) {
  auto b = build_batch({.record_count = 4, .attributes = 1});
  BatchesInfo info;
  ASSERT_EQ(validate(b, &info), ErrorCode::none);
  EXPECT_EQ(info.compression, 1);
  auto bad = build_batch({.record_count = 4, .attributes = 7});
  EXPECT_EQ(validate(bad), ErrorCode::unsupported_compression_type);
}

TEST(RecordBatch, InPlaceEditsKeepCrcValid) {
  auto b = build_batch({.record_count = 3});
  set_base_offset(b.data(), 123456789);
  set_partition_leader_epoch(b.data(), 42);
  std::size_t bytes = 0;
  ASSERT_EQ(check_batch_on_disk(b.data(), b.size(), &bytes), ErrorCode::none);
  EXPECT_EQ(bytes, b.size());
  RecordBatchHeader h = parse_record_batch_header(b.data());
  EXPECT_EQ(h.base_offset, 123456789);
  EXPECT_EQ(h.partition_leader_epoch, 42);

  set_log_append_time(b.data(), b.size(), 987654321);
  h = parse_record_batch_header(b.data());
  EXPECT_EQ(h.timestamp_type(), timestamp_type_log_append_time);
  EXPECT_EQ(h.max_timestamp, 987654321);
  EXPECT_EQ(h.base_timestamp, 1000);
  EXPECT_EQ(validate(b), ErrorCode::none);
}

TEST(RecordBatch, CheckOnDisk) {
  auto b = build_batch({.record_count = 3});
  std::size_t bytes = 0;
  EXPECT_EQ(check_batch_on_disk(b.data(), b.size() + 100, &bytes), ErrorCode::none);
  EXPECT_EQ(bytes, b.size());
  EXPECT_EQ(check_batch_on_disk(b.data(), b.size() - 1, &bytes), ErrorCode::corrupt_message);
  EXPECT_EQ(check_batch_on_disk(b.data(), 60, &bytes), ErrorCode::corrupt_message);
  b[30] ^= std::byte{1};
  EXPECT_EQ(check_batch_on_disk(b.data(), b.size(), &bytes), ErrorCode::corrupt_message);
  std::vector<std::byte> zeros(100);
  EXPECT_EQ(check_batch_on_disk(zeros.data(), zeros.size(), &bytes), ErrorCode::corrupt_message);
}

TEST(RecordBatch, FindsRecordByTimestamp) {
  auto b = build_batch({.record_count = 5, .base_timestamp = 100, .timestamp_step = 10});
  set_base_offset(b.data(), 50);
  auto found = find_record_at_or_after(b, 125);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->first, 53);
  EXPECT_EQ(found->second, 130);
  EXPECT_FALSE(find_record_at_or_after(b, 141));
  found = find_record_at_or_after(b, 0);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->first, 50);
}

TEST(RecordBatch, Varints) {
  std::vector<std::byte> bytes;
  for (std::int64_t v : std::initializer_list<std::int64_t>{0, -1, 1, 63, -64, 64, 300, -1000000, INT64_MAX, INT64_MIN}) {
    bytes.clear();
    test::put_varlong(bytes, v);
    std::size_t pos = 0;
    std::int64_t out = 0;
    ASSERT_TRUE(read_varlong(bytes, &pos, &out));
    EXPECT_EQ(out, v);
    EXPECT_EQ(pos, bytes.size());
  }
  std::vector<std::byte> overlong(6, std::byte{0x80});
  std::size_t pos = 0;
  std::int32_t v32 = 0;
  EXPECT_FALSE(read_varint(overlong, &pos, &v32));
}

}  // namespace
}  // namespace sluice
