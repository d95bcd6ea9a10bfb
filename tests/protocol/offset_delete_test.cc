// Tests OffsetDelete v0 against hand-written fixtures derived from OffsetDeleteRequest.json /
// OffsetDeleteResponse.json (never flexible; the response has error_code before throttle time).
#include "protocol/offset_delete.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

OffsetDeleteRequest request_value() {
  return OffsetDeleteRequest{.group_id = "g", .topics = {{"t", {{0}, {2}}}}};
}

TEST(OffsetDelete, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x01, 'g',         // group_id
      0x00, 0x00, 0x00, 0x01,  // topics: 1
      0x00, 0x01, 't',         //   name
      0x00, 0x00, 0x00, 0x02,  //   partitions: 2
      0x00, 0x00, 0x00, 0x00,  //     partition_index
      0x00, 0x00, 0x00, 0x02,  //     partition_index
  };
  testing::expect_fixture(request_value(), v0, 0);
}

OffsetDeleteResponse response_value() {
  OffsetDeleteResponse r;
  r.error_code = 0;
  r.throttle_time_ms = 5;
  r.topics = {{"t", {{0, 0}, {2, 86}}}};  // 86: GROUP_SUBSCRIBED_TO_TOPIC
  return r;
}

TEST(OffsetDelete, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00,              // error_code
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00, 0x00, 0x01,  // topics: 1
      0x00, 0x01, 't',         //   name
      0x00, 0x00, 0x00, 0x02,  //   partitions: 2
      0x00, 0x00, 0x00, 0x00,  //     partition_index
      0x00, 0x00,              //     error_code
      0x00, 0x00, 0x00, 0x02,  //     partition_index
      0x00, 0x56,              //     error_code = 86
  };
  testing::expect_fixture(response_value(), v0, 0);
}

TEST(OffsetDelete, RoundTrips) {
  OffsetDeleteResponse error;
  error.error_code = 69;  // GROUP_ID_NOT_FOUND
  OffsetDeleteRequest empty;
  empty.group_id = "group";
  testing::expect_round_trip(error, 0);
  testing::expect_round_trip(empty, 0);
  testing::expect_round_trip(request_value(), 0);
}

}  // namespace
}  // namespace sluice::protocol
