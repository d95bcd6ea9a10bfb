// Tests OffsetForLeaderEpoch v0-v4 against hand-written fixtures derived from
// OffsetForLeaderEpochRequest.json / OffsetForLeaderEpochResponse.json.
#include "protocol/offset_for_leader_epoch.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

OffsetForLeaderEpochRequest request_value() {
  OffsetForLeaderEpochRequest r;
  r.replica_id = -1;
  r.topics = {{"t", {{1, 4, 3}}}};  // partition 1, current_leader_epoch 4, leader_epoch 3
  return r;
}

TEST(OffsetForLeaderEpoch, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // topics: 1
      0x00, 0x01, 't',         //   topic
      0x00, 0x00, 0x00, 0x01,  //   partitions: 1
      0x00, 0x00, 0x00, 0x01,  //     partition
      0x00, 0x00, 0x00, 0x03,  //     leader_epoch
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x01,  //     partition
      0x00, 0x00, 0x00, 0x04,  //     current_leader_epoch (v2+)
      0x00, 0x00, 0x00, 0x03,  //     leader_epoch
  };
  testing::expect_fixture(request_value(), v2, 2);
  const Bytes v3 = {
      0xff, 0xff, 0xff, 0xff,  // replica_id = -1 (v3+)
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03,
  };
  testing::expect_fixture(request_value(), v3, 3);
  const Bytes v4 = {
      0xff, 0xff, 0xff, 0xff,  // replica_id
      0x02, 0x02, 't',         // topics: compact 1, topic
      0x02,                    //   partitions: compact 1
      0x00, 0x00, 0x00, 0x01,  //     partition
      0x00, 0x00, 0x00, 0x04,  //     current_leader_epoch
      0x00, 0x00, 0x00, 0x03,  //     leader_epoch
      0x00, 0x00, 0x00,        //     tagged fields (partition, topic, top level)
  };
  testing::expect_fixture(request_value(), v4, 4);
}

OffsetForLeaderEpochResponse response_value() {
  OffsetForLeaderEpochResponse r;
  r.throttle_time_ms = 5;
  r.topics = {{"t", {{0, 1, 3, 0x10}}}};  // error 0, partition 1, leader_epoch 3, end_offset 16
  return r;
}

TEST(OffsetForLeaderEpoch, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  // topics: 1, topic
      0x00, 0x00, 0x00, 0x01,  //   partitions: 1
      0x00, 0x00,              //     error_code
      0x00, 0x00, 0x00, 0x01,  //     partition
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,  // end_offset
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x03,  //     leader_epoch (v1+)
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
  };
  testing::expect_fixture(response_value(), v1, 1);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms (v2+)
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
  };
  for (std::int16_t version : {2, 3}) testing::expect_fixture(response_value(), v2, version);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02, 0x02, 't', 0x02,   // topics, topic, partitions
      0x00, 0x00,              //     error_code
      0x00, 0x00, 0x00, 0x01,  //     partition
      0x00, 0x00, 0x00, 0x03,  //     leader_epoch
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,  // end_offset
      0x00, 0x00, 0x00,        //     tagged fields (partition, topic, top level)
  };
  testing::expect_fixture(response_value(), v4, 4);
}

TEST(OffsetForLeaderEpoch, RoundTrips) {
  OffsetForLeaderEpochResponse unknown;
  unknown.topics = {{"t", {{74, 0, -1, -1}}}};  // FENCED_LEADER_EPOCH, undefined epoch and offset
  for (std::int16_t version = 0; version <= 4; ++version) {
    testing::expect_round_trip(unknown, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(request_value(), version);
  }
}

}  // namespace
}  // namespace sluice::protocol
