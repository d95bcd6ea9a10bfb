// Tests CreatePartitions v0-v3 against hand-written fixtures derived from
// CreatePartitionsRequest.json / CreatePartitionsResponse.json: v0 and v1 share one layout, v2 and
// v3 another (flexible); assignments and the error message are nullable in every version. Unknown
// tags are skipped; truncated inputs fail to decode.
#include "protocol/create_partitions.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

CreatePartitionsRequest request_value() {
  CreatePartitionsRequest r;
  CreatePartitionsRequest::Topic t;
  t.name = "t";
  t.count = 3;
  t.assignments = std::vector<CreatePartitionsRequest::Assignment>{{{1, 2}}};
  r.topics = {t};
  r.timeout_ms = 1000;
  r.validate_only = true;
  return r;
}

TEST(CreatePartitions, RequestFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // topics: 1
      0x00, 0x01, 't',         //   name
      0x00, 0x00, 0x00, 0x03,  //   count = 3
      0x00, 0x00, 0x00, 0x01,  //   assignments: 1
      0x00, 0x00, 0x00, 0x02,  //     broker_ids: 2
      0x00, 0x00, 0x00, 0x01,  //       1
      0x00, 0x00, 0x00, 0x02,  //       2
      0x00, 0x00, 0x03, 0xe8,  // timeout_ms = 1000
      0x01,                    // validate_only = true
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v2 = {
      0x02,                    // topics: compact 1
      0x02, 't',               //   name
      0x00, 0x00, 0x00, 0x03,  //   count
      0x02,                    //   assignments: compact 1
      0x03,                    //     broker_ids: compact 2
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x02,
      0x00,                    //     tagged fields
      0x00,                    //   tagged fields
      0x00, 0x00, 0x03, 0xe8,  // timeout_ms
      0x01,                    // validate_only
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {2, 3}) testing::expect_fixture(request_value(), v2, version);
}

TEST(CreatePartitions, RequestNullAssignments) {
  // Null assignments (the broker places the new replicas) are length -1, or compact 0 from v2.
  CreatePartitionsRequest r;
  CreatePartitionsRequest::Topic t;
  t.name = "t";
  t.count = 4;
  r.topics = {t};
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
      0x00, 0x00, 0x00, 0x04,  //   count = 4
      0xff, 0xff, 0xff, 0xff,  //   assignments: null
      0x00, 0x00, 0x00, 0x00,  // timeout_ms = 0
      0x00,                    // validate_only = false
  };
  testing::expect_fixture(r, v0, 0);
  const Bytes v3 = {
      0x02, 0x02, 't',
      0x00, 0x00, 0x00, 0x04,
      0x00,                    //   assignments: null
      0x00,                    //   tagged fields
      0x00, 0x00, 0x00, 0x00, 0x00,
      0x00,
  };
  testing::expect_fixture(r, v3, 3);
}

TEST(CreatePartitions, RequestUnknownTagsSkipped) {
  // Unknown tags in an assignment and at the top level are skipped.
  Bytes wire = {
      0x02, 0x02, 't', 0x00, 0x00, 0x00, 0x03,
      0x02, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
      0x01, 0x04, 0x01, 0x00,  //     tagged fields: tag 4, 1 byte
      0x00,
      0x00, 0x00, 0x03, 0xe8, 0x01,
      0x01, 0x7f, 0x00,        // tagged fields: tag 127, empty
  };
  Reader reader = testing::reader_of(wire);
  CreatePartitionsRequest decoded;
  ASSERT_TRUE(decode(reader, decoded, 3));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(testing::describe(decoded, 3), testing::describe(request_value(), 3));
}

CreatePartitionsResponse response_value() {
  CreatePartitionsResponse r;
  r.throttle_time_ms = 5;
  r.results = {{"t", 37, "m"}};  // 37: INVALID_PARTITIONS
  return r;
}

TEST(CreatePartitions, ResponseFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00, 0x00, 0x01,  // results: 1
      0x00, 0x01, 't',         //   name
      0x00, 0x25,              //   error_code = 37
      0x00, 0x01, 'm',         //   error_message
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(response_value(), v0, version);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02,                    // results: compact 1
      0x02, 't',               //   name
      0x00, 0x25,              //   error_code
      0x02, 'm',               //   error_message
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {2, 3}) testing::expect_fixture(response_value(), v2, version);
}

TEST(CreatePartitions, ResponseNullMessage) {
  // A success carries a null error message: int16 -1, or compact 0 from v2.
  CreatePartitionsResponse r;
  r.results = {{"t", 0, std::nullopt}};
  testing::expect_fixture(r, Bytes{0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
                                   0x00, 0x00, 0xff, 0xff},
                          1);
  testing::expect_fixture(r, Bytes{0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 't', 0x00, 0x00, 0x00, 0x00, 0x00}, 2);
}

TEST(CreatePartitions, RoundTrips) {
  // Encodes and decodes populated and empty messages at every version.
  CreatePartitionsRequest many = request_value();
  CreatePartitionsRequest::Topic other;
  other.name = "bb";
  other.count = 8;
  other.assignments = std::vector<CreatePartitionsRequest::Assignment>{{{}}, {{3}}};
  many.topics.push_back(other);
  for (std::int16_t version = 0; version <= 3; ++version) {
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(many, version);
    testing::expect_round_trip(CreatePartitionsRequest{}, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(CreatePartitionsResponse{}, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
