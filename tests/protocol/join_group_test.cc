// Tests JoinGroup v0-v9 against hand-written fixtures derived from JoinGroupRequest.json /
// JoinGroupResponse.json: rebalance timeout from v1, throttle time v2, group_instance_id v5,
// flexible v6, response protocol type (and nullable protocol name) v7, reason v8,
// skip_assignment v9.
#include "protocol/join_group.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

JoinGroupRequest request_value() {
  JoinGroupRequest r;
  r.group_id = "g";
  r.session_timeout_ms = 10000;
  r.rebalance_timeout_ms = 300000;
  r.member_id = "";
  r.group_instance_id = "i";
  r.protocol_type = "c";
  r.protocols = {{"r", {std::byte{0xaa}}}};
  r.reason = "x";
  return r;
}

TEST(JoinGroup, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x01, 'g',               // group_id
      0x00, 0x00, 0x27, 0x10,        // session_timeout_ms = 10000
      0x00, 0x00,                    // member_id = ""
      0x00, 0x01, 'c',               // protocol_type
      0x00, 0x00, 0x00, 0x01,        // protocols: 1
      0x00, 0x01, 'r',               //   name
      0x00, 0x00, 0x00, 0x01, 0xaa,  //   metadata
  };
  testing::expect_fixture(request_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x01, 'g',               // group_id
      0x00, 0x00, 0x27, 0x10,        // session_timeout_ms
      0x00, 0x04, 0x93, 0xe0,        // rebalance_timeout_ms = 300000 (v1+)
      0x00, 0x00,                    // member_id
      0x00, 0x01, 'c',               // protocol_type
      0x00, 0x00, 0x00, 0x01,        // protocols: 1
      0x00, 0x01, 'r',               //   name
      0x00, 0x00, 0x00, 0x01, 0xaa,  //   metadata
  };
  for (std::int16_t version : {1, 2, 3, 4}) testing::expect_fixture(request_value(), v1, version);
  const Bytes v5 = {
      0x00, 0x01, 'g',               // group_id
      0x00, 0x00, 0x27, 0x10,        // session_timeout_ms
      0x00, 0x04, 0x93, 0xe0,        // rebalance_timeout_ms
      0x00, 0x00,                    // member_id
      0x00, 0x01, 'i',               // group_instance_id (v5+)
      0x00, 0x01, 'c',               // protocol_type
      0x00, 0x00, 0x00, 0x01,        // protocols: 1
      0x00, 0x01, 'r',               //   name
      0x00, 0x00, 0x00, 0x01, 0xaa,  //   metadata
  };
  testing::expect_fixture(request_value(), v5, 5);
  const Bytes v6 = {
      0x02, 'g',               // group_id (compact)
      0x00, 0x00, 0x27, 0x10,  // session_timeout_ms
      0x00, 0x04, 0x93, 0xe0,  // rebalance_timeout_ms
      0x01,                    // member_id = "" (compact)
      0x02, 'i',               // group_instance_id
      0x02, 'c',               // protocol_type
      0x02,                    // protocols: compact 1
      0x02, 'r',               //   name
      0x02, 0xaa,              //   metadata (compact bytes)
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {6, 7}) testing::expect_fixture(request_value(), v6, version);
  const Bytes v8 = {
      0x02, 'g',               // group_id
      0x00, 0x00, 0x27, 0x10,  // session_timeout_ms
      0x00, 0x04, 0x93, 0xe0,  // rebalance_timeout_ms
      0x01,                    // member_id = ""
      0x02, 'i',               // group_instance_id
      0x02, 'c',               // protocol_type
      0x02,                    // protocols: compact 1
      0x02, 'r',               //   name
      0x02, 0xaa,              //   metadata
      0x00,                    //   tagged fields
      0x02, 'x',               // reason (v8+)
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {8, 9}) testing::expect_fixture(request_value(), v8, version);
}

JoinGroupResponse response_value() {
  JoinGroupResponse r;
  r.throttle_time_ms = 5;
  r.error_code = 0;
  r.generation_id = 3;
  r.protocol_type = "c";
  r.protocol_name = "r";
  r.leader = "m";
  r.skip_assignment = true;
  r.member_id = "m";
  r.members = {{"m", "i", {std::byte{0xbb}}}};
  return r;
}

TEST(JoinGroup, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00,                    // error_code
      0x00, 0x00, 0x00, 0x03,        // generation_id
      0x00, 0x01, 'r',               // protocol_name
      0x00, 0x01, 'm',               // leader
      0x00, 0x01, 'm',               // member_id
      0x00, 0x00, 0x00, 0x01,        // members: 1
      0x00, 0x01, 'm',               //   member_id
      0x00, 0x00, 0x00, 0x01, 0xbb,  //   metadata
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(response_value(), v0, version);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x05,        // throttle_time_ms (v2+)
      0x00, 0x00,                    // error_code
      0x00, 0x00, 0x00, 0x03,        // generation_id
      0x00, 0x01, 'r',               // protocol_name
      0x00, 0x01, 'm',               // leader
      0x00, 0x01, 'm',               // member_id
      0x00, 0x00, 0x00, 0x01,        // members: 1
      0x00, 0x01, 'm',               //   member_id
      0x00, 0x00, 0x00, 0x01, 0xbb,  //   metadata
  };
  for (std::int16_t version : {2, 3, 4}) testing::expect_fixture(response_value(), v2, version);
  const Bytes v5 = {
      0x00, 0x00, 0x00, 0x05,        // throttle_time_ms
      0x00, 0x00,                    // error_code
      0x00, 0x00, 0x00, 0x03,        // generation_id
      0x00, 0x01, 'r',               // protocol_name
      0x00, 0x01, 'm',               // leader
      0x00, 0x01, 'm',               // member_id
      0x00, 0x00, 0x00, 0x01,        // members: 1
      0x00, 0x01, 'm',               //   member_id
      0x00, 0x01, 'i',               //   group_instance_id (v5+)
      0x00, 0x00, 0x00, 0x01, 0xbb,  //   metadata
  };
  testing::expect_fixture(response_value(), v5, 5);
  const Bytes v6 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x00, 0x00, 0x00, 0x03,  // generation_id
      0x02, 'r',               // protocol_name (compact)
      0x02, 'm',               // leader
      0x02, 'm',               // member_id
      0x02,                    // members: compact 1
      0x02, 'm',               //   member_id
      0x02, 'i',               //   group_instance_id
      0x02, 0xbb,              //   metadata (compact bytes)
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v6, 6);
  const Bytes v7 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x00, 0x00, 0x00, 0x03,  // generation_id
      0x02, 'c',               // protocol_type (v7+)
      0x02, 'r',               // protocol_name
      0x02, 'm',               // leader
      0x02, 'm',               // member_id
      0x02,                    // members: compact 1
      0x02, 'm',               //   member_id
      0x02, 'i',               //   group_instance_id
      0x02, 0xbb,              //   metadata
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {7, 8}) testing::expect_fixture(response_value(), v7, version);
  const Bytes v9 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x00, 0x00, 0x00, 0x03,  // generation_id
      0x02, 'c',               // protocol_type
      0x02, 'r',               // protocol_name
      0x02, 'm',               // leader
      0x01,                    // skip_assignment = true (v9+)
      0x02, 'm',               // member_id
      0x02,                    // members: compact 1
      0x02, 'm',               //   member_id
      0x02, 'i',               //   group_instance_id
      0x02, 0xbb,              //   metadata
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v9, 9);
}

// From v7 the protocol type and name are nullable: a MEMBER_ID_REQUIRED answer sends both null.
TEST(JoinGroup, NullProtocolFromV7) {
  JoinGroupResponse r;
  r.error_code = 79;  // MEMBER_ID_REQUIRED
  r.generation_id = -1;
  r.protocol_type = std::nullopt;
  r.protocol_name = std::nullopt;
  r.member_id = "m";
  const Bytes v7 = {
      0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
      0x00, 0x4f,              // error_code = 79
      0xff, 0xff, 0xff, 0xff,  // generation_id = -1
      0x00,                    // protocol_type: null
      0x00,                    // protocol_name: null
      0x01,                    // leader = ""
      0x02, 'm',               // member_id
      0x01,                    // members: compact 0
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {7, 8}) testing::expect_fixture(r, v7, version);
}

TEST(JoinGroup, RoundTrips) {
  JoinGroupRequest first_join;
  first_join.group_id = "group";
  first_join.session_timeout_ms = 45000;
  first_join.protocol_type = "consumer";
  first_join.protocols = {{"range", {}}, {"cooperative-sticky", {std::byte{0}, std::byte{3}}}};
  JoinGroupResponse follower = response_value();
  follower.members.clear();
  follower.skip_assignment = false;
  for (std::int16_t version = 0; version <= 9; ++version) {
    testing::expect_round_trip(first_join, version);
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(follower, version);
    testing::expect_round_trip(response_value(), version);
  }
}

}  // namespace
}  // namespace sluice::protocol
