// Checks Kafka's text form of UUIDs (URL-safe base64, no padding) both ways.
#include "base/uuid.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Uuid, Base64RoundTrip) {
  Uuid zero;
  EXPECT_EQ(zero.to_base64(), "AAAAAAAAAAAAAAAAAAAAAA");
  Uuid ones;
  ones.bytes.fill(0xff);
  EXPECT_EQ(ones.to_base64(), "_____________________w");
  for (int i = 0; i < 100; ++i) {
    Uuid id = Uuid::random();
    EXPECT_FALSE(id.is_zero());
    auto text = id.to_base64();
    ASSERT_EQ(text.size(), 22u);
    EXPECT_NE(text[0], '-');
    auto back = Uuid::from_base64(text);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, id);
  }
  EXPECT_FALSE(Uuid::from_base64("short").has_value());
  EXPECT_FALSE(Uuid::from_base64("AAAAAAAAAAAAAAAAAAAA*A").has_value());
}

}  // namespace
}  // namespace sluice
