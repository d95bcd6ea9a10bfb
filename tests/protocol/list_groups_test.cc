// Tests ListGroups v0-v4 against hand-written fixtures derived from ListGroupsRequest.json /
// ListGroupsResponse.json: throttle time from v1, flexible from v3, states filter and group state
// from v4.
#include "protocol/list_groups.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

ListGroupsRequest request_value() {
  ListGroupsRequest r;
  r.states_filter = {"s"};
  return r;
}

TEST(ListGroups, RequestFixtures) {
  const Bytes v0 = {};  // no fields before v4
  for (std::int16_t version : {0, 1, 2}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v3 = {
      0x00,  // tagged fields
  };
  testing::expect_fixture(request_value(), v3, 3);
  const Bytes v4 = {
      0x02,       // states_filter: compact 1 (v4+)
      0x02, 's',  //   "s"
      0x00,       // tagged fields
  };
  testing::expect_fixture(request_value(), v4, 4);
}

ListGroupsResponse response_value() {
  ListGroupsResponse r;
  r.throttle_time_ms = 5;
  r.error_code = 0;
  r.groups = {{"g", "c", "s"}};
  return r;
}

TEST(ListGroups, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00,              // error_code
      0x00, 0x00, 0x00, 0x01,  // groups: 1
      0x00, 0x01, 'g',         //   group_id
      0x00, 0x01, 'c',         //   protocol_type
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms (v1+)
      0x00, 0x00,              // error_code
      0x00, 0x00, 0x00, 0x01,  // groups: 1
      0x00, 0x01, 'g',         //   group_id
      0x00, 0x01, 'c',         //   protocol_type
  };
  for (std::int16_t version : {1, 2}) testing::expect_fixture(response_value(), v1, version);
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x02,                    // groups: compact 1
      0x02, 'g',               //   group_id
      0x02, 'c',               //   protocol_type
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v3, 3);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x02,                    // groups: compact 1
      0x02, 'g',               //   group_id
      0x02, 'c',               //   protocol_type
      0x02, 's',               //   group_state (v4+)
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v4, 4);
}

TEST(ListGroups, RoundTrips) {
  ListGroupsRequest all;
  ListGroupsResponse many;
  many.groups = {{"a", "consumer", "Stable"}, {"b", "", "Empty"}, {"c", "connect", "PreparingRebalance"}};
  for (std::int16_t version = 0; version <= 4; ++version) {
    testing::expect_round_trip(all, version);
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(many, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
