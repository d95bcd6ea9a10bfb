// Tests DeleteRecords v0-v2 against hand-written fixtures derived from DeleteRecordsRequest.json /
// DeleteRecordsResponse.json: v0 and v1 share one layout (the throttle time is there from v0), v2
// is flexible. Unknown tags in v2 are skipped; truncated and hostile inputs fail to decode.
#include "protocol/delete_records.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

DeleteRecordsRequest request_value() {
  DeleteRecordsRequest r;
  r.topics = {{"t", {{2, 100}}}};
  r.timeout_ms = 1000;
  return r;
}

TEST(DeleteRecords, RequestFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x01,                          //   partitions: 1
      0x00, 0x00, 0x00, 0x02,                          //     partition_index = 2
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     offset = 100
      0x00, 0x00, 0x03, 0xe8,                          // timeout_ms = 1000
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v2 = {
      0x02,                                            // topics: compact 1
      0x02, 't',                                       //   name (compact)
      0x02,                                            //   partitions: compact 1
      0x00, 0x00, 0x00, 0x02,                          //     partition_index
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     offset
      0x00,                                            //     tagged fields
      0x00,                                            //   tagged fields
      0x00, 0x00, 0x03, 0xe8,                          // timeout_ms
      0x00,                                            // tagged fields
  };
  testing::expect_fixture(request_value(), v2, 2);
}

TEST(DeleteRecords, RequestHighWatermarkOffset) {
  // Offset -1 (delete up to the high watermark) goes out as all ones, checked on a v2 fixture.
  DeleteRecordsRequest r;
  r.topics = {{"t", {{0, DeleteRecordsRequest::offset_high_watermark}}}};
  const Bytes v2 = {
      0x02, 0x02, 't', 0x02,
      0x00, 0x00, 0x00, 0x00,                          // partition_index = 0
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // offset = -1
      0x00, 0x00,
      0x00, 0x00, 0x00, 0x00,                          // timeout_ms = 0 (the default)
      0x00,
  };
  testing::expect_fixture(r, v2, 2);
}

TEST(DeleteRecords, RequestUnknownTagsSkipped) {
  // A newer client's unknown tags, at the partition and the top level, are skipped: the message
  // decodes to the same description as the plain fixture.
  Bytes wire = {
      0x02, 0x02, 't', 0x02,
      0x00, 0x00, 0x00, 0x02,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,
      0x01, 0x07, 0x02, 0xaa, 0xbb,  //     tagged fields: tag 7, 2 bytes
      0x00,
      0x00, 0x00, 0x03, 0xe8,
      0x01, 0x09, 0x00,              // tagged fields: tag 9, empty
  };
  Reader reader = testing::reader_of(wire);
  DeleteRecordsRequest decoded;
  ASSERT_TRUE(decode(reader, decoded, 2));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(testing::describe(decoded, 2), testing::describe(request_value(), 2));
}

TEST(DeleteRecords, RequestHostileCountFails) {
  // A topic count far beyond the bytes that follow is rejected without allocating for it.
  Bytes v0 = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 't'};
  Reader reader = testing::reader_of(v0);
  DeleteRecordsRequest decoded;
  EXPECT_FALSE(decode(reader, decoded, 0));
}

DeleteRecordsResponse response_value() {
  DeleteRecordsResponse r;
  r.throttle_time_ms = 5;
  r.topics = {{"t", {{2, 100, 0}, {3, -1, 1}}}};  // 1: OFFSET_OUT_OF_RANGE
  return r;
}

TEST(DeleteRecords, ResponseFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x05,                          // throttle_time_ms (v0+)
      0x00, 0x00, 0x00, 0x01,                          // topics: 1
      0x00, 0x01, 't',                                 //   name
      0x00, 0x00, 0x00, 0x02,                          //   partitions: 2
      0x00, 0x00, 0x00, 0x02,                          //     partition_index = 2
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  //     low_watermark = 100
      0x00, 0x00,                                      //     error_code = 0
      0x00, 0x00, 0x00, 0x03,                          //     partition_index = 3
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //     low_watermark = -1
      0x00, 0x01,                                      //     error_code = 1
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(response_value(), v0, version);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x05,                          // throttle_time_ms
      0x02,                                            // topics: compact 1
      0x02, 't',                                       //   name
      0x03,                                            //   partitions: compact 2
      0x00, 0x00, 0x00, 0x02,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,
      0x00, 0x00,
      0x00,                                            //     tagged fields
      0x00, 0x00, 0x00, 0x03,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x00, 0x01,
      0x00,                                            //     tagged fields
      0x00,                                            //   tagged fields
      0x00,                                            // tagged fields
  };
  testing::expect_fixture(response_value(), v2, 2);
}

TEST(DeleteRecords, RoundTrips) {
  // Encodes and decodes populated and empty messages at every version.
  DeleteRecordsRequest many;
  many.topics = {{"a", {{0, 1}, {1, -1}}}, {"bb", {}}};
  for (std::int16_t version = 0; version <= 2; ++version) {
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(many, version);
    testing::expect_round_trip(DeleteRecordsRequest{}, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(DeleteRecordsResponse{}, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
