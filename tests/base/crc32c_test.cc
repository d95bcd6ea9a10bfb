// Goal: our CRC-32C wrapper over isa-l gives the standard CRC-32C (RFC 3720 vectors) and chains.
#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace sluice {
namespace {

TEST(Crc32c, CheckValue) { EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u); }

TEST(Crc32c, Empty) { EXPECT_EQ(crc32c("", 0), 0u); }

TEST(Crc32c, Rfc3720Vectors) {
  std::vector<unsigned char> zeros(32, 0), ones(32, 0xff), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<unsigned char>(i);
    down[i] = static_cast<unsigned char>(31 - i);
  }
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), 32), 0x113FDB5Cu);
}

TEST(Crc32c, ChainsLikeOneBuffer) {
  const char* text = "The quick brown fox jumps over the lazy dog";
  std::size_t n = std::strlen(text);
  EXPECT_EQ(crc32c(text, n), 0x22620404u);
  for (std::size_t split = 0; split <= n; ++split)
    EXPECT_EQ(crc32c(text + split, n - split, crc32c(text, split)), crc32c(text, n)) << split;
}

}  // namespace
}  // namespace sluice
