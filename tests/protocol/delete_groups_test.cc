// Tests DeleteGroups v0-v2 against hand-written fixtures derived from DeleteGroupsRequest.json /
// DeleteGroupsResponse.json: v0 and v1 share a layout, v2 is flexible.
#include "protocol/delete_groups.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

DeleteGroupsRequest request_value() {
  DeleteGroupsRequest r;
  r.groups_names = {"g"};
  return r;
}

TEST(DeleteGroups, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // groups_names: 1
      0x00, 0x01, 'g',         //   "g"
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v2 = {
      0x02,       // groups_names: compact 1
      0x02, 'g',  //   "g"
      0x00,       // tagged fields
  };
  testing::expect_fixture(request_value(), v2, 2);
}

DeleteGroupsResponse response_value() {
  DeleteGroupsResponse r;
  r.throttle_time_ms = 5;
  r.results = {{"g", 68}};  // NON_EMPTY_GROUP
  return r;
}

TEST(DeleteGroups, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00, 0x00, 0x01,  // results: 1
      0x00, 0x01, 'g',         //   group_id
      0x00, 0x44,              //   error_code = 68
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(response_value(), v0, version);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02,                    // results: compact 1
      0x02, 'g',               //   group_id
      0x00, 0x44,              //   error_code
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v2, 2);
}

TEST(DeleteGroups, RoundTrips) {
  DeleteGroupsRequest many;
  many.groups_names = {"a", "bb", ""};
  DeleteGroupsResponse mixed;
  mixed.results = {{"a", 0}, {"bb", 69}, {"", 24}};
  for (std::int16_t version = 0; version <= 2; ++version) {
    testing::expect_round_trip(many, version);
    testing::expect_round_trip(mixed, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
