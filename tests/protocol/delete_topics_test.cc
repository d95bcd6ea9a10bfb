// Tests DeleteTopics v0-v6 against hand-written fixtures derived from DeleteTopicsRequest.json /
// DeleteTopicsResponse.json: the request's name list (v0-v5) and its (name, topic id) list (v6,
// name nullable); the response's throttle time (v1+), error message (v5+), topic id and nullable
// name (v6). Flexible from v4; unknown tags are skipped; truncated inputs fail to decode.
#include "protocol/delete_topics.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

// Both lists are filled: v0-v5 send topic_names, v6 sends topics.
DeleteTopicsRequest request_value() {
  DeleteTopicsRequest r;
  r.topics = {{"t", testing::fixture_topic_id()}};
  r.topic_names = {"t"};
  r.timeout_ms = 1000;
  return r;
}

TEST(DeleteTopics, RequestFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // topic_names: 1
      0x00, 0x01, 't',         //   "t"
      0x00, 0x00, 0x03, 0xe8,  // timeout_ms = 1000
  };
  for (std::int16_t version : {0, 1, 2, 3}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v4 = {
      0x02,                    // topic_names: compact 1
      0x02, 't',               //   "t" (compact)
      0x00, 0x00, 0x03, 0xe8,  // timeout_ms
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {4, 5}) testing::expect_fixture(request_value(), v4, version);
  const Bytes v6 = {
      0x02,                    // topics: compact 1
      0x02, 't',               //   name
      TOPIC_ID_BYTES,          //   topic_id
      0x00,                    //   tagged fields
      0x00, 0x00, 0x03, 0xe8,  // timeout_ms
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v6, 6);
}

TEST(DeleteTopics, RequestV6ByIdWithNullName) {
  // v6 names a topic by id alone: the name is null (compact length 0), which is also the default.
  DeleteTopicsRequest r;
  r.topics = {{std::nullopt, testing::fixture_topic_id()}};
  r.timeout_ms = 1000;
  const Bytes v6 = {
      0x02,                    // topics: compact 1
      0x00,                    //   name: null
      TOPIC_ID_BYTES,          //   topic_id
      0x00,                    //   tagged fields
      0x00, 0x00, 0x03, 0xe8,  // timeout_ms
      0x00,                    // tagged fields
  };
  testing::expect_fixture(r, v6, 6);
  EXPECT_FALSE(DeleteTopicsRequest::Topic{}.name.has_value());
}

TEST(DeleteTopics, RequestUnknownTagsSkipped) {
  // Unknown tags in a v6 topic and at the top level are skipped.
  Bytes wire = {
      0x02, 0x02, 't', TOPIC_ID_BYTES,
      0x01, 0x05, 0x01, 0xee,  //   tagged fields: tag 5, 1 byte
      0x00, 0x00, 0x03, 0xe8,
      0x02, 0x00, 0x00, 0x03, 0x02, 0x01, 0x02,  // tagged fields: tag 0 empty, tag 3 two bytes
  };
  Reader reader = testing::reader_of(wire);
  DeleteTopicsRequest decoded;
  ASSERT_TRUE(decode(reader, decoded, 6));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(testing::describe(decoded, 6), testing::describe(request_value(), 6));
}

DeleteTopicsResponse response_value() {
  DeleteTopicsResponse r;
  r.throttle_time_ms = 5;
  r.responses = {{"t", testing::fixture_topic_id(), 3, "m"}};  // 3: UNKNOWN_TOPIC_OR_PARTITION
  return r;
}

TEST(DeleteTopics, ResponseFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // responses: 1
      0x00, 0x01, 't',         //   name
      0x00, 0x03,              //   error_code = 3
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms (v1+)
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x03,
  };
  for (std::int16_t version : {1, 2, 3}) testing::expect_fixture(response_value(), v1, version);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02,                    // responses: compact 1
      0x02, 't',               //   name
      0x00, 0x03,              //   error_code
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v4, 4);
  const Bytes v5 = {
      0x00, 0x00, 0x00, 0x05,
      0x02, 0x02, 't', 0x00, 0x03,
      0x02, 'm',               //   error_message (v5+)
      0x00, 0x00,
  };
  testing::expect_fixture(response_value(), v5, 5);
  const Bytes v6 = {
      0x00, 0x00, 0x00, 0x05,
      0x02, 0x02, 't',
      TOPIC_ID_BYTES,          //   topic_id (v6+)
      0x00, 0x03, 0x02, 'm',
      0x00, 0x00,
  };
  testing::expect_fixture(response_value(), v6, 6);
}

TEST(DeleteTopics, ResponseV6NullNameAndMessage) {
  // v6 answers an unknown topic id with a null name; a null error message is the default.
  DeleteTopicsResponse r;
  r.responses = {{std::nullopt, testing::fixture_topic_id(), 100, std::nullopt}};  // UNKNOWN_TOPIC_ID
  const Bytes v6 = {
      0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
      0x02,                    // responses: compact 1
      0x00,                    //   name: null
      TOPIC_ID_BYTES,          //   topic_id
      0x00, 0x64,              //   error_code = 100
      0x00,                    //   error_message: null
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(r, v6, 6);
}

TEST(DeleteTopics, RoundTrips) {
  // Encodes and decodes populated and empty messages at every version.
  DeleteTopicsRequest many = request_value();
  many.topics.push_back({std::nullopt, testing::fixture_topic_id()});
  many.topic_names = {"a", "bb", ""};
  DeleteTopicsResponse mixed = response_value();
  mixed.responses.push_back({"bb", Uuid{}, 0, std::nullopt});
  for (std::int16_t version = 0; version <= 6; ++version) {
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(many, version);
    testing::expect_round_trip(DeleteTopicsRequest{}, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(mixed, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
