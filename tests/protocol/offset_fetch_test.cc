// Tests OffsetFetch v0-v8 against hand-written fixtures derived from OffsetFetchRequest.json /
// OffsetFetchResponse.json: nullable topics (= all) from v2, top-level error v2-v7, throttle time
// v3, leader epoch v5, flexible v6, require_stable v7, batched groups v8.
#include "protocol/offset_fetch.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

OffsetFetchRequest request_value() {
  OffsetFetchRequest r;
  r.group_id = "g";
  r.topics = std::vector<OffsetFetchRequest::Topic>{{"t", {0, 1}}};
  r.groups = {{"g", r.topics}};
  r.require_stable = true;
  return r;
}

TEST(OffsetFetch, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x01, 'g',         // group_id
      0x00, 0x00, 0x00, 0x01,  // topics: 1
      0x00, 0x01, 't',         //   name
      0x00, 0x00, 0x00, 0x02,  //   partition_indexes: 2
      0x00, 0x00, 0x00, 0x00,  //     0
      0x00, 0x00, 0x00, 0x01,  //     1
  };
  for (std::int16_t version : {0, 1, 2, 3, 4, 5}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v6 = {
      0x02, 'g',               // group_id (compact)
      0x02,                    // topics: compact 1
      0x02, 't',               //   name
      0x03,                    //   partition_indexes: compact 2
      0x00, 0x00, 0x00, 0x00,  //     0
      0x00, 0x00, 0x00, 0x01,  //     1
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v6, 6);
  const Bytes v7 = {
      0x02, 'g',               // group_id
      0x02,                    // topics: compact 1
      0x02, 't',               //   name
      0x03,                    //   partition_indexes: compact 2
      0x00, 0x00, 0x00, 0x00,  //     0
      0x00, 0x00, 0x00, 0x01,  //     1
      0x00,                    //   tagged fields
      0x01,                    // require_stable (v7+)
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v7, 7);
  const Bytes v8 = {
      0x02,                    // groups: compact 1 (v8+; group_id and topics are gone)
      0x02, 'g',               //   group_id
      0x02,                    //   topics: compact 1
      0x02, 't',               //     name
      0x03,                    //     partition_indexes: compact 2
      0x00, 0x00, 0x00, 0x00,  //       0
      0x00, 0x00, 0x00, 0x01,  //       1
      0x00,                    //     tagged fields
      0x00,                    //   tagged fields
      0x01,                    // require_stable
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v8, 8);
}

// Null topics ask for every committed partition: nullable from v2 (and per group from v8).
TEST(OffsetFetch, RequestAllTopicsFixtures) {
  OffsetFetchRequest r;
  r.group_id = "g";
  r.topics = std::nullopt;
  r.groups = {{"g", std::nullopt}};
  r.require_stable = false;
  const Bytes v2 = {
      0x00, 0x01, 'g',         // group_id
      0xff, 0xff, 0xff, 0xff,  // topics: null
  };
  for (std::int16_t version : {2, 3, 4, 5}) testing::expect_fixture(r, v2, version);
  const Bytes v6 = {
      0x02, 'g',  // group_id
      0x00,       // topics: null (compact)
      0x00,       // tagged fields
  };
  testing::expect_fixture(r, v6, 6);
  const Bytes v7 = {
      0x02, 'g',  // group_id
      0x00,       // topics: null
      0x00,       // require_stable = false
      0x00,       // tagged fields
  };
  testing::expect_fixture(r, v7, 7);
  const Bytes v8 = {
      0x02,       // groups: compact 1
      0x02, 'g',  //   group_id
      0x00,       //   topics: null
      0x00,       //   tagged fields
      0x00,       // require_stable
      0x00,       // tagged fields
  };
  testing::expect_fixture(r, v8, 8);
}

OffsetFetchResponse response_value() {
  OffsetFetchResponse r;
  r.throttle_time_ms = 5;
  OffsetFetchResponse::Partition p;
  p.partition_index = 0;
  p.committed_offset = 100;
  p.committed_leader_epoch = 2;
  p.metadata = "d";
  p.error_code = 0;
  r.topics = {{"t", {p}}};
  r.error_code = 0;
  r.groups = {{"g", r.topics, 0}};
  return r;
}

TEST(OffsetFetch, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset = 100
      0x00, 0x01, 'd',                                 //     metadata
      0x00, 0x00,                                      //     error_code
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(response_value(), v0, version);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset
      0x00, 0x01, 'd',                                 //     metadata
      0x00, 0x00,                                      //     error_code
      0x00, 0x00,                                      // error_code (v2-v7)
  };
  testing::expect_fixture(response_value(), v2, 2);
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x05,                          // throttle_time_ms (v3+)
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset
      0x00, 0x01, 'd',                                 //     metadata
      0x00, 0x00,                                      //     error_code
      0x00, 0x00,                                      // error_code
  };
  for (std::int16_t version : {3, 4}) testing::expect_fixture(response_value(), v3, version);
  const Bytes v5 = {
      0x00, 0x00, 0x00, 0x05,                          // throttle_time_ms
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset
      0x00, 0x00, 0x00, 0x02,                          //     committed_leader_epoch (v5+)
      0x00, 0x01, 'd',                                 //     metadata
      0x00, 0x00,                                      //     error_code
      0x00, 0x00,                                      // error_code
  };
  testing::expect_fixture(response_value(), v5, 5);
  const Bytes v6 = {
      0x00, 0x00, 0x00, 0x05,                          // throttle_time_ms
      0x02,                                            // topics: compact 1
      0x02, 't',                                       //   name
      0x02,                                            //   partitions: compact 1
      0x00, 0x00, 0x00, 0x00,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     committed_offset
      0x00, 0x00, 0x00, 0x02,                          //     committed_leader_epoch
      0x02, 'd',                                       //     metadata
      0x00, 0x00,                                      //     error_code
      0x00,                                            //     tagged fields
      0x00,                                            //   tagged fields
      0x00, 0x00,                                      // error_code
      0x00,                                            // tagged fields
  };
  for (std::int16_t version : {6, 7}) testing::expect_fixture(response_value(), v6, version);
  const Bytes v8 = {
      0x00, 0x00, 0x00, 0x05,                          // throttle_time_ms
      0x02,                                            // groups: compact 1 (v8+)
      0x02, 'g',                                       //   group_id
      0x02,                                            //   topics: compact 1
      0x02, 't',                                       //     name
      0x02,                                            //     partitions: compact 1
      0x00, 0x00, 0x00, 0x00,                          //       partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //       committed_offset
      0x00, 0x00, 0x00, 0x02,                          //       committed_leader_epoch
      0x02, 'd',                                       //       metadata
      0x00, 0x00,                                      //       error_code
      0x00,                                            //       tagged fields
      0x00,                                            //     tagged fields
      0x00, 0x00,                                      //   error_code
      0x00,                                            //   tagged fields
      0x00,                                            // tagged fields
  };
  testing::expect_fixture(response_value(), v8, 8);
}

TEST(OffsetFetch, RoundTrips) {
  OffsetFetchResponse none = response_value();  // no committed offset: -1 and null metadata
  none.topics[0].partitions[0].committed_offset = -1;
  none.topics[0].partitions[0].committed_leader_epoch = -1;
  none.topics[0].partitions[0].metadata = std::nullopt;
  none.error_code = 16;  // NOT_COORDINATOR
  none.groups = {{"a", none.topics, 16}, {"b", {}, 0}};
  OffsetFetchRequest groups;
  groups.group_id = "a";
  groups.topics = std::vector<OffsetFetchRequest::Topic>{};
  groups.groups = {{"a", std::nullopt}, {"b", std::vector<OffsetFetchRequest::Topic>{{"t", {}}}}};
  for (std::int16_t version = 0; version <= 8; ++version) {
    testing::expect_round_trip(none, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(groups, version);
    testing::expect_round_trip(request_value(), version);
  }
}

}  // namespace
}  // namespace sluice::protocol
