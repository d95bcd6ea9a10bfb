// Checks the broker's own record batches: built batches pass the produce-path validation, and
// parse_records reads back keys, values (including null tombstones) and deltas; damaged record
// areas are refused.
#include "protocol/records.h"

#include <gtest/gtest.h>

#include "protocol/record_batch.h"

namespace sluice::protocol {
namespace {

std::vector<std::byte> bytes(const std::string& text) {
  std::vector<std::byte> out;
  for (char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

TEST(Records, BuildThenParse) {
  std::vector<RecordToWrite> records = {{bytes("k1"), bytes("value-1")}, {bytes("k2"), std::nullopt}, {bytes(""), bytes("")}};
  auto batch = build_record_batch(records, 1700000000000);
  BatchesInfo info;
  ASSERT_EQ(validate_record_batches(batch, BatchLimits{1 << 20}, &info), ErrorCode::none);
  EXPECT_EQ(info.header.record_count, 3);
  EXPECT_EQ(info.header.last_offset_delta, 2);
  EXPECT_EQ(info.header.max_timestamp, 1700000000000);
  EXPECT_EQ(info.header.producer_id, -1);
  std::vector<RecordView> seen;
  std::vector<std::string> keys, values;
  bool ok = parse_records(std::span<const std::byte>(batch).subspan(record_batch_header_bytes), 3,
                          [&](const RecordView& record) {
                            seen.push_back(record);
                            keys.emplace_back(reinterpret_cast<const char*>(record.key->data()), record.key->size());
                            values.push_back(record.value ? std::string(reinterpret_cast<const char*>(record.value->data()),
                                                                        record.value->size())
                                                          : "<null>");
                          });
  ASSERT_TRUE(ok);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(keys, (std::vector<std::string>{"k1", "k2", ""}));
  EXPECT_EQ(values, (std::vector<std::string>{"value-1", "<null>", ""}));
  EXPECT_EQ(seen[2].offset_delta, 2);
}

TEST(Records, DamagedAreasAreRefused) {
  auto batch = build_record_batch({{bytes("key"), bytes("value")}}, 1);
  std::span<const std::byte> area = std::span<const std::byte>(batch).subspan(record_batch_header_bytes);
  auto ignore = [](const RecordView&) {};
  EXPECT_TRUE(parse_records(area, 1, ignore));
  for (std::size_t cut = 0; cut < area.size(); ++cut) EXPECT_FALSE(parse_records(area.first(cut), 1, ignore)) << cut;
  EXPECT_FALSE(parse_records(area, 2, ignore));  // claims more records than there are
  std::vector<std::byte> longer(area.begin(), area.end());
  longer.push_back(std::byte{0});
  EXPECT_FALSE(parse_records(longer, 1, ignore));  // trailing bytes
}

}  // namespace
}  // namespace sluice::protocol
