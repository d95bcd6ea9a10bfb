// Tests CreateTopics v0-v7 against hand-written fixtures derived from CreateTopicsRequest.json /
// CreateTopicsResponse.json: configs and assignments in the request; from v5 the response echoes
// partitions, replication factor, configs and the tagged TopicConfigErrorCode; v7 adds the topic id.
#include "protocol/create_topics.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

CreateTopicsRequest request_value() {
  CreateTopicsRequest r;
  CreateTopicsRequest::Topic t;
  t.name = "t";
  t.num_partitions = -1;
  t.replication_factor = -1;
  t.assignments = {{0, {1}}};
  t.configs = {{"k", "v"}};
  r.topics = {t};
  r.timeout_ms = 1000;
  r.validate_only = true;
  return r;
}

TEST(CreateTopics, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // topics: 1
      0x00, 0x01, 't',         //   name
      0xff, 0xff, 0xff, 0xff,  //   num_partitions = -1
      0xff, 0xff,              //   replication_factor = -1
      0x00, 0x00, 0x00, 0x01,  //   assignments: 1
      0x00, 0x00, 0x00, 0x00,  //     partition_index = 0
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,  // broker_ids: [1]
      0x00, 0x00, 0x00, 0x01,  //   configs: 1
      0x00, 0x01, 'k',         //     name
      0x00, 0x01, 'v',         //     value
      0x00, 0x00, 0x03, 0xe8,  // timeout_ms = 1000
  };
  testing::expect_fixture(request_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k', 0x00, 0x01, 'v',
      0x00, 0x00, 0x03, 0xe8,  // timeout_ms
      0x01,                    // validate_only = true (v1+)
  };
  for (std::int16_t version : {1, 2, 3, 4}) testing::expect_fixture(request_value(), v1, version);
  const Bytes v5 = {
      0x02,                    // topics: compact 1
      0x02, 't',               //   name
      0xff, 0xff, 0xff, 0xff,  //   num_partitions
      0xff, 0xff,              //   replication_factor
      0x02,                    //   assignments: compact 1
      0x00, 0x00, 0x00, 0x00,  //     partition_index
      0x02, 0x00, 0x00, 0x00, 0x01,  // broker_ids: [1]
      0x00,                    //     tagged fields
      0x02,                    //   configs: compact 1
      0x02, 'k',               //     name
      0x02, 'v',               //     value
      0x00,                    //     tagged fields
      0x00,                    //   tagged fields
      0x00, 0x00, 0x03, 0xe8,  // timeout_ms
      0x01,                    // validate_only
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {5, 6, 7}) testing::expect_fixture(request_value(), v5, version);
}

TEST(CreateTopics, RequestNullConfigValue) {
  CreateTopicsRequest r;
  CreateTopicsRequest::Topic t;
  t.name = "t";
  t.num_partitions = 3;
  t.replication_factor = 1;
  t.configs = {{"k", std::nullopt}};
  r.topics = {t};
  const Bytes v5 = {
      0x02, 0x02, 't',
      0x00, 0x00, 0x00, 0x03,  // num_partitions = 3
      0x00, 0x01,              // replication_factor = 1
      0x01,                    // assignments: empty
      0x02, 0x02, 'k',         // configs: 1, name
      0x00,                    //   value: null
      0x00, 0x00,
      0x00, 0x00, 0xea, 0x60,  // timeout_ms = 60000 (the default)
      0x00, 0x00,
  };
  testing::expect_fixture(r, v5, 5);
}

CreateTopicsResponse response_value() {
  CreateTopicsResponse r;
  r.throttle_time_ms = 5;
  CreateTopicsResponse::Topic t;
  t.name = "t";
  t.topic_id = testing::fixture_topic_id();
  t.error_code = 36;  // TOPIC_ALREADY_EXISTS
  t.error_message = "m";
  t.topic_config_error_code = 29;
  t.num_partitions = 3;
  t.replication_factor = 1;
  t.configs = std::vector<CreateTopicsResponse::Config>{{"k", "v", false, 5, false}};
  r.topics = {t};
  return r;
}

TEST(CreateTopics, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // topics: 1
      0x00, 0x01, 't',         //   name
      0x00, 0x24,              //   error_code = 36
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x24,
      0x00, 0x01, 'm',         //   error_message (v1+)
  };
  testing::expect_fixture(response_value(), v1, 1);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms (v2+)
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x24, 0x00, 0x01, 'm',
  };
  for (std::int16_t version : {2, 3, 4}) testing::expect_fixture(response_value(), v2, version);
  const Bytes v5 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02,                    // topics: compact 1
      0x02, 't',               //   name
      0x00, 0x24,              //   error_code
      0x02, 'm',               //   error_message
      0x00, 0x00, 0x00, 0x03,  //   num_partitions (v5+)
      0x00, 0x01,              //   replication_factor (v5+)
      0x02,                    //   configs: compact 1 (v5+)
      0x02, 'k',               //     name
      0x02, 'v',               //     value
      0x00,                    //     read_only = false
      0x05,                    //     config_source = 5 (DEFAULT_CONFIG)
      0x00,                    //     is_sensitive = false
      0x00,                    //     tagged fields
      0x01, 0x00, 0x02, 0x00, 0x1d,  // tagged fields: tag 0 topic_config_error_code = 29
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {5, 6}) testing::expect_fixture(response_value(), v5, version);
  const Bytes v7 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02,                    // topics
      0x02, 't',               //   name
      TOPIC_ID_BYTES,          //   topic_id (v7+)
      0x00, 0x24, 0x02, 'm',   //   error_code, error_message
      0x00, 0x00, 0x00, 0x03, 0x00, 0x01,  // num_partitions, replication_factor
      0x02, 0x02, 'k', 0x02, 'v', 0x00, 0x05, 0x00, 0x00,  // configs
      0x01, 0x00, 0x02, 0x00, 0x1d,  //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v7, 7);
}

TEST(CreateTopics, ResponseNullConfigsNoTag) {
  CreateTopicsResponse r;
  CreateTopicsResponse::Topic t;
  t.name = "t";
  t.configs = std::nullopt;
  r.topics = {t};
  const Bytes v5 = {
      0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
      0x02, 0x02, 't',         // topics, name
      0x00, 0x00,              //   error_code
      0x00,                    //   error_message: null
      0xff, 0xff, 0xff, 0xff,  //   num_partitions = -1
      0xff, 0xff,              //   replication_factor = -1
      0x00,                    //   configs: null
      0x00,                    //   tagged fields: none
      0x00,                    // tagged fields
  };
  testing::expect_fixture(r, v5, 5);
}

TEST(CreateTopics, RoundTrips) {
  for (std::int16_t version = 0; version <= 7; ++version) {
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(CreateTopicsResponse{}, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
