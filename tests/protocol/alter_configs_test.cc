// Tests AlterConfigs v0-v2 against hand-written fixtures derived from AlterConfigsRequest.json /
// AlterConfigsResponse.json: v0 and v1 share one layout, v2 is flexible; config values and error
// messages are nullable. Unknown tags are skipped; truncated inputs fail to decode.
#include "protocol/alter_configs.h"

#include <gtest/gtest.h>

#include "protocol/describe_configs.h"
#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

AlterConfigsRequest request_value() {
  AlterConfigsRequest r;
  r.resources = {{config_resource_type::topic, "t", {{"k", "v"}, {"j", std::nullopt}}}};
  r.validate_only = true;
  return r;
}

TEST(AlterConfigs, RequestFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // resources: 1
      0x02,                    //   resource_type = 2 (topic)
      0x00, 0x01, 't',         //   resource_name
      0x00, 0x00, 0x00, 0x02,  //   configs: 2
      0x00, 0x01, 'k',         //     name
      0x00, 0x01, 'v',         //     value
      0x00, 0x01, 'j',         //     name
      0xff, 0xff,              //     value: null
      0x01,                    // validate_only = true
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v2 = {
      0x02,                    // resources: compact 1
      0x02,                    //   resource_type
      0x02, 't',               //   resource_name
      0x03,                    //   configs: compact 2
      0x02, 'k', 0x02, 'v',    //     name, value
      0x00,                    //     tagged fields
      0x02, 'j', 0x00,         //     name, value: null
      0x00,                    //     tagged fields
      0x00,                    //   tagged fields
      0x01,                    // validate_only
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v2, 2);
}

TEST(AlterConfigs, RequestUnknownTagsSkipped) {
  // Unknown tags in a config and at the top level are skipped.
  Bytes wire = {
      0x02, 0x02, 0x02, 't', 0x03,
      0x02, 'k', 0x02, 'v', 0x01, 0x0a, 0x01, 0x00,  //     tagged fields: tag 10, 1 byte
      0x02, 'j', 0x00, 0x00,
      0x00, 0x01,
      0x01, 0x00, 0x00,                              // tagged fields: tag 0, empty
  };
  Reader reader = testing::reader_of(wire);
  AlterConfigsRequest decoded;
  ASSERT_TRUE(decode(reader, decoded, 2));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(testing::describe(decoded, 2), testing::describe(request_value(), 2));
}

AlterConfigsResponse response_value() {
  AlterConfigsResponse r;
  r.throttle_time_ms = 5;
  r.responses = {{40, "m", config_resource_type::topic, "t"}, {0, std::nullopt, config_resource_type::broker, "1"}};
  return r;  // 40: INVALID_CONFIG
}

TEST(AlterConfigs, ResponseFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00, 0x00, 0x02,  // responses: 2
      0x00, 0x28,              //   error_code = 40
      0x00, 0x01, 'm',         //   error_message
      0x02,                    //   resource_type = 2
      0x00, 0x01, 't',         //   resource_name
      0x00, 0x00,              //   error_code = 0
      0xff, 0xff,              //   error_message: null
      0x04,                    //   resource_type = 4 (broker)
      0x00, 0x01, '1',         //   resource_name
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(response_value(), v0, version);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x03,                    // responses: compact 2
      0x00, 0x28, 0x02, 'm', 0x02, 0x02, 't',
      0x00,                    //   tagged fields
      0x00, 0x00, 0x00, 0x04, 0x02, '1',
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v2, 2);
}

TEST(AlterConfigs, RoundTrips) {
  // Encodes and decodes populated and empty messages at every version.
  AlterConfigsRequest many = request_value();
  many.resources.push_back({config_resource_type::broker, "", {}});
  for (std::int16_t version = 0; version <= 2; ++version) {
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(many, version);
    testing::expect_round_trip(AlterConfigsRequest{}, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(AlterConfigsResponse{}, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
