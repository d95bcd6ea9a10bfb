// Tests IncrementalAlterConfigs v0-v1 against hand-written fixtures derived from
// IncrementalAlterConfigsRequest.json / IncrementalAlterConfigsResponse.json: each config carries
// its operation; v1 is flexible. Unknown tags are skipped; truncated inputs fail to decode.
#include "protocol/incremental_alter_configs.h"

#include <gtest/gtest.h>

#include "protocol/describe_configs.h"
#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;
using Request = IncrementalAlterConfigsRequest;

Request request_value() {
  Request r;
  r.resources = {{config_resource_type::topic, "t",
                  {{"k", Request::operation_set, "v"}, {"j", Request::operation_delete, std::nullopt}}}};
  r.validate_only = false;
  return r;
}

TEST(IncrementalAlterConfigs, RequestFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // resources: 1
      0x02,                    //   resource_type = 2 (topic)
      0x00, 0x01, 't',         //   resource_name
      0x00, 0x00, 0x00, 0x02,  //   configs: 2
      0x00, 0x01, 'k',         //     name
      0x00,                    //     config_operation = 0 (set)
      0x00, 0x01, 'v',         //     value
      0x00, 0x01, 'j',         //     name
      0x01,                    //     config_operation = 1 (delete)
      0xff, 0xff,              //     value: null
      0x00,                    // validate_only = false
  };
  testing::expect_fixture(request_value(), v0, 0);
  const Bytes v1 = {
      0x02,                    // resources: compact 1
      0x02,                    //   resource_type
      0x02, 't',               //   resource_name
      0x03,                    //   configs: compact 2
      0x02, 'k', 0x00, 0x02, 'v',
      0x00,                    //     tagged fields
      0x02, 'j', 0x01, 0x00,
      0x00,                    //     tagged fields
      0x00,                    //   tagged fields
      0x00,                    // validate_only
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v1, 1);
}

TEST(IncrementalAlterConfigs, RequestAppendSubtractValidateOnly) {
  // The list operations (append 2, subtract 3) and validate_only = true, on the v1 layout.
  Request r;
  r.resources = {{config_resource_type::broker, "1",
                  {{"a", Request::operation_append, "x"}, {"a", Request::operation_subtract, "y"}}}};
  r.validate_only = true;
  const Bytes v1 = {
      0x02, 0x04, 0x02, '1', 0x03,
      0x02, 'a', 0x02, 0x02, 'x', 0x00,
      0x02, 'a', 0x03, 0x02, 'y', 0x00,
      0x00,
      0x01,                    // validate_only = true
      0x00,
  };
  testing::expect_fixture(r, v1, 1);
}

TEST(IncrementalAlterConfigs, RequestUnknownTagsSkipped) {
  // Unknown tags in a resource and at the top level are skipped.
  Bytes wire = {
      0x02, 0x02, 0x02, 't', 0x03,
      0x02, 'k', 0x00, 0x02, 'v', 0x00,
      0x02, 'j', 0x01, 0x00, 0x00,
      0x01, 0x02, 0x03, 0x01, 0x02, 0x03,  //   tagged fields: tag 2, 3 bytes
      0x00,
      0x01, 0x01, 0x00,                    // tagged fields: tag 1, empty
  };
  Reader reader = testing::reader_of(wire);
  Request decoded;
  ASSERT_TRUE(decode(reader, decoded, 1));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(testing::describe(decoded, 1), testing::describe(request_value(), 1));
}

IncrementalAlterConfigsResponse response_value() {
  IncrementalAlterConfigsResponse r;
  r.throttle_time_ms = 5;
  r.responses = {{40, "m", config_resource_type::topic, "t"}};  // 40: INVALID_CONFIG
  return r;
}

TEST(IncrementalAlterConfigs, ResponseFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00, 0x00, 0x01,  // responses: 1
      0x00, 0x28,              //   error_code = 40
      0x00, 0x01, 'm',         //   error_message
      0x02,                    //   resource_type
      0x00, 0x01, 't',         //   resource_name
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02,                    // responses: compact 1
      0x00, 0x28,              //   error_code
      0x02, 'm',               //   error_message
      0x02,                    //   resource_type
      0x02, 't',               //   resource_name
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v1, 1);
  IncrementalAlterConfigsResponse ok;
  ok.responses = {{0, std::nullopt, config_resource_type::topic, "t"}};
  testing::expect_fixture(ok, Bytes{0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x02, 't', 0x00, 0x00}, 1);
}

TEST(IncrementalAlterConfigs, RoundTrips) {
  // Encodes and decodes populated and empty messages at every version.
  for (std::int16_t version = 0; version <= 1; ++version) {
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(Request{}, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(IncrementalAlterConfigsResponse{}, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
