// Tests DescribeGroups v0-v5 against hand-written fixtures derived from DescribeGroupsRequest.json /
// DescribeGroupsResponse.json: throttle time from v1, authorized operations v3, member
// group_instance_id v4, flexible v5.
#include "protocol/describe_groups.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

DescribeGroupsRequest request_value() {
  DescribeGroupsRequest r;
  r.groups = {"g"};
  r.include_authorized_operations = true;
  return r;
}

TEST(DescribeGroups, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // groups: 1
      0x00, 0x01, 'g',         //   "g"
  };
  for (std::int16_t version : {0, 1, 2}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x01,  // groups: 1
      0x00, 0x01, 'g',         //   "g"
      0x01,                    // include_authorized_operations (v3+)
  };
  for (std::int16_t version : {3, 4}) testing::expect_fixture(request_value(), v3, version);
  const Bytes v5 = {
      0x02,       // groups: compact 1
      0x02, 'g',  //   "g"
      0x01,       // include_authorized_operations
      0x00,       // tagged fields
  };
  testing::expect_fixture(request_value(), v5, 5);
}

DescribeGroupsResponse response_value() {
  DescribeGroupsResponse r;
  r.throttle_time_ms = 5;
  DescribeGroupsResponse::Group g;
  g.error_code = 0;
  g.group_id = "g";
  g.group_state = "s";
  g.protocol_type = "c";
  g.protocol_data = "r";
  g.members = {{"m", "i", "k", "h", {std::byte{0xaa}}, {std::byte{0xbb}}}};
  g.authorized_operations = 8;
  r.groups = {g};
  return r;
}

TEST(DescribeGroups, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,        // groups: 1
      0x00, 0x00,                    //   error_code
      0x00, 0x01, 'g',               //   group_id
      0x00, 0x01, 's',               //   group_state
      0x00, 0x01, 'c',               //   protocol_type
      0x00, 0x01, 'r',               //   protocol_data
      0x00, 0x00, 0x00, 0x01,        //   members: 1
      0x00, 0x01, 'm',               //     member_id
      0x00, 0x01, 'k',               //     client_id
      0x00, 0x01, 'h',               //     client_host
      0x00, 0x00, 0x00, 0x01, 0xaa,  //     member_metadata
      0x00, 0x00, 0x00, 0x01, 0xbb,  //     member_assignment
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x05,        // throttle_time_ms (v1+)
      0x00, 0x00, 0x00, 0x01,        // groups: 1
      0x00, 0x00,                    //   error_code
      0x00, 0x01, 'g',               //   group_id
      0x00, 0x01, 's',               //   group_state
      0x00, 0x01, 'c',               //   protocol_type
      0x00, 0x01, 'r',               //   protocol_data
      0x00, 0x00, 0x00, 0x01,        //   members: 1
      0x00, 0x01, 'm',               //     member_id
      0x00, 0x01, 'k',               //     client_id
      0x00, 0x01, 'h',               //     client_host
      0x00, 0x00, 0x00, 0x01, 0xaa,  //     member_metadata
      0x00, 0x00, 0x00, 0x01, 0xbb,  //     member_assignment
  };
  for (std::int16_t version : {1, 2}) testing::expect_fixture(response_value(), v1, version);
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x05,        // throttle_time_ms
      0x00, 0x00, 0x00, 0x01,        // groups: 1
      0x00, 0x00,                    //   error_code
      0x00, 0x01, 'g',               //   group_id
      0x00, 0x01, 's',               //   group_state
      0x00, 0x01, 'c',               //   protocol_type
      0x00, 0x01, 'r',               //   protocol_data
      0x00, 0x00, 0x00, 0x01,        //   members: 1
      0x00, 0x01, 'm',               //     member_id
      0x00, 0x01, 'k',               //     client_id
      0x00, 0x01, 'h',               //     client_host
      0x00, 0x00, 0x00, 0x01, 0xaa,  //     member_metadata
      0x00, 0x00, 0x00, 0x01, 0xbb,  //     member_assignment
      0x00, 0x00, 0x00, 0x08,        //   authorized_operations (v3+)
  };
  testing::expect_fixture(response_value(), v3, 3);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x05,        // throttle_time_ms
      0x00, 0x00, 0x00, 0x01,        // groups: 1
      0x00, 0x00,                    //   error_code
      0x00, 0x01, 'g',               //   group_id
      0x00, 0x01, 's',               //   group_state
      0x00, 0x01, 'c',               //   protocol_type
      0x00, 0x01, 'r',               //   protocol_data
      0x00, 0x00, 0x00, 0x01,        //   members: 1
      0x00, 0x01, 'm',               //     member_id
      0x00, 0x01, 'i',               //     group_instance_id (v4+)
      0x00, 0x01, 'k',               //     client_id
      0x00, 0x01, 'h',               //     client_host
      0x00, 0x00, 0x00, 0x01, 0xaa,  //     member_metadata
      0x00, 0x00, 0x00, 0x01, 0xbb,  //     member_assignment
      0x00, 0x00, 0x00, 0x08,        //   authorized_operations
  };
  testing::expect_fixture(response_value(), v4, 4);
  const Bytes v5 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02,                    // groups: compact 1
      0x00, 0x00,              //   error_code
      0x02, 'g',               //   group_id
      0x02, 's',               //   group_state
      0x02, 'c',               //   protocol_type
      0x02, 'r',               //   protocol_data
      0x02,                    //   members: compact 1
      0x02, 'm',               //     member_id
      0x02, 'i',               //     group_instance_id
      0x02, 'k',               //     client_id
      0x02, 'h',               //     client_host
      0x02, 0xaa,              //     member_metadata (compact bytes)
      0x02, 0xbb,              //     member_assignment
      0x00,                    //     tagged fields
      0x00, 0x00, 0x00, 0x08,  //   authorized_operations
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v5, 5);
}

TEST(DescribeGroups, RoundTrips) {
  DescribeGroupsResponse dead;
  DescribeGroupsResponse::Group g;
  g.error_code = 69;  // GROUP_ID_NOT_FOUND
  g.group_id = "gone";
  g.group_state = "Dead";
  dead.groups = {g, response_value().groups[0]};
  DescribeGroupsRequest two;
  two.groups = {"a", "b"};
  for (std::int16_t version = 0; version <= 5; ++version) {
    testing::expect_round_trip(dead, version);
    testing::expect_round_trip(two, version);
    testing::expect_round_trip(request_value(), version);
  }
}

}  // namespace
}  // namespace sluice::protocol
