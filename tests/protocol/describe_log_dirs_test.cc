// Tests DescribeLogDirs v0-v4 against hand-written fixtures derived from DescribeLogDirsRequest.json
// / DescribeLogDirsResponse.json: the request is the same in every version (null topics = all);
// the response adds a top-level error code in v3 and total/usable bytes in v4. Flexible from v2;
// unknown tags are skipped; truncated inputs fail to decode.
#include "protocol/describe_log_dirs.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

DescribeLogDirsRequest request_value() {
  DescribeLogDirsRequest r;
  r.topics = std::vector<DescribeLogDirsRequest::Topic>{{"t", {0, 1}}};
  return r;
}

TEST(DescribeLogDirs, RequestFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // topics: 1
      0x00, 0x01, 't',         //   topic
      0x00, 0x00, 0x00, 0x02,  //   partitions: 2
      0x00, 0x00, 0x00, 0x00,  //     0
      0x00, 0x00, 0x00, 0x01,  //     1
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v2 = {
      0x02,                    // topics: compact 1
      0x02, 't',               //   topic
      0x03,                    //   partitions: compact 2
      0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x01,
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {2, 3, 4}) testing::expect_fixture(request_value(), v2, version);
}

TEST(DescribeLogDirs, RequestNullTopicsMeansAll) {
  // Null topics (every topic) is length -1, or compact 0 from v2.
  DescribeLogDirsRequest all;
  testing::expect_fixture(all, Bytes{0xff, 0xff, 0xff, 0xff}, 0);
  testing::expect_fixture(all, Bytes{0xff, 0xff, 0xff, 0xff}, 1);
  for (std::int16_t version : {2, 3, 4}) testing::expect_fixture(all, Bytes{0x00, 0x00}, version);
  DescribeLogDirsRequest none;  // an empty list is not null: it asks for nothing
  none.topics.emplace();
  testing::expect_fixture(none, Bytes{0x01, 0x00}, 4);
}

TEST(DescribeLogDirs, RequestUnknownTagsSkipped) {
  // Unknown tags in a topic and at the top level are skipped.
  Bytes wire = {
      0x02, 0x02, 't', 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
      0x01, 0x06, 0x01, 0x2a,  //   tagged fields: tag 6, 1 byte
      0x01, 0x00, 0x00,        // tagged fields: tag 0, empty
  };
  Reader reader = testing::reader_of(wire);
  DescribeLogDirsRequest decoded;
  ASSERT_TRUE(decode(reader, decoded, 3));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(testing::describe(decoded, 3), testing::describe(request_value(), 3));
}

DescribeLogDirsResponse response_value() {
  DescribeLogDirsResponse r;
  r.throttle_time_ms = 5;
  r.error_code = 31;  // CLUSTER_AUTHORIZATION_FAILED (v3+); a value that cannot be mistaken
  DescribeLogDirsResponse::Result dir;
  dir.error_code = 0;
  dir.log_dir = "/d";
  dir.topics = {{"t", {{1, 1024, 3, true}}}};
  dir.total_bytes = 4096;
  dir.usable_bytes = 2048;
  r.results = {dir};
  return r;
}

TEST(DescribeLogDirs, ResponseFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x05,                          // throttle_time_ms
      0x00, 0x00, 0x00, 0x01,                          // results: 1
      0x00, 0x00,                                      //   error_code
      0x00, 0x02, '/', 'd',                            //   log_dir
      0x00, 0x00, 0x00, 0x01,                          //   topics: 1
      0x00, 0x01, 't',                                 //     name
      0x00, 0x00, 0x00, 0x01,                          //     partitions: 1
      0x00, 0x00, 0x00, 0x01,                          //       partition_index = 1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,  //       partition_size = 1024
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,  //       offset_lag = 3
      0x01,                                            //       is_future_key = true
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(response_value(), v0, version);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x05,                          // throttle_time_ms
      0x02,                                            // results: compact 1
      0x00, 0x00,                                      //   error_code
      0x03, '/', 'd',                                  //   log_dir
      0x02,                                            //   topics: compact 1
      0x02, 't',                                       //     name
      0x02,                                            //     partitions: compact 1
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
      0x01,
      0x00,                                            //       tagged fields
      0x00,                                            //     tagged fields
      0x00,                                            //   tagged fields
      0x00,                                            // tagged fields
  };
  testing::expect_fixture(response_value(), v2, 2);
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x05,                          // throttle_time_ms
      0x00, 0x1f,                                      // error_code = 31 (v3+)
      0x02, 0x00, 0x00, 0x03, '/', 'd',
      0x02, 0x02, 't', 0x02,
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
      0x01, 0x00, 0x00,
      0x00,                                            //   tagged fields
      0x00,                                            // tagged fields
  };
  testing::expect_fixture(response_value(), v3, 3);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x05, 0x00, 0x1f,
      0x02, 0x00, 0x00, 0x03, '/', 'd',
      0x02, 0x02, 't', 0x02,
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
      0x01, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,  //   total_bytes = 4096 (v4+)
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00,  //   usable_bytes = 2048 (v4+)
      0x00,                                            //   tagged fields
      0x00,                                            // tagged fields
  };
  testing::expect_fixture(response_value(), v4, 4);
}

TEST(DescribeLogDirs, ResponseUnknownVolumeBytes) {
  // total_bytes and usable_bytes default to -1 (unknown), sent as all ones in v4.
  DescribeLogDirsResponse r;
  DescribeLogDirsResponse::Result dir;
  dir.log_dir = "/d";
  r.results = {dir};
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x02, 0x00, 0x00, 0x03, '/', 'd',
      0x01,                                            //   topics: empty
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //   total_bytes = -1
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //   usable_bytes = -1
      0x00, 0x00,
  };
  testing::expect_fixture(r, v4, 4);
}

TEST(DescribeLogDirs, RoundTrips) {
  // Encodes and decodes populated and empty messages at every version.
  DescribeLogDirsRequest all;
  for (std::int16_t version = 0; version <= 4; ++version) {
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(all, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(DescribeLogDirsResponse{}, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
