// Tests InitProducerId v0-v4 against hand-written fixtures derived from
// InitProducerIdRequest.json / InitProducerIdResponse.json.
#include "protocol/init_producer_id.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

InitProducerIdRequest request_value() {
  InitProducerIdRequest r;
  r.transactional_id = std::nullopt;  // an idempotent, non-transactional producer
  r.transaction_timeout_ms = 60000;
  r.producer_id = 0x10;
  r.producer_epoch = 2;
  return r;
}

TEST(InitProducerId, RequestFixtures) {
  const Bytes v0 = {
      0xff, 0xff,              // transactional_id: null
      0x00, 0x00, 0xea, 0x60,  // transaction_timeout_ms = 60000
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(request_value(), v0, version);
  const Bytes v2 = {
      0x00,                    // transactional_id: null (compact)
      0x00, 0x00, 0xea, 0x60,  // transaction_timeout_ms
      0x00,                    // tagged fields
  };
  testing::expect_fixture(request_value(), v2, 2);
  const Bytes v3 = {
      0x00,                    // transactional_id: null
      0x00, 0x00, 0xea, 0x60,  // transaction_timeout_ms
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,  // producer_id (v3+)
      0x00, 0x02,              // producer_epoch (v3+)
      0x00,                    // tagged fields
  };
  for (std::int16_t version : {3, 4}) testing::expect_fixture(request_value(), v3, version);
}

TEST(InitProducerId, RequestWithTransactionalId) {
  InitProducerIdRequest r = request_value();
  r.transactional_id = "tx";
  testing::expect_fixture(r, Bytes{0x00, 0x02, 't', 'x', 0x00, 0x00, 0xea, 0x60}, 1);
  for (std::int16_t version = 0; version <= 4; ++version) testing::expect_round_trip(r, version);
}

InitProducerIdResponse response_value() {
  InitProducerIdResponse r;
  r.throttle_time_ms = 5;
  r.error_code = 0;
  r.producer_id = 0x0102030405060708;
  r.producer_epoch = 0;
  return r;
}

TEST(InitProducerId, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00, 0x00,              // error_code
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // producer_id
      0x00, 0x00,              // producer_epoch
  };
  for (std::int16_t version : {0, 1}) testing::expect_fixture(response_value(), v0, version);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x05, 0x00, 0x00,
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00,
      0x00,  // tagged fields
  };
  for (std::int16_t version : {2, 3, 4}) testing::expect_fixture(response_value(), v2, version);
}

TEST(InitProducerId, RoundTrips) {
  InitProducerIdResponse error;
  error.error_code = 15;  // COORDINATOR_NOT_AVAILABLE
  for (std::int16_t version = 0; version <= 4; ++version) {
    testing::expect_round_trip(error, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(request_value(), version);
  }
}

}  // namespace
}  // namespace sluice::protocol
