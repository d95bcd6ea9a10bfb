// Tests Heartbeat v0-v4 against hand-written fixtures derived from HeartbeatRequest.json /
// HeartbeatResponse.json: group_instance_id from v3, throttle time from v1, flexible from v4.
#include "protocol/heartbeat.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

HeartbeatRequest request_value() {
  return HeartbeatRequest{.group_id = "g", .generation_id = 1, .member_id = "m", .group_instance_id = "i"};
}

TEST(Heartbeat, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x01, 'g',         // group_id
      0x00, 0x00, 0x00, 0x01,  // generation_id
      0x00, 0x01, 'm',         // member_id
  };
  for (std::int16_t version : {0, 1, 2}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v3 = {
      0x00, 0x01, 'g',         // group_id
      0x00, 0x00, 0x00, 0x01,  // generation_id
      0x00, 0x01, 'm',         // member_id
      0x00, 0x01, 'i',         // group_instance_id (v3+)
  };
  testing::expect_fixture(request_value(), v3, 3);
  const Bytes v4 = {
      0x02, 'g',               // group_id (compact)
      0x00, 0x00, 0x00, 0x01,  // generation_id
      0x02, 'm',               // member_id
      0x02, 'i',               // group_instance_id
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v4, 4);
}

HeartbeatResponse response_value() {
  HeartbeatResponse r;
  r.throttle_time_ms = 5;
  r.error_code = 27;  // REBALANCE_IN_PROGRESS
  return r;
}

TEST(Heartbeat, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x1b,  // error_code
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms (v1+)
      0x00, 0x1b,              // error_code
  };
  for (std::int16_t version : {1, 2, 3}) testing::expect_fixture(response_value(), v1, version);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x1b,              // error_code
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v4, 4);
}

TEST(Heartbeat, RoundTrips) {
  HeartbeatRequest dynamic_member = request_value();
  dynamic_member.group_instance_id = std::nullopt;
  dynamic_member.member_id = "consumer-1-0b7d";
  for (std::int16_t version = 0; version <= 4; ++version) {
    testing::expect_round_trip(dynamic_member, version);
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(response_value(), version);
  }
}

}  // namespace
}  // namespace sluice::protocol
