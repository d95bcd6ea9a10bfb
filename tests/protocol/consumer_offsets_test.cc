// Tests the __consumer_offsets record formats against hand-written fixtures derived from
// OffsetCommitKey.json, OffsetCommitValue.json, GroupMetadataKey.json and GroupMetadataValue.json:
// every key and value version decodes to the expected fields, the versions Kafka writes encode to
// the same bytes, tombstones decode with no value, and unknown or broken records are reported.
#include "protocol/consumer_offsets.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

std::span<const std::byte> span_of(const Bytes& bytes) {
  return {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()};
}

Bytes bytes_of(const std::vector<std::byte>& bytes) {
  auto p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  return Bytes(p, p + bytes.size());
}

// Decodes a record that must parse; fails the test otherwise.
ConsumerOffsetsRecord decode_ok(const Bytes& key, const std::optional<Bytes>& value) {
  std::optional<std::span<const std::byte>> value_span;
  if (value) value_span = span_of(*value);
  Result<ConsumerOffsetsRecord> record = decode_consumer_offsets_record(span_of(key), value_span);
  EXPECT_TRUE(record.is_ok()) << (record.is_ok() ? "" : record.status().message());
  if (!record.is_ok()) return ConsumerOffsetsUnknown{-1};
  return std::move(record).value();
}

bool decode_fails(const Bytes& key, const std::optional<Bytes>& value) {
  std::optional<std::span<const std::byte>> value_span;
  if (value) value_span = span_of(*value);
  return !decode_consumer_offsets_record(span_of(key), value_span).is_ok();
}

const Bytes offset_key_v1 = {
    0x00, 0x01,              // key version 1
    0x00, 0x01, 'g',         // group
    0x00, 0x01, 't',         // topic
    0x00, 0x00, 0x00, 0x03,  // partition
};

OffsetCommitValue offset_value() {
  OffsetCommitValue v;
  v.offset = 100;
  v.leader_epoch = 2;
  v.metadata = "d";
  v.commit_timestamp = 7;
  v.expire_timestamp = 9;
  return v;
}

void expect_offset_commit(const Bytes& key, std::int16_t key_version, const Bytes& value,
                          std::int16_t value_version) {
  SCOPED_TRACE("value version " + std::to_string(value_version));
  ConsumerOffsetsRecord record = decode_ok(key, value);
  auto* commit = std::get_if<ConsumerOffsetsOffsetCommit>(&record);
  ASSERT_NE(commit, nullptr);
  EXPECT_EQ(commit->key_version, key_version);
  EXPECT_EQ(commit->key.group, "g");
  EXPECT_EQ(commit->key.topic, "t");
  EXPECT_EQ(commit->key.partition, 3);
  EXPECT_EQ(commit->value_version, value_version);
  ASSERT_TRUE(commit->value.has_value());
  EXPECT_EQ(testing::describe(*commit->value, value_version), testing::describe(offset_value(), value_version));
  // Every strict prefix of the value is rejected.
  for (std::size_t length = 0; length < value.size(); ++length) {
    EXPECT_TRUE(decode_fails(key, Bytes(value.begin(), value.begin() + static_cast<std::ptrdiff_t>(length))))
        << length;
  }
}

TEST(ConsumerOffsets, OffsetCommitKeyFixtures) {
  EXPECT_EQ(testing::hex(encode_offset_commit_key("g", "t", 3)), testing::hex(offset_key_v1));
  const Bytes key_v0 = {
      0x00, 0x00,              // key version 0 (same layout as v1)
      0x00, 0x01, 'g',         // group
      0x00, 0x01, 't',         // topic
      0x00, 0x00, 0x00, 0x03,  // partition
  };
  const Bytes value_v3 = {
      0x00, 0x03,                                      // value version 3
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // offset = 100
      0x00, 0x00, 0x00, 0x02,                          // leader_epoch (v3+)
      0x00, 0x01, 'd',                                 // metadata
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // commit_timestamp
  };
  expect_offset_commit(key_v0, 0, value_v3, 3);
  expect_offset_commit(offset_key_v1, 1, value_v3, 3);
  for (std::size_t length = 0; length < offset_key_v1.size(); ++length) {
    Bytes prefix(offset_key_v1.begin(), offset_key_v1.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_TRUE(decode_fails(prefix, value_v3)) << length;
  }
}

TEST(ConsumerOffsets, OffsetCommitValueFixtures) {
  const Bytes v0 = {
      0x00, 0x00,                                      // value version 0
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // offset
      0x00, 0x01, 'd',                                 // metadata
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // commit_timestamp
  };
  expect_offset_commit(offset_key_v1, 1, v0, 0);
  const Bytes v1 = {
      0x00, 0x01,                                      // value version 1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // offset
      0x00, 0x01, 'd',                                 // metadata
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // commit_timestamp
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,  // expire_timestamp (v1 only)
  };
  expect_offset_commit(offset_key_v1, 1, v1, 1);
  EXPECT_EQ(testing::hex(encode_offset_commit_value(100, 2, "d", 7, 9)), testing::hex(v1));
  const Bytes v2 = {
      0x00, 0x02,                                      // value version 2
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // offset
      0x00, 0x01, 'd',                                 // metadata
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // commit_timestamp
  };
  expect_offset_commit(offset_key_v1, 1, v2, 2);
  const Bytes v3 = {
      0x00, 0x03,                                      // value version 3
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // offset
      0x00, 0x00, 0x00, 0x02,                          // leader_epoch (v3+)
      0x00, 0x01, 'd',                                 // metadata
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // commit_timestamp
  };
  expect_offset_commit(offset_key_v1, 1, v3, 3);
  EXPECT_EQ(testing::hex(encode_offset_commit_value(100, 2, "d", 7, std::nullopt)), testing::hex(v3));
  const Bytes v4 = {
      0x00, 0x04,                                      // value version 4 (flexible)
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // offset
      0x00, 0x00, 0x00, 0x02,                          // leader_epoch
      0x02, 'd',                                       // metadata (compact)
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // commit_timestamp
      0x00,                                            // tagged fields
  };
  expect_offset_commit(offset_key_v1, 1, v4, 4);
  const Bytes v4_with_unknown_tag = {
      0x00, 0x04,                                      // value version 4
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // offset
      0x00, 0x00, 0x00, 0x02,                          // leader_epoch
      0x02, 'd',                                       // metadata
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // commit_timestamp
      0x01,                                            // tagged fields: 1
      0x05, 0x01, 0xee,                                //   tag 5, 1 byte: skipped
  };
  expect_offset_commit(offset_key_v1, 1, v4_with_unknown_tag, 4);
}

GroupMetadataValue group_value() {
  GroupMetadataValue v;
  v.protocol_type = "c";
  v.generation = 1;
  v.protocol = "r";
  v.leader = "m";
  v.current_state_timestamp = 8;
  GroupMetadataValue::Member m;
  m.member_id = "m";
  m.group_instance_id = "i";
  m.client_id = "k";
  m.client_host = "h";
  m.rebalance_timeout_ms = 300000;
  m.session_timeout_ms = 10000;
  m.subscription = {std::byte{0xaa}};
  m.assignment = {std::byte{0xbb}};
  v.members = {m};
  return v;
}

const Bytes group_key_v2 = {
    0x00, 0x02,       // key version 2
    0x00, 0x01, 'g',  // group
};

// Checks one group metadata value version: it decodes to group_value(), encodes back to the same
// bytes, and each strict prefix is rejected.
void expect_group_metadata(const Bytes& value, std::int16_t value_version) {
  SCOPED_TRACE("value version " + std::to_string(value_version));
  ConsumerOffsetsRecord record = decode_ok(group_key_v2, value);
  auto* group = std::get_if<ConsumerOffsetsGroupMetadata>(&record);
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->key_version, 2);
  EXPECT_EQ(group->key.group, "g");
  EXPECT_EQ(group->value_version, value_version);
  ASSERT_TRUE(group->value.has_value());
  EXPECT_EQ(testing::describe(*group->value, value_version), testing::describe(group_value(), value_version));
  EXPECT_EQ(testing::hex(encode_group_metadata_value(group_value(), value_version)), testing::hex(value));
  for (std::size_t length = 0; length < value.size(); ++length) {
    Bytes prefix(value.begin(), value.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_TRUE(decode_fails(group_key_v2, prefix)) << length;
  }
}

TEST(ConsumerOffsets, GroupMetadataKeyFixture) {
  EXPECT_EQ(testing::hex(encode_group_metadata_key("g")), testing::hex(group_key_v2));
  for (std::size_t length = 0; length < group_key_v2.size(); ++length) {
    Bytes prefix(group_key_v2.begin(), group_key_v2.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_TRUE(decode_fails(prefix, std::nullopt)) << length;
  }
}

TEST(ConsumerOffsets, GroupMetadataValueFixtures) {
  const Bytes v0 = {
      0x00, 0x00,                    // value version 0
      0x00, 0x01, 'c',               // protocol_type
      0x00, 0x00, 0x00, 0x01,        // generation
      0x00, 0x01, 'r',               // protocol
      0x00, 0x01, 'm',               // leader
      0x00, 0x00, 0x00, 0x01,        // members: 1
      0x00, 0x01, 'm',               //   member_id
      0x00, 0x01, 'k',               //   client_id
      0x00, 0x01, 'h',               //   client_host
      0x00, 0x00, 0x27, 0x10,        //   session_timeout = 10000
      0x00, 0x00, 0x00, 0x01, 0xaa,  //   subscription
      0x00, 0x00, 0x00, 0x01, 0xbb,  //   assignment
  };
  expect_group_metadata(v0, 0);
  const Bytes v1 = {
      0x00, 0x01,                    // value version 1
      0x00, 0x01, 'c',               // protocol_type
      0x00, 0x00, 0x00, 0x01,        // generation
      0x00, 0x01, 'r',               // protocol
      0x00, 0x01, 'm',               // leader
      0x00, 0x00, 0x00, 0x01,        // members: 1
      0x00, 0x01, 'm',               //   member_id
      0x00, 0x01, 'k',               //   client_id
      0x00, 0x01, 'h',               //   client_host
      0x00, 0x04, 0x93, 0xe0,        //   rebalance_timeout = 300000 (v1+)
      0x00, 0x00, 0x27, 0x10,        //   session_timeout
      0x00, 0x00, 0x00, 0x01, 0xaa,  //   subscription
      0x00, 0x00, 0x00, 0x01, 0xbb,  //   assignment
  };
  expect_group_metadata(v1, 1);
  const Bytes v2 = {
      0x00, 0x02,                                      // value version 2
      0x00, 0x01, 'c',                                 // protocol_type
      0x00, 0x00, 0x00, 0x01,                          // generation
      0x00, 0x01, 'r',                                 // protocol
      0x00, 0x01, 'm',                                 // leader
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,  // current_state_timestamp (v2+)
      0x00, 0x00, 0x00, 0x01,                          // members: 1
      0x00, 0x01, 'm',                                 //   member_id
      0x00, 0x01, 'k',                                 //   client_id
      0x00, 0x01, 'h',                                 //   client_host
      0x00, 0x04, 0x93, 0xe0,                          //   rebalance_timeout
      0x00, 0x00, 0x27, 0x10,                          //   session_timeout
      0x00, 0x00, 0x00, 0x01, 0xaa,                    //   subscription
      0x00, 0x00, 0x00, 0x01, 0xbb,                    //   assignment
  };
  expect_group_metadata(v2, 2);
  const Bytes v3 = {
      0x00, 0x03,                                      // value version 3 (what Kafka 2.3+ writes)
      0x00, 0x01, 'c',                                 // protocol_type
      0x00, 0x00, 0x00, 0x01,                          // generation
      0x00, 0x01, 'r',                                 // protocol
      0x00, 0x01, 'm',                                 // leader
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,  // current_state_timestamp
      0x00, 0x00, 0x00, 0x01,                          // members: 1
      0x00, 0x01, 'm',                                 //   member_id
      0x00, 0x01, 'i',                                 //   group_instance_id (v3+)
      0x00, 0x01, 'k',                                 //   client_id
      0x00, 0x01, 'h',                                 //   client_host
      0x00, 0x04, 0x93, 0xe0,                          //   rebalance_timeout
      0x00, 0x00, 0x27, 0x10,                          //   session_timeout
      0x00, 0x00, 0x00, 0x01, 0xaa,                    //   subscription
      0x00, 0x00, 0x00, 0x01, 0xbb,                    //   assignment
  };
  expect_group_metadata(v3, 3);
  EXPECT_EQ(testing::hex(encode_group_metadata_value(group_value())), testing::hex(v3));
  const Bytes v4 = {
      0x00, 0x04,                                      // value version 4 (flexible)
      0x02, 'c',                                       // protocol_type (compact)
      0x00, 0x00, 0x00, 0x01,                          // generation
      0x02, 'r',                                       // protocol
      0x02, 'm',                                       // leader
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,  // current_state_timestamp
      0x02,                                            // members: compact 1
      0x02, 'm',                                       //   member_id
      0x02, 'i',                                       //   group_instance_id
      0x02, 'k',                                       //   client_id
      0x02, 'h',                                       //   client_host
      0x00, 0x04, 0x93, 0xe0,                          //   rebalance_timeout
      0x00, 0x00, 0x27, 0x10,                          //   session_timeout
      0x02, 0xaa,                                      //   subscription (compact bytes)
      0x02, 0xbb,                                      //   assignment
      0x00,                                            //   tagged fields
      0x00,                                            // tagged fields
  };
  expect_group_metadata(v4, 4);
}

// An empty group (after its last member left) has a null protocol and leader and no members.
TEST(ConsumerOffsets, EmptyGroupFixture) {
  const Bytes v3 = {
      0x00, 0x03,                                      // value version 3
      0x00, 0x08, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',  // protocol_type
      0x00, 0x00, 0x00, 0x02,                          // generation
      0xff, 0xff,                                      // protocol: null
      0xff, 0xff,                                      // leader: null
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,  // current_state_timestamp
      0x00, 0x00, 0x00, 0x00,                          // members: 0
  };
  GroupMetadataValue empty;
  empty.protocol_type = "consumer";
  empty.generation = 2;
  empty.current_state_timestamp = 8;
  EXPECT_EQ(testing::hex(encode_group_metadata_value(empty)), testing::hex(v3));
  ConsumerOffsetsRecord record = decode_ok(group_key_v2, v3);
  auto* group = std::get_if<ConsumerOffsetsGroupMetadata>(&record);
  ASSERT_NE(group, nullptr);
  ASSERT_TRUE(group->value.has_value());
  EXPECT_EQ(testing::describe(*group->value, 3), testing::describe(empty, 3));
}

// A null value deletes the offset or the group.
TEST(ConsumerOffsets, Tombstones) {
  ConsumerOffsetsRecord offset = decode_ok(offset_key_v1, std::nullopt);
  auto* commit = std::get_if<ConsumerOffsetsOffsetCommit>(&offset);
  ASSERT_NE(commit, nullptr);
  EXPECT_EQ(commit->key.group, "g");
  EXPECT_EQ(commit->key.partition, 3);
  EXPECT_FALSE(commit->value.has_value());
  EXPECT_EQ(commit->value_version, -1);

  ConsumerOffsetsRecord group_record = decode_ok(group_key_v2, std::nullopt);
  auto* group = std::get_if<ConsumerOffsetsGroupMetadata>(&group_record);
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->key.group, "g");
  EXPECT_FALSE(group->value.has_value());
}

// Key versions 3 and up are the records of newer coordinators (consumer groups of KIP-848, share
// groups): reported as unknown, whatever the value.
TEST(ConsumerOffsets, UnknownKeyVersions) {
  const Bytes key_v3 = {0x00, 0x03, 0x00, 0x01, 'g'};
  ConsumerOffsetsRecord record = decode_ok(key_v3, Bytes{0x00, 0x00, 0x01});
  auto* unknown = std::get_if<ConsumerOffsetsUnknown>(&record);
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(unknown->key_version, 3);
  record = decode_ok(Bytes{0x00, 0x0b}, std::nullopt);
  ASSERT_TRUE(std::holds_alternative<ConsumerOffsetsUnknown>(record));
}

TEST(ConsumerOffsets, BrokenRecords) {
  EXPECT_TRUE(decode_fails(Bytes{}, std::nullopt));                  // no key version
  EXPECT_TRUE(decode_fails(Bytes{0xff, 0xff}, std::nullopt));        // negative key version
  EXPECT_TRUE(decode_fails(offset_key_v1, Bytes{0x00, 0x05, 0x00}));  // unknown value version
  EXPECT_TRUE(decode_fails(offset_key_v1, Bytes{0xff, 0xff}));       // negative value version
  EXPECT_TRUE(decode_fails(group_key_v2, Bytes{0x00, 0x05}));        // unknown value version
  EXPECT_TRUE(decode_fails(group_key_v2, Bytes{}));                  // empty, not null, value
}

// Values the fixtures do not cover encode and decode back unchanged.
TEST(ConsumerOffsets, RoundTrips) {
  GroupMetadataValue value = group_value();
  value.members.push_back(value.members[0]);
  value.members[1].member_id = "second";
  value.members[1].group_instance_id = std::nullopt;
  value.members[1].subscription.clear();
  Bytes key = bytes_of(encode_group_metadata_key("a much longer group name"));
  for (std::int16_t version = 0; version <= 4; ++version) {
    Bytes wire = bytes_of(encode_group_metadata_value(value, version));
    ConsumerOffsetsRecord record = decode_ok(key, wire);
    auto* group = std::get_if<ConsumerOffsetsGroupMetadata>(&record);
    ASSERT_NE(group, nullptr);
    EXPECT_EQ(group->key.group, "a much longer group name");
    ASSERT_TRUE(group->value.has_value());
    EXPECT_EQ(testing::describe(*group->value, version), testing::describe(value, version));
  }
  Bytes offset_key = bytes_of(encode_offset_commit_key("", "topic", 2147483647));
  Bytes offset_value = bytes_of(encode_offset_commit_value(1LL << 50, -1, "", -1, std::nullopt));
  ConsumerOffsetsRecord record = decode_ok(offset_key, offset_value);
  auto* commit = std::get_if<ConsumerOffsetsOffsetCommit>(&record);
  ASSERT_NE(commit, nullptr);
  EXPECT_EQ(commit->key.partition, 2147483647);
  ASSERT_TRUE(commit->value.has_value());
  EXPECT_EQ(commit->value->offset, 1LL << 50);
  EXPECT_EQ(commit->value->leader_epoch, -1);
}

}  // namespace
}  // namespace sluice::protocol
