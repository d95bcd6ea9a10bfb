// Goal: compress_records writes what Kafka's clients write for each codec, and decompress_records
// reads it back byte for byte. Method: round trips of empty, small, block-crossing and
// incompressible inputs, plus checks of the framing Kafka's readers rely on (gzip magic, the xerial
// header and its 32 KiB blocks, the LZ4 frame descriptor without checksums, a zstd frame magic).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "base/endian.h"
#include "protocol/compression.h"

namespace sluice {
namespace {

std::vector<std::byte> sample(std::size_t bytes, bool compressible, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::byte> out(bytes);
  for (std::size_t i = 0; i < bytes; ++i)
    out[i] = static_cast<std::byte>(compressible ? "key-value-"[i % 10] + (i / 4096) % 3 : random() & 0xff);
  return out;
}

void expect_round_trip(int codec, const std::vector<std::byte>& in) {
  auto compressed = compress_records(codec, in);
  ASSERT_TRUE(compressed.is_ok()) << compressed.status().message();
  auto back = decompress_records(codec, compressed.value(), decompressed_records_bytes_max);
  ASSERT_TRUE(back.is_ok()) << "codec " << codec << ": " << back.status().message();
  EXPECT_EQ(back.value(), in) << "codec " << codec << " bytes " << in.size();
}

TEST(CompressionRoundTripTest, EveryCodecRoundTrips) {
  for (int codec = 1; codec <= 4; ++codec) {
    for (std::size_t bytes : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{32 * 1024},
                              std::size_t{32 * 1024 + 1}, std::size_t{200 * 1024}}) {
      expect_round_trip(codec, sample(bytes, true, bytes));
      expect_round_trip(codec, sample(bytes, false, bytes));
      if (HasFatalFailure()) return;
    }
  }
}

TEST(CompressionRoundTripTest, CompressibleInputShrinks) {
  auto in = sample(100 * 1024, true, 1);
  for (int codec = 1; codec <= 4; ++codec) {
    auto compressed = compress_records(codec, in);
    ASSERT_TRUE(compressed.is_ok());
    EXPECT_LT(compressed.value().size(), in.size() / 4) << "codec " << codec;
  }
}

TEST(CompressionRoundTripTest, FramingIsWhatKafkaReads) {
  auto in = sample(70 * 1024, true, 2);
  auto gz = compress_records(1, in).value();
  EXPECT_EQ(gz[0], std::byte{0x1f});
  EXPECT_EQ(gz[1], std::byte{0x8b});
  // xerial: magic, version 1, compatible version 1, then 3 blocks for 70 KiB of input.
  auto snappy = compress_records(2, in).value();
  const unsigned char magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  EXPECT_EQ(std::memcmp(snappy.data(), magic, 8), 0);
  EXPECT_EQ(load_be32(snappy.data() + 8), 1u);
  EXPECT_EQ(load_be32(snappy.data() + 12), 1u);
  std::size_t pos = 16, blocks = 0;
  while (pos < snappy.size()) {
    pos += 4 + load_be32(snappy.data() + pos);
    ++blocks;
  }
  EXPECT_EQ(pos, snappy.size());
  EXPECT_EQ(blocks, 3u);
  // LZ4 frame: magic 0x184D2204 (LE), FLG version 01 + block independence, no checksums or size;
  // BD block size id 4 (64 KiB).
  auto lz4 = compress_records(3, in).value();
  EXPECT_EQ(load_be32(lz4.data()), 0x04224D18u);
  EXPECT_EQ(static_cast<unsigned>(lz4[4]), 0x60u);
  EXPECT_EQ(static_cast<unsigned>(lz4[5]), 0x40u);
  auto zstd = compress_records(4, in).value();
  EXPECT_EQ(load_be32(zstd.data()), 0x28B52FFDu);
}

TEST(CompressionRoundTripTest, UnknownCodecFails) {
  auto in = sample(10, true, 3);
  EXPECT_FALSE(compress_records(0, in).is_ok());
  EXPECT_FALSE(compress_records(5, in).is_ok());
}

TEST(CompressionRoundTripTest, LevelsAreHonoured) {
  auto in = sample(256 * 1024, true, 4);
  for (int level : {1, 9}) {
    auto gz = compress_records(1, in, level);
    ASSERT_TRUE(gz.is_ok());
    auto back = decompress_records(1, gz.value(), decompressed_records_bytes_max);
    ASSERT_TRUE(back.is_ok());
    EXPECT_EQ(back.value(), in) << "gzip level " << level;
  }
  auto fast = compress_records(3, in, 0);
  auto high = compress_records(3, in, 9);
  ASSERT_TRUE(fast.is_ok() && high.is_ok());
  EXPECT_LE(high.value().size(), fast.value().size());
  auto back = decompress_records(3, fast.value(), decompressed_records_bytes_max);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back.value(), in);
}

}  // namespace
}  // namespace sluice
