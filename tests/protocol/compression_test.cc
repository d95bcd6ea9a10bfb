// Goal: decompress_records reads what Kafka's clients write for each codec (compressed here with
// the libraries' own compressors, snappy in snappy-java's xerial framing built by hand), stops at
// its output bound, and fails cleanly on truncated, corrupt and hostile input; and the ListOffsets
// lookups inside a batch (first record at or after a timestamp, first record with the max
// timestamp) find the exact record in compressed batches.
#include "protocol/compression.h"

#include <gtest/gtest.h>

#include <random>

#include "../storage/compressors.h"
#include "base/endian.h"
#include "protocol/record_batch.h"

namespace sluice {
namespace {

constexpr int kCodecs[] = {1, 2, 3, 4};
constexpr const char* kCodecNames[] = {"none", "gzip", "snappy", "lz4", "zstd"};

std::vector<std::byte> sample(std::size_t bytes, std::uint32_t seed) {
  // Half text-like (compressible), half random, so blocks of every kind show up.
  std::mt19937 rng(seed);
  std::vector<std::byte> out(bytes);
  for (std::size_t i = 0; i < bytes; ++i)
    out[i] = (i / 1000) % 2 == 0 ? static_cast<std::byte>('a' + i % 7) : static_cast<std::byte>(rng());
  return out;
}

std::vector<std::byte> concat(std::vector<std::byte> a, const std::vector<std::byte>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(Compression, RoundTripsEveryCodec) {
  for (int codec : kCodecs) {
    for (std::size_t bytes : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{70000}, std::size_t{300000}}) {
      SCOPED_TRACE(std::string(kCodecNames[codec]) + " bytes=" + std::to_string(bytes));
      auto original = sample(bytes, static_cast<std::uint32_t>(bytes));
      auto compressed = test::compress_for_codec(codec, original);
      auto got = decompress_records(codec, compressed, decompressed_records_bytes_max);
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      EXPECT_EQ(got.value(), original);
    }
  }
}

TEST(Compression, AcceptsEveryFramingKafkaClientsUse) {
  auto original = sample(200000, 7);
  // Raw snappy without the xerial header, as librdkafka accepts.
  auto raw = test::snappy_raw_compress(original.data(), original.size());
  auto got = decompress_records(2, raw, decompressed_records_bytes_max);
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got.value(), original);
  // xerial with small blocks: many length-prefixed blocks.
  got = decompress_records(2, test::snappy_xerial_compress(original, 1000), decompressed_records_bytes_max);
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got.value(), original);
  // zstd frames with a content size, and two frames back to back.
  got = decompress_records(4, test::zstd_compress(original, true), decompressed_records_bytes_max);
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got.value(), original);
  auto half = std::vector<std::byte>(original.begin(), original.begin() + 100000);
  auto rest = std::vector<std::byte>(original.begin() + 100000, original.end());
  got = decompress_records(4, concat(test::zstd_compress(half, false), test::zstd_compress(rest, true)),
                           decompressed_records_bytes_max);
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got.value(), original);
  // Two gzip members (GZIPInputStream reads both) and two LZ4 frames.
  got = decompress_records(1, concat(test::gzip_compress(half), test::gzip_compress(rest)), decompressed_records_bytes_max);
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got.value(), original);
  got = decompress_records(3, concat(test::lz4_frame_compress(half), test::lz4_frame_compress(rest)),
                           decompressed_records_bytes_max);
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got.value(), original);
}

TEST(Compression, OutputBoundIsExact) {
  // An output of exactly the bound decompresses; one byte less of bound fails cleanly.
  auto original = sample(50000, 3);
  for (int codec : kCodecs) {
    SCOPED_TRACE(kCodecNames[codec]);
    auto compressed = test::compress_for_codec(codec, original);
    auto got = decompress_records(codec, compressed, original.size());
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    EXPECT_EQ(got.value(), original);
    EXPECT_FALSE(decompress_records(codec, compressed, original.size() - 1).is_ok());
    EXPECT_FALSE(decompress_records(codec, compressed, 0).is_ok());
  }
}

TEST(Compression, BombsStopAtTheBound) {
  // 32 MiB of zeros compresses to at most 1/20 of it (snappy; the others to a few KiB); with a
  // 1 MiB bound each codec must fail, not grow.
  std::vector<std::byte> zeros(32 << 20);
  for (int codec : kCodecs) {
    SCOPED_TRACE(kCodecNames[codec]);
    auto compressed = test::compress_for_codec(codec, zeros);
    EXPECT_LT(compressed.size(), zeros.size() / 20);
    auto got = decompress_records(codec, compressed, 1 << 20);
    ASSERT_FALSE(got.is_ok());
    EXPECT_NE(got.status().message().find("exceed"), std::string::npos) << got.status().message();
  }
  // A snappy block that claims 4 GiB of output fails before anything is allocated.
  const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  EXPECT_FALSE(decompress_records(2, std::as_bytes(std::span(huge)), decompressed_records_bytes_max).is_ok());
}

TEST(Compression, TruncatedInputFails) {
  // Every strict prefix of a one-frame payload is truncated. xerial snappy is a sequence of
  // blocks, so a prefix may end on a block boundary: then the output must be a prefix of the data.
  auto original = sample(12000, 11);
  for (int codec : kCodecs) {
    SCOPED_TRACE(kCodecNames[codec]);
    auto compressed = codec == 2 ? test::snappy_xerial_compress(original, 4096) : test::compress_for_codec(codec, original);
    for (std::size_t cut = 0; cut < compressed.size(); ++cut) {
      auto got = decompress_records(codec, std::span(compressed).first(cut), decompressed_records_bytes_max);
      if (codec != 2) {
        EXPECT_FALSE(got.is_ok()) << "cut=" << cut;
      } else if (got.is_ok()) {
        ASSERT_LT(got.value().size(), original.size()) << "cut=" << cut;
        EXPECT_TRUE(std::equal(got.value().begin(), got.value().end(), original.begin())) << "cut=" << cut;
      }
    }
  }
}

TEST(Compression, GarbageAndBitFlipsNeverCrash) {
  // Fixed garbage fails for every codec; random bit flips of valid payloads either fail or stay
  // within the bound (checksums are optional in some formats, so some flips decode).
  std::vector<std::byte> garbage(1000);
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::byte>(0xa5 ^ (i * 31));
  for (int codec : kCodecs) EXPECT_FALSE(decompress_records(codec, garbage, decompressed_records_bytes_max).is_ok());
  // The xerial magic followed by a block length past the end.
  auto xerial = test::snappy_xerial_compress(sample(100, 1));
  store_be32(xerial.data() + 16, 0x7fffffff);
  EXPECT_FALSE(decompress_records(2, xerial, decompressed_records_bytes_max).is_ok());
  EXPECT_FALSE(decompress_records(0, garbage, decompressed_records_bytes_max).is_ok());
  EXPECT_FALSE(decompress_records(5, garbage, decompressed_records_bytes_max).is_ok());

  std::mt19937 rng(12345);
  auto original = sample(20000, 5);
  for (int codec : kCodecs) {
    auto compressed = test::compress_for_codec(codec, original);
    for (int round = 0; round < 300; ++round) {
      auto bad = compressed;
      for (int flips = 0; flips < 1 + round % 4; ++flips)
        bad[rng() % bad.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
      auto got = decompress_records(codec, bad, 64 * 1024);
      if (got.is_ok()) {
        EXPECT_LE(got.value().size(), 64u * 1024);
      }
    }
  }
}

// Sets the batch's base offset (and keeps the CRC, which does not cover it).
std::vector<std::byte> at_offset(std::vector<std::byte> batch, std::int64_t base_offset) {
  set_base_offset(batch.data(), base_offset);
  return batch;
}

TEST(RecordLookup, FindsTheExactRecordInsideCompressedBatches) {
  // The brief's example: offsets 15-19 with timestamps T+300..T+304; T+302 is record 17, for every
  // codec and uncompressed alike.
  constexpr std::int64_t T = 1'700'000'000'000;
  for (int codec : {0, 1, 2, 3, 4}) {
    SCOPED_TRACE(kCodecNames[codec]);
    auto batch = at_offset(test::build_compressed_batch(codec, T + 300, {0, 1, 2, 3, 4}), 15);
    ASSERT_EQ(validate_record_batches(batch, BatchLimits{1 << 20}, nullptr), ErrorCode::none);
    auto found = find_record_at_or_after(batch, T + 302);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->first, 17);
    EXPECT_EQ(found->second, T + 302);
    found = find_record_at_or_after(batch, 0);
    ASSERT_TRUE(found);
    EXPECT_EQ(*found, std::make_pair(std::int64_t{15}, T + 300));
    EXPECT_FALSE(find_record_at_or_after(batch, T + 305));
    EXPECT_EQ(find_max_timestamp_record(batch), std::make_pair(std::int64_t{19}, T + 304));
  }
}

TEST(RecordLookup, MaxTimestampIsTheFirstRecordCarryingIt) {
  // Timestamps out of order: the max (T+9) first appears at offset 101; at-or-after T+5 is the
  // first in batch order (offset 101), not the smallest timestamp >= T+5.
  constexpr std::int64_t T = 5000;
  for (int codec : {0, 1, 2, 3, 4}) {
    SCOPED_TRACE(kCodecNames[codec]);
    auto batch = at_offset(test::build_compressed_batch(codec, T, {0, 9, 6, 9, 2}), 100);
    EXPECT_EQ(find_max_timestamp_record(batch), std::make_pair(std::int64_t{101}, T + 9));
    EXPECT_EQ(find_record_at_or_after(batch, T + 5), std::make_optional(std::make_pair(std::int64_t{101}, T + 9)));
    EXPECT_EQ(find_record_at_or_after(batch, T + 1), std::make_optional(std::make_pair(std::int64_t{101}, T + 9)));
    EXPECT_EQ(find_record_at_or_after(batch, T), std::make_optional(std::make_pair(std::int64_t{100}, T)));
  }
}

TEST(RecordLookup, LogAppendTimeRecordsCarryTheBatchTimestamp) {
  // Every record of a LogAppendTime batch has the batch's max timestamp: the first record answers.
  auto batch = at_offset(test::build_compressed_batch(4, 1000, {0, 1, 2}), 7);
  set_log_append_time(batch.data(), batch.size(), 99999);
  EXPECT_EQ(find_record_at_or_after(batch, 5000), std::make_optional(std::make_pair(std::int64_t{7}, std::int64_t{99999})));
  EXPECT_EQ(find_max_timestamp_record(batch), std::make_pair(std::int64_t{7}, std::int64_t{99999}));
  EXPECT_FALSE(find_record_at_or_after(batch, 100000));
}

TEST(RecordLookup, UnreadableRecordsFallBackToBatchGranularity) {
  // A payload that does not decompress, or decompresses to records that do not parse, is answered
  // from the header: {base offset, max timestamp} and {last offset, max timestamp}.
  auto batch = at_offset(test::build_compressed_batch(1, 1000, {0, 10, 20}), 40);
  batch[batch.size() - 12] ^= std::byte{0xff};  // inside the deflate stream / its CRC
  test::fix_crc(batch);
  EXPECT_EQ(find_record_at_or_after(batch, 1005), std::make_optional(std::make_pair(std::int64_t{40}, std::int64_t{1020})));
  EXPECT_EQ(find_max_timestamp_record(batch), std::make_pair(std::int64_t{42}, std::int64_t{1020}));

  // Records followed by extra bytes inside the compressed payload: Kafka rejects them too.
  auto records = test::build_records({0, 10, 20}, 5);
  records.push_back(std::byte{0});
  RecordBatchHeader header = parse_record_batch_header(batch.data());
  RecordOffsetTimestamp out;
  EXPECT_EQ(find_record_at_or_after(header, records, 1005, &out), RecordSearch::malformed);
  records.pop_back();
  ASSERT_EQ(find_record_at_or_after(header, records, 1005, &out), RecordSearch::found);
  EXPECT_EQ(out, std::make_pair(std::int64_t{41}, std::int64_t{1010}));
  EXPECT_EQ(find_record_at_or_after(header, records, 1021, &out), RecordSearch::not_found);
}

TEST(RecordLookup, RecordAreaOfABatch) {
  // Uncompressed: a view of the bytes after the header; compressed: the decompressed records.
  auto plain = test::build_compressed_batch(0, 1000, {0, 1});
  std::vector<std::byte> storage;
  auto area = batch_record_area(plain, &storage, decompressed_records_bytes_max);
  ASSERT_TRUE(area.is_ok());
  EXPECT_EQ(area.value().data(), plain.data() + record_batch_header_bytes);
  EXPECT_TRUE(storage.empty());
  auto zstd = test::build_compressed_batch(4, 1000, {0, 1});
  area = batch_record_area(zstd, &storage, decompressed_records_bytes_max);
  ASSERT_TRUE(area.is_ok());
  EXPECT_EQ(std::vector<std::byte>(area.value().begin(), area.value().end()), test::build_records({0, 1}, 20));
  EXPECT_FALSE(batch_record_area(zstd, &storage, 10).is_ok());
}

}  // namespace
}  // namespace sluice
