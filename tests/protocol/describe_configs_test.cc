// Tests DescribeConfigs v0-v4 against hand-written fixtures derived from
// DescribeConfigsRequest.json / DescribeConfigsResponse.json: include_synonyms (v1+) and
// include_documentation (v3+) in the request; in the response is_default (v0 only), config_source
// and synonyms (v1+), config_type and documentation (v3+). Flexible from v4; unknown tags are
// skipped; truncated inputs fail to decode.
#include "protocol/describe_configs.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

DescribeConfigsRequest request_value() {
  DescribeConfigsRequest r;
  r.resources = {{config_resource_type::topic, "t", std::vector<std::string>{"k"}}};
  r.include_synonyms = true;
  r.include_documentation = true;
  return r;
}

TEST(DescribeConfigs, RequestFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // resources: 1
      0x02,                    //   resource_type = 2 (topic)
      0x00, 0x01, 't',         //   resource_name
      0x00, 0x00, 0x00, 0x01,  //   configuration_keys: 1
      0x00, 0x01, 'k',         //     "k"
  };
  testing::expect_fixture(request_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',
      0x01,                    // include_synonyms = true (v1+)
  };
  for (std::int16_t version : {1, 2}) testing::expect_fixture(request_value(), v1, version);
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',
      0x01,                    // include_synonyms
      0x01,                    // include_documentation = true (v3+)
  };
  testing::expect_fixture(request_value(), v3, 3);
  const Bytes v4 = {
      0x02,                    // resources: compact 1
      0x02,                    //   resource_type
      0x02, 't',               //   resource_name (compact)
      0x02,                    //   configuration_keys: compact 1
      0x02, 'k',               //     "k"
      0x00,                    //   tagged fields
      0x01,                    // include_synonyms
      0x01,                    // include_documentation
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v4, 4);
}

TEST(DescribeConfigs, RequestNullKeysAndDefaults) {
  // Null configuration keys ask for every key; include_synonyms and include_documentation default
  // to false, so a v0 request (which has neither) decodes to false.
  DescribeConfigsRequest r;
  r.resources = {{config_resource_type::broker, "1", std::nullopt}};
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x01, '1',
      0xff, 0xff, 0xff, 0xff,  //   configuration_keys: null
  };
  testing::expect_fixture(r, v0, 0);
  Bytes copy = v0;
  Reader reader = testing::reader_of(copy);
  DescribeConfigsRequest decoded;
  ASSERT_TRUE(decode(reader, decoded, 0));
  EXPECT_FALSE(decoded.include_synonyms);
  EXPECT_FALSE(decoded.include_documentation);
  const Bytes v4 = {
      0x02, 0x04, 0x02, '1',
      0x00,                    //   configuration_keys: null
      0x00,                    //   tagged fields
      0x00,                    // include_synonyms = false
      0x00,                    // include_documentation = false
      0x00,                    // tagged fields
  };
  testing::expect_fixture(r, v4, 4);
}

TEST(DescribeConfigs, RequestUnknownTagsSkipped) {
  // Unknown tags in a resource and at the top level are skipped.
  Bytes wire = {
      0x02, 0x02, 0x02, 't', 0x02, 0x02, 'k',
      0x01, 0x03, 0x02, 0x00, 0x01,  //   tagged fields: tag 3, 2 bytes
      0x01, 0x01,
      0x01, 0x00, 0x01, 0x05,        // tagged fields: tag 0, 1 byte
  };
  Reader reader = testing::reader_of(wire);
  DescribeConfigsRequest decoded;
  ASSERT_TRUE(decode(reader, decoded, 4));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(testing::describe(decoded, 4), testing::describe(request_value(), 4));
}

// A topic's default value of "k", described with its one synonym and its documentation.
DescribeConfigsResponse response_value() {
  DescribeConfigsResponse::Config c;
  c.name = "k";
  c.value = "v";
  c.read_only = false;
  c.is_default = true;
  c.config_source = config_source::default_config;
  c.is_sensitive = false;
  c.synonyms = {{"k", "v", config_source::default_config}};
  c.config_type = config_type::string;
  c.documentation = "d";
  DescribeConfigsResponse r;
  r.throttle_time_ms = 5;
  r.results = {{0, std::nullopt, config_resource_type::topic, "t", {c}}};
  return r;
}

TEST(DescribeConfigs, ResponseFixtures) {
  // Each version's bytes are written out from the spec and checked both ways, with every prefix.
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00, 0x00, 0x01,  // results: 1
      0x00, 0x00,              //   error_code
      0xff, 0xff,              //   error_message: null
      0x02,                    //   resource_type = 2
      0x00, 0x01, 't',         //   resource_name
      0x00, 0x00, 0x00, 0x01,  //   configs: 1
      0x00, 0x01, 'k',         //     name
      0x00, 0x01, 'v',         //     value
      0x00,                    //     read_only = false
      0x01,                    //     is_default = true (v0 only)
      0x00,                    //     is_sensitive = false
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0x02, 0x00, 0x01, 't',
      0x00, 0x00, 0x00, 0x01,  //   configs: 1
      0x00, 0x01, 'k',         //     name
      0x00, 0x01, 'v',         //     value
      0x00,                    //     read_only
      0x05,                    //     config_source = 5 (v1+)
      0x00,                    //     is_sensitive
      0x00, 0x00, 0x00, 0x01,  //     synonyms: 1 (v1+)
      0x00, 0x01, 'k',         //       name
      0x00, 0x01, 'v',         //       value
      0x05,                    //       source
  };
  for (std::int16_t version : {1, 2}) testing::expect_fixture(response_value(), v1, version);
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0x02, 0x00, 0x01, 't',
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k', 0x00, 0x01, 'v', 0x00, 0x05, 0x00,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k', 0x00, 0x01, 'v', 0x05,
      0x02,                    //     config_type = 2 (string, v3+)
      0x00, 0x01, 'd',         //     documentation (v3+)
  };
  testing::expect_fixture(response_value(), v3, 3);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02,                    // results: compact 1
      0x00, 0x00,              //   error_code
      0x00,                    //   error_message: null
      0x02,                    //   resource_type
      0x02, 't',               //   resource_name
      0x02,                    //   configs: compact 1
      0x02, 'k',               //     name
      0x02, 'v',               //     value
      0x00,                    //     read_only
      0x05,                    //     config_source
      0x00,                    //     is_sensitive
      0x02,                    //     synonyms: compact 1
      0x02, 'k', 0x02, 'v', 0x05,
      0x00,                    //       tagged fields
      0x02,                    //     config_type
      0x02, 'd',               //     documentation
      0x00,                    //     tagged fields
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v4, 4);
}

TEST(DescribeConfigs, ResponseNullValues) {
  // A sensitive value, a synonym's value and the documentation may each be null.
  DescribeConfigsResponse::Config c;
  c.name = "k";
  c.value = std::nullopt;
  c.config_source = config_source::dynamic_topic;
  c.is_sensitive = true;
  c.synonyms = {{"k", std::nullopt, config_source::dynamic_topic}};
  c.config_type = config_type::password;
  DescribeConfigsResponse r;
  r.results = {{42, "bad", config_resource_type::topic, "t", {c}}};  // 42: INVALID_REQUEST
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x2a,              //   error_code = 42
      0x00, 0x03, 'b', 'a', 'd',
      0x02, 0x00, 0x01, 't',
      0x00, 0x00, 0x00, 0x01,
      0x00, 0x01, 'k',
      0xff, 0xff,              //     value: null
      0x00, 0x01, 0x01,        //     read_only, config_source = 1, is_sensitive = true
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'k',
      0xff, 0xff,              //       value: null
      0x01,
      0x09,                    //     config_type = 9 (password)
      0xff, 0xff,              //     documentation: null
  };
  testing::expect_fixture(r, v3, 3);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x2a, 0x04, 'b', 'a', 'd', 0x02, 0x02, 't',
      0x02, 0x02, 'k',
      0x00,                    //     value: null
      0x00, 0x01, 0x01,
      0x02, 0x02, 'k',
      0x00,                    //       value: null
      0x01, 0x00,
      0x09,
      0x00,                    //     documentation: null
      0x00, 0x00, 0x00,
  };
  testing::expect_fixture(r, v4, 4);
}

TEST(DescribeConfigs, ResponseUnknownTagsSkipped) {
  // Unknown tags in a synonym, a config and a result are skipped.
  Bytes wire = {
      0x00, 0x00, 0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x02, 0x02, 't',
      0x02, 0x02, 'k', 0x02, 'v', 0x00, 0x05, 0x00,
      0x02, 0x02, 'k', 0x02, 'v', 0x05,
      0x01, 0x01, 0x01, 0xff,  //       tagged fields: tag 1, 1 byte
      0x02, 0x02, 'd',
      0x01, 0x02, 0x00,        //     tagged fields: tag 2, empty
      0x01, 0x03, 0x00,        //   tagged fields: tag 3, empty
      0x00,
  };
  Reader reader = testing::reader_of(wire);
  DescribeConfigsResponse decoded;
  ASSERT_TRUE(decode(reader, decoded, 4));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(testing::describe(decoded, 4), testing::describe(response_value(), 4));
}

TEST(DescribeConfigs, RoundTrips) {
  // Encodes and decodes populated and empty messages at every version.
  DescribeConfigsRequest many = request_value();
  many.resources.push_back({config_resource_type::broker, "", std::nullopt});
  DescribeConfigsResponse empty_configs;
  empty_configs.results = {{0, std::nullopt, config_resource_type::broker, "1", {}}};
  for (std::int16_t version = 0; version <= 4; ++version) {
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(many, version);
    testing::expect_round_trip(DescribeConfigsRequest{}, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(empty_configs, version);
    testing::expect_round_trip(DescribeConfigsResponse{}, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
