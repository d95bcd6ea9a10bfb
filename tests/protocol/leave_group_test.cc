// Tests LeaveGroup v0-v5 against hand-written fixtures derived from LeaveGroupRequest.json /
// LeaveGroupResponse.json: one member id up to v2, batched members from v3, flexible from v4,
// a per-member reason from v5.
#include "protocol/leave_group.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

LeaveGroupRequest request_value() {
  LeaveGroupRequest r;
  r.group_id = "g";
  r.member_id = "m";
  r.members = {{"m", "i", "x"}};
  return r;
}

TEST(LeaveGroup, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x01, 'g',  // group_id
      0x00, 0x01, 'm',  // member_id (v0-v2)
  };
  for (std::int16_t version : {0, 1, 2}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v3 = {
      0x00, 0x01, 'g',         // group_id
      0x00, 0x00, 0x00, 0x01,  // members: 1 (v3+)
      0x00, 0x01, 'm',         //   member_id
      0x00, 0x01, 'i',         //   group_instance_id
  };
  testing::expect_fixture(request_value(), v3, 3);
  const Bytes v4 = {
      0x02, 'g',  // group_id (compact)
      0x02,       // members: compact 1
      0x02, 'm',  //   member_id
      0x02, 'i',  //   group_instance_id
      0x00,       //   tagged fields
      0x00,       // tagged fields
  };
  testing::expect_fixture(request_value(), v4, 4);
  const Bytes v5 = {
      0x02, 'g',  // group_id
      0x02,       // members: compact 1
      0x02, 'm',  //   member_id
      0x02, 'i',  //   group_instance_id
      0x02, 'x',  //   reason (v5+)
      0x00,       //   tagged fields
      0x00,       // tagged fields
  };
  testing::expect_fixture(request_value(), v5, 5);
}

LeaveGroupResponse response_value() {
  LeaveGroupResponse r;
  r.throttle_time_ms = 5;
  r.error_code = 0;
  r.members = {{"m", "i", 25}};  // UNKNOWN_MEMBER_ID
  return r;
}

TEST(LeaveGroup, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00,  // error_code
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms (v1+)
      0x00, 0x00,              // error_code
  };
  for (std::int16_t version : {1, 2}) testing::expect_fixture(response_value(), v1, version);
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x00, 0x00, 0x00, 0x01,  // members: 1 (v3+)
      0x00, 0x01, 'm',         //   member_id
      0x00, 0x01, 'i',         //   group_instance_id
      0x00, 0x19,              //   error_code
  };
  testing::expect_fixture(response_value(), v3, 3);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x02,                    // members: compact 1
      0x02, 'm',               //   member_id
      0x02, 'i',               //   group_instance_id
      0x00, 0x19,              //   error_code
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {4, 5}) testing::expect_fixture(response_value(), v4, version);
}

TEST(LeaveGroup, RoundTrips) {
  LeaveGroupRequest batch;
  batch.group_id = "group";
  batch.members = {{"a", std::nullopt, std::nullopt}, {"", "static-1", "shutdown"}};
  LeaveGroupResponse batch_response;
  batch_response.members = {{"a", std::nullopt, 0}, {"", "static-1", 0}};
  for (std::int16_t version = 0; version <= 5; ++version) {
    testing::expect_round_trip(batch, version);
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(batch_response, version);
    testing::expect_round_trip(response_value(), version);
  }
}

}  // namespace
}  // namespace sluice::protocol
