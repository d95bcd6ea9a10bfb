// Tests ApiVersions v0-v3 request and response against hand-written fixtures derived from
// ApiVersionsRequest.json / ApiVersionsResponse.json, including the v3 tagged feature fields.
#include "protocol/api_versions.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

ApiVersionsRequest request_value() {
  ApiVersionsRequest r;
  r.client_software_name = std::string(1, 'c');  // not = "c": GCC 12 -Wrestrict false positive
  r.client_software_version = std::string(1, '1');
  return r;
}

TEST(ApiVersions, RequestFixtures) {
  // v0-v2 have an empty body.
  for (std::int16_t version : {0, 1, 2}) testing::expect_fixture(request_value(), Bytes{}, version);
  const Bytes v3 = {
      0x02, 'c',  // client_software_name (compact)
      0x02, '1',  // client_software_version (compact)
      0x00,       // tagged fields: none
  };
  testing::expect_fixture(request_value(), v3, 3);
}

ApiVersionsResponse response_value() {
  ApiVersionsResponse r;
  r.error_code = 35;
  r.api_keys = {{18, 0, 3}};
  r.throttle_time_ms = 5;
  r.supported_features = std::vector<ApiVersionsResponse::FeatureKey>{{"f", 1, 2}};
  r.finalized_features_epoch = 7;
  r.finalized_features = std::vector<ApiVersionsResponse::FinalizedFeatureKey>{{"f", 2, 1}};
  return r;
}

TEST(ApiVersions, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x23,              // error_code = 35 (UNSUPPORTED_VERSION)
      0x00, 0x00, 0x00, 0x01,  // api_keys: 1
      0x00, 0x12,              //   api_key = 18
      0x00, 0x00,              //   min_version = 0
      0x00, 0x03,              //   max_version = 3
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x23,                                      // error_code
      0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03,  // api_keys
      0x00, 0x00, 0x00, 0x05,                          // throttle_time_ms = 5
  };
  for (std::int16_t version : {1, 2}) testing::expect_fixture(response_value(), v1, version);
  const Bytes v3 = {
      0x00, 0x23,              // error_code
      0x02,                    // api_keys: compact count 1
      0x00, 0x12,              //   api_key
      0x00, 0x00,              //   min_version
      0x00, 0x03,              //   max_version
      0x00,                    //   tagged fields: none
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x03,                    // tagged fields: 3
      0x00, 0x08,              //   tag 0 supported_features, 8 bytes:
      0x02,                    //     compact count 1
      0x02, 'f',               //     name
      0x00, 0x01,              //     min_version = 1
      0x00, 0x02,              //     max_version = 2
      0x00,                    //     tagged fields: none
      0x01, 0x08,              //   tag 1 finalized_features_epoch, 8 bytes:
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
      0x02, 0x08,              //   tag 2 finalized_features, 8 bytes:
      0x02,                    //     compact count 1
      0x02, 'f',               //     name
      0x00, 0x02,              //     max_version_level = 2
      0x00, 0x01,              //     min_version_level = 1
      0x00,                    //     tagged fields: none
  };
  testing::expect_fixture(response_value(), v3, 3);
}

TEST(ApiVersions, ResponseV3WithoutFeaturesAndUnknownTag) {
  // What Sluice sends: no tagged fields. And a newer broker's ZkMigrationReady (tag 3) is skipped.
  ApiVersionsResponse plain;
  plain.api_keys = {{0, 0, 9}};
  const Bytes wire = {
      0x00, 0x00,                                      // error_code
      0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00,  // api_keys: {0, 0, 9}
      0x00, 0x00, 0x00, 0x00,                          // throttle_time_ms
      0x00,                                            // tagged fields: none
  };
  testing::expect_fixture(plain, wire, 3);
  Bytes with_unknown = {0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00,
                        0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x01, 0x01};  // tag 3 = true
  Reader reader = testing::reader_of(with_unknown);
  ApiVersionsResponse decoded;
  ASSERT_TRUE(decode(reader, decoded, 3));
  EXPECT_EQ(testing::describe(decoded, 3), testing::describe(plain, 3));
}

TEST(ApiVersions, RoundTrips) {
  for (std::int16_t version = 0; version <= 3; ++version) {
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(ApiVersionsResponse{}, version);
    testing::expect_round_trip(request_value(), version);
  }
}

}  // namespace
}  // namespace sluice::protocol
