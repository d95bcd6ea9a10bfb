// Tests FindCoordinator v0-v4 against hand-written fixtures derived from
// FindCoordinatorRequest.json / FindCoordinatorResponse.json: one key up to v3, batched keys and
// one Coordinator per key from v4.
#include "protocol/find_coordinator.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

FindCoordinatorRequest request_value() {
  FindCoordinatorRequest r;
  r.key = "g";
  r.key_type = FindCoordinatorRequest::key_type_transaction;
  r.coordinator_keys = {"g"};
  return r;
}

TEST(FindCoordinator, RequestFixtures) {
  const Bytes v0 = {
      0x00, 0x01, 'g',  // key
  };
  testing::expect_fixture(request_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x01, 'g',  // key
      0x01,             // key_type = 1 (transaction) (v1+)
  };
  for (std::int16_t version : {1, 2}) testing::expect_fixture(request_value(), v1, version);
  const Bytes v3 = {
      0x02, 'g',  // key (compact)
      0x01,       // key_type
      0x00,       // tagged fields
  };
  testing::expect_fixture(request_value(), v3, 3);
  const Bytes v4 = {
      0x01,             // key_type
      0x02, 0x02, 'g',  // coordinator_keys: compact 1, "g" (v4+; key is gone)
      0x00,             // tagged fields
  };
  testing::expect_fixture(request_value(), v4, 4);
}

FindCoordinatorResponse response_value() {
  FindCoordinatorResponse r;
  r.throttle_time_ms = 5;
  r.error_code = 0;
  r.error_message = std::nullopt;
  r.node_id = 1;
  r.host = "h";
  r.port = 9092;
  r.coordinators = {{"g", 1, "h", 9092, 0, std::nullopt}};
  return r;
}

TEST(FindCoordinator, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00,              // error_code
      0x00, 0x00, 0x00, 0x01,  // node_id
      0x00, 0x01, 'h',         // host
      0x00, 0x00, 0x23, 0x84,  // port
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms (v1+)
      0x00, 0x00,              // error_code
      0xff, 0xff,              // error_message: null (v1-v3)
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'h', 0x00, 0x00, 0x23, 0x84,
  };
  for (std::int16_t version : {1, 2}) testing::expect_fixture(response_value(), v1, version);
  const Bytes v3 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x00,                    // error_message: null (compact)
      0x00, 0x00, 0x00, 0x01,  // node_id
      0x02, 'h',               // host
      0x00, 0x00, 0x23, 0x84,  // port
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v3, 3);
  const Bytes v4 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x02,                    // coordinators: compact 1 (v4+)
      0x02, 'g',               //   key
      0x00, 0x00, 0x00, 0x01,  //   node_id
      0x02, 'h',               //   host
      0x00, 0x00, 0x23, 0x84,  //   port
      0x00, 0x00,              //   error_code
      0x00,                    //   error_message: null
      0x00,                    //   tagged fields
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v4, 4);
}

TEST(FindCoordinator, RoundTrips) {
  FindCoordinatorResponse error;
  error.error_code = 15;
  error.error_message = "not ready";
  error.node_id = -1;
  error.port = -1;
  error.coordinators = {{"a", -1, "", -1, 15, "not ready"}, {"b", 1, "h", 1, 0, std::nullopt}};
  FindCoordinatorRequest batch;
  batch.coordinator_keys = {"a", "b"};
  for (std::int16_t version = 0; version <= 4; ++version) {
    testing::expect_round_trip(error, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(request_value(), version);
    testing::expect_round_trip(batch, version);
  }
}

}  // namespace
}  // namespace sluice::protocol
