// Tests SyncGroup v0-v5 against hand-written fixtures derived from SyncGroupRequest.json /
// SyncGroupResponse.json: group_instance_id from v3, flexible from v4, protocol type and name v5.
#include "protocol/sync_group.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

SyncGroupRequest request_value() {
  SyncGroupRequest r;
  r.group_id = "g";
  r.generation_id = 1;
  r.member_id = "m";
  r.group_instance_id = "i";
  r.protocol_type = "c";
  r.protocol_name = "r";
  r.assignments = {{"m", {std::byte{0xaa}}}};
  return r;
}

TEST(SyncGroup, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x01, 'g',               // group_id
      0x00, 0x00, 0x00, 0x01,        // generation_id
      0x00, 0x01, 'm',               // member_id
      0x00, 0x00, 0x00, 0x01,        // assignments: 1
      0x00, 0x01, 'm',               //   member_id
      0x00, 0x00, 0x00, 0x01, 0xaa,  //   assignment
  };
  for (std::int16_t version : {0, 1, 2}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v3 = {
      0x00, 0x01, 'g',               // group_id
      0x00, 0x00, 0x00, 0x01,        // generation_id
      0x00, 0x01, 'm',               // member_id
      0x00, 0x01, 'i',               // group_instance_id (v3+)
      0x00, 0x00, 0x00, 0x01,        // assignments: 1
      0x00, 0x01, 'm',               //   member_id
      0x00, 0x00, 0x00, 0x01, 0xaa,  //   assignment
  };
  testing::expect_fixture(request_value(), v3, 3);
  const Bytes v4 = {
      0x02, 'g',               // group_id (compact)
      0x00, 0x00, 0x00, 0x01,  // generation_id
      0x02, 'm',               // member_id
      0x02, 'i',               // group_instance_id
      0x02,                    // assignments: compact 1
      0x02, 'm',               //   member_id
      0x02, 0xaa,              //   assignment (compact bytes)
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v4, 4);
  const Bytes v5 = {
      0x02, 'g',               // group_id
      0x00, 0x00, 0x00, 0x01,  // generation_id
      0x02, 'm',               // member_id
      0x02, 'i',               // group_instance_id
      0x02, 'c',               // protocol_type (v5+)
      0x02, 'r',               // protocol_name (v5+)
      0x02,                    // assignments: compact 1
      0x02, 'm',               //   member_id
      0x02, 0xaa,              //   assignment
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v5, 5);
}

SyncGroupResponse response_value() {
  SyncGroupResponse r;
  r.throttle_time_ms = 5;
  r.error_code = 0;
  r.protocol_type = "c";
  r.protocol_name = "r";
  r.assignment = {std::byte{0xbb}};
  return r;
}

TEST(SyncGroup, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00,                    // error_code
      0x00, 0x00, 0x00, 0x01, 0xbb,  // assignment
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x05,        // throttle_time_ms (v1+)
      0x00, 0x00,                    // error_code
      0x00, 0x00, 0x00, 0x01, 0xbb,  // assignment
  };
  for (std::int16_t version : {1, 2, 3}) testing::expect_fixture(response_value(), v1, version);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x02, 0xbb,              // assignment (compact bytes)
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v4, 4);
  const Bytes v5 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x02, 'c',               // protocol_type (v5+)
      0x02, 'r',               // protocol_name (v5+)
      0x02, 0xbb,              // assignment
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v5, 5);
}

TEST(SyncGroup, RoundTrips) {
  SyncGroupRequest follower = request_value();
  follower.group_instance_id = std::nullopt;
  follower.protocol_type = std::nullopt;
  follower.protocol_name = std::nullopt;
  follower.assignments.clear();
  SyncGroupResponse error;
  error.error_code = 25;  // UNKNOWN_MEMBER_ID
  error.protocol_type = std::nullopt;
  error.protocol_name = std::nullopt;
  for (std::int16_t version = 0; version <= 5; ++version) {
    testing::expect_round_trip(follower, version);
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(error, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
