// Tests Produce v0-v9 request and response against hand-written fixtures derived from
// ProduceRequest.json / ProduceResponse.json, and that decoded Records point into the request
// buffer (the broker rewrites the base offset in place and appends those same bytes).
#include "protocol/produce.h"

#include <gtest/gtest.h>

#include <array>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;

// Stand-in record bytes: the codec carries Records opaquely (record_batch tests cover the format).
std::array<std::byte, 4> records_bytes{std::byte{0xde}, std::byte{0xad}, std::byte{0xbe}, std::byte{0xef}};

ProduceRequest request_value() {
  ProduceRequest r;
  r.transactional_id = "x";
  r.acks = -1;
  r.timeout_ms = 1000;
  ProduceRequest::Partition p;
  p.index = 1;
  p.records.is_null = false;
  p.records.bytes = records_bytes;
  r.topics = {{"t", {p}}};
  return r;
}

const Bytes request_v0 = {
    0xff, 0xff,              // acks = -1
    0x00, 0x00, 0x03, 0xe8,  // timeout_ms = 1000
    0x00, 0x00, 0x00, 0x01,  // topic_data: 1
    0x00, 0x01, 't',         //   name
    0x00, 0x00, 0x00, 0x01,  //   partition_data: 1
    0x00, 0x00, 0x00, 0x01,  //     index = 1
    0x00, 0x00, 0x00, 0x04,  //     records: 4 bytes
    0xde, 0xad, 0xbe, 0xef,
};
const Bytes request_v3 = {
    0x00, 0x01, 'x',         // transactional_id (v3+)
    0xff, 0xff,              // acks
    0x00, 0x00, 0x03, 0xe8,  // timeout_ms
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  // topic_data: 1, name
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,  // partition_data: 1, index
    0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef,  // records
};
const Bytes request_v9 = {
    0x02, 'x',               // transactional_id (compact)
    0xff, 0xff,              // acks
    0x00, 0x00, 0x03, 0xe8,  // timeout_ms
    0x02,                    // topic_data: compact 1
    0x02, 't',               //   name
    0x02,                    //   partition_data: compact 1
    0x00, 0x00, 0x00, 0x01,  //     index
    0x05, 0xde, 0xad, 0xbe, 0xef,  // records: compact length 4
    0x00,                    //     tagged fields
    0x00,                    //   tagged fields
    0x00,                    // tagged fields
};

TEST(Produce, RequestFixtures) {
  for (std::int16_t version : {0, 1, 2}) testing::expect_fixture(request_value(), request_v0, version);
  for (std::int16_t version = 3; version <= 8; ++version) {
    testing::expect_fixture(request_value(), request_v3, version);
  }
  testing::expect_fixture(request_value(), request_v9, 9);
}

TEST(Produce, RequestRecordsPointIntoTheBuffer) {
  struct Case {
    std::int16_t version;
    const Bytes* wire;
    std::size_t records_offset;
  };
  const Case cases[] = {{3, &request_v3, 28}, {9, &request_v9, 17}};
  for (const auto& c : cases) {
    Bytes buffer = *c.wire;
    Reader reader = testing::reader_of(buffer);
    ProduceRequest decoded;
    ASSERT_TRUE(decode(reader, decoded, c.version));
    const Records& records = decoded.topics.at(0).partitions.at(0).records;
    EXPECT_FALSE(records.is_null);
    EXPECT_EQ(records.file_fd, -1);
    EXPECT_EQ(records.size(), 4u);
    EXPECT_EQ(reinterpret_cast<std::uint8_t*>(records.bytes.data()), buffer.data() + c.records_offset);
    // Writes through the span land in the request buffer (as the broker's base-offset patch does).
    records.bytes[0] = std::byte{0x11};
    EXPECT_EQ(buffer[c.records_offset], 0x11);
  }
}

TEST(Produce, RequestNullRecordsAndTransactionalId) {
  ProduceRequest r;
  r.acks = 1;
  r.topics = {{"t", {ProduceRequest::Partition{}}}};  // records null
  const Bytes v3 = {
      0xff, 0xff,              // transactional_id: null
      0x00, 0x01,              // acks = 1
      0x00, 0x00, 0x00, 0x00,  // timeout_ms = 0
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
      0xff, 0xff, 0xff, 0xff,  // records: null
  };
  testing::expect_fixture(r, v3, 3);
  const Bytes v9 = {
      0x00,                    // transactional_id: null
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
      0x02, 0x02, 't', 0x02, 0x00, 0x00, 0x00, 0x00,
      0x00,                    // records: null
      0x00, 0x00, 0x00,
  };
  testing::expect_fixture(r, v9, 9);
}

ProduceResponse response_value() {
  ProduceResponse r;
  ProduceResponse::Partition p;
  p.index = 1;
  p.error_code = 0;
  p.base_offset = 0x10;
  p.log_append_time_ms = 0x20;
  p.log_start_offset = 0x30;
  p.record_errors = {{2, "m"}};
  p.error_message = std::nullopt;
  r.topics = {{"t", {p}}};
  r.throttle_time_ms = 5;
  return r;
}

TEST(Produce, ResponseFixtures) {
  const Bytes v0 = {
      0x00, 0x00, 0x00, 0x01,  // responses: 1
      0x00, 0x01, 't',         //   name
      0x00, 0x00, 0x00, 0x01,  //   partition_responses: 1
      0x00, 0x00, 0x00, 0x01,  //     index
      0x00, 0x00,              //     error_code
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,  // base_offset
  };
  testing::expect_fixture(response_value(), v0, 0);
  const Bytes v1 = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,  // base_offset
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms (v1+)
  };
  testing::expect_fixture(response_value(), v1, 1);
  const Bytes v2 = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,  // base_offset
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,  // log_append_time_ms (v2+)
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
  };
  for (std::int16_t version : {2, 3, 4}) testing::expect_fixture(response_value(), v2, version);
  const Bytes v5 = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,  // base_offset
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,  // log_append_time_ms
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30,  // log_start_offset (v5+)
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
  };
  for (std::int16_t version : {5, 6, 7}) testing::expect_fixture(response_value(), v5, version);
  const Bytes v8 = {
      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,  // base_offset
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,  // log_append_time_ms
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30,  // log_start_offset
      0x00, 0x00, 0x00, 0x01,  //     record_errors: 1 (v8+)
      0x00, 0x00, 0x00, 0x02,  //       batch_index = 2
      0x00, 0x01, 'm',         //       batch_index_error_message
      0xff, 0xff,              //     error_message: null (v8+)
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
  };
  testing::expect_fixture(response_value(), v8, 8);
  const Bytes v9 = {
      0x02,                    // responses: compact 1
      0x02, 't',               //   name
      0x02,                    //   partition_responses: compact 1
      0x00, 0x00, 0x00, 0x01,  //     index
      0x00, 0x00,              //     error_code
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,  // base_offset
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,  // log_append_time_ms
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30,  // log_start_offset
      0x02,                    //     record_errors: compact 1
      0x00, 0x00, 0x00, 0x02,  //       batch_index
      0x02, 'm',               //       batch_index_error_message
      0x00,                    //       tagged fields
      0x00,                    //     error_message: null
      0x00,                    //     tagged fields
      0x00,                    //   tagged fields
      0x00, 0x00, 0x00, 0x05,  // throttle_time_ms
      0x00,                    // tagged fields
  };
  testing::expect_fixture(response_value(), v9, 9);
}

TEST(Produce, RoundTrips) {
  ProduceResponse error;
  ProduceResponse::Partition p;
  p.error_code = 2;
  p.error_message = "crc";
  error.topics = {{"t", {p}}};
  for (std::int16_t version = 0; version <= 9; ++version) {
    testing::expect_round_trip(error, version);
    testing::expect_round_trip(response_value(), version);
    testing::expect_round_trip(request_value(), version);
  }
}

}  // namespace
}  // namespace sluice::protocol
