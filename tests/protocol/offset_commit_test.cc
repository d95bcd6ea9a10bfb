// Tests OffsetCommit v0-v8 against hand-written fixtures derived from OffsetCommitRequest.json /
// OffsetCommitResponse.json: generation and member id from v1 (with a per-partition commit
// timestamp in v1 only), retention time v2-v4, throttle time v3, leader epoch v6,
// group_instance_id v7, flexible v8.
#include "protocol/offset_commit.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

OffsetCommitRequest request_value() {
  OffsetCommitRequest r;
  r.group_id = "g";
  r.generation_id = 1;
  r.member_id = "m";
  r.group_instance_id = "i";
  r.retention_time_ms = 1000;
  OffsetCommitRequest::Partition p;
  p.partition_index = 0;
  p.committed_offset = 100;
  p.committed_leader_epoch = 2;
  p.commit_timestamp = 7;
  p.committed_metadata = "d";
  r.topics = {{"t", {p}}};
  return r;
}

TEST(OffsetCommit, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x01, 'g',                                 // group_id
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset = 100
      0x00, 0x01, 'd',                                 //     committed_metadata
  };
  testing::expect_fixture(request_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x01, 'g',                                 // group_id
      0x00, 0x00, 0x00, 0x01,                          // generation_id (v1+)
      0x00, 0x01, 'm',                                 // member_id (v1+)
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  //     commit_timestamp (v1 only)
      0x00, 0x01, 'd',                                 //     committed_metadata
  };
  testing::expect_fixture(request_value(), v1, 1);
  const Bytes v2 = {
      0x00, 0x01, 'g',                                 // group_id
      0x00, 0x00, 0x00, 0x01,                          // generation_id
      0x00, 0x01, 'm',                                 // member_id
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  // retention_time_ms = 1000 (v2-v4)
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset
      0x00, 0x01, 'd',                                 //     committed_metadata
  };
  for (std::int16_t version : {2, 3, 4}) testing::expect_fixture(request_value(), v2, version);
  const Bytes v5 = {
      0x00, 0x01, 'g',                                 // group_id
      0x00, 0x00, 0x00, 0x01,                          // generation_id
      0x00, 0x01, 'm',                                 // member_id
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset
      0x00, 0x01, 'd',                                 //     committed_metadata
  };
  testing::expect_fixture(request_value(), v5, 5);
  const Bytes v6 = {
      0x00, 0x01, 'g',                                 // group_id
      0x00, 0x00, 0x00, 0x01,                          // generation_id
      0x00, 0x01, 'm',                                 // member_id
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset
      0x00, 0x00, 0x00, 0x02,                          //     committed_leader_epoch (v6+)
      0x00, 0x01, 'd',                                 //     committed_metadata
  };
  testing::expect_fixture(request_value(), v6, 6);
  const Bytes v7 = {
      0x00, 0x01, 'g',                                 // group_id
      0x00, 0x00, 0x00, 0x01,                          // generation_id
      0x00, 0x01, 'm',                                 // member_id
      0x00, 0x01, 'i',                                 // group_instance_id (v7+)
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset
      0x00, 0x00, 0x00, 0x02,                          //     committed_leader_epoch
      0x00, 0x01, 'd',                                 //     committed_metadata
  };
  testing::expect_fixture(request_value(), v7, 7);
  const Bytes v8 = {
      0x02, 'g',                                       // group_id (compact)
      0x00, 0x00, 0x00, 0x01,                          // generation_id
      0x02, 'm',                                       // member_id
      0x02, 'i',                                       // group_instance_id
      0x02,                                            // topics: compact 1
      0x02, 't',                                       //   name
      0x02,                                            //   partitions: compact 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset
      0x00, 0x00, 0x00, 0x02,                          //     committed_leader_epoch
      0x02, 'd',                                       //     committed_metadata
      0x00,                                            //     tagged fields
      0x00,                                            //   tagged fields
      0x00,                                            // tagged fields
  };
  testing::expect_fixture(request_value(), v8, 8);
}

OffsetCommitResponse response_value() {
  OffsetCommitResponse r;
  r.throttle_time_ms = 5;
  r.topics = {{"t", {{0, 0}, {1, 22}}}};  // 22: ILLEGAL_GENERATION
  return r;
}

TEST(OffsetCommit, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // topics: 1
      0x00, 0x01, 't',         //   name
      0x00, 0x00, 0x00, 0x02,  //   partitions: 2
      0x00, 0x00, 0x00, 0x00,  //     partition_index
      0x00, 0x00,              //     error_code
      0x00, 0x00, 0x00, 0x01,  //     partition_index
      0x00, 0x16,              //     error_code = 22
  };
  for (std::int16_t version : {0, 1, 2}) testing::expect_fixture(response_value(), v0, version);
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms (v3+)
      0x00, 0x00, 0x00, 0x01,  // topics: 1
      0x00, 0x01, 't',         //   name
      0x00, 0x00, 0x00, 0x02,  //   partitions: 2
      0x00, 0x00, 0x00, 0x00,  //     partition_index
      0x00, 0x00,              //     error_code
      0x00, 0x00, 0x00, 0x01,  //     partition_index
      0x00, 0x16,              //     error_code
  };
  for (std::int16_t version : {3, 4, 5, 6, 7}) testing::expect_fixture(response_value(), v3, version);
  const Bytes v8 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02,                    // topics: compact 1
      0x02, 't',               //   name
      0x03,                    //   partitions: compact 2
      0x00, 0x00, 0x00, 0x00,  //     partition_index
      0x00, 0x00,              //     error_code
      0x00,                    //     tagged fields
      0x00, 0x00, 0x00, 0x01,  //     partition_index
      0x00, 0x16,              //     error_code
      0x00,                    //     tagged fields
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v8, 8);
}

TEST(OffsetCommit, RoundTrips) {
  OffsetCommitRequest standalone;  // generation -1, no member: a commit outside group management
  standalone.group_id = "group";
  OffsetCommitRequest::Partition p;
  p.partition_index = 7;
  p.committed_offset = 1LL << 40;
  p.committed_metadata = std::nullopt;
  standalone.topics = {{"a", {p, p}}, {"b", {}}};
  for (std::int16_t version = 0; version <= 8; ++version) {
    testing::expect_round_trip(standalone, version);
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(response_value(), version);
  }
}

}  // namespace
}  // namespace sluice::protocol
