// Tests DescribeCluster v0 (flexible from v0) against hand-written fixtures derived from
// DescribeClusterRequest.json / DescribeClusterResponse.json.
#include "protocol/describe_cluster.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

TEST(DescribeCluster, RequestFixture) {
  DescribeClusterRequest r;
  r.include_cluster_authorized_operations = true;
  const Bytes v0 = {
      0x01,  // include_cluster_authorized_operations = true
      0x00,  // tagged fields
  };
  testing::expect_fixture(r, v0, 0);
}

DescribeClusterResponse response_value() {
  DescribeClusterResponse r;
  r.throttle_time_ms = 5;
  r.error_code = 0;
  r.error_message = std::nullopt;
  r.cluster_id = std::string(1, 'c');  // not = "c": GCC 12 -Wrestrict false positive
  r.controller_id = 1;
  r.brokers = {{1, "h", 9092, std::nullopt}};
  r.cluster_authorized_operations = INT32_MIN;
  return r;
}

TEST(DescribeCluster, ResponseFixture) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x00,                    // error_message: null
      0x02, 'c',               // cluster_id
      0x00, 0x00, 0x00, 0x01,  // controller_id
      0x02,                    // brokers: compact 1
      0x00, 0x00, 0x00, 0x01,  //   broker_id
      0x02, 'h',               //   host
      0x00, 0x00, 0x23, 0x84,  //   port = 9092
      0x00,                    //   rack: null
      0x00,                    //   tagged fields
      0x80, 0x00, 0x00, 0x00,  // cluster_authorized_operations = INT32_MIN (not requested)
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v0, 0);
}

TEST(DescribeCluster, RoundTrips) {
  DescribeClusterResponse r = response_value();
  r.error_message = "no";
  r.brokers = {{2, "h2", 9093, "r"}};
  testing::expect_round_trip(r, 0);
  testing::expect_round_trip(DescribeClusterResponse{}, 0);
}

}  // namespace
}  // namespace sluice::protocol
