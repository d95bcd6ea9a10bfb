// Tests request-header decoding (v1 and v2, with null and present client ids, tagged fields and
// hostile lengths) and response framing (size patched over the buffer plus file ranges), against
// hand-written bytes from RequestHeader.json and ResponseHeader.json.
#include "protocol/header.h"

#include <gtest/gtest.h>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;
using testing::hex;
using testing::reader_of;

TEST(Header, RequestV1WithClientId) {
  Bytes wire = {
      0x00, 0x03,              // request_api_key = 3 (Metadata)
      0x00, 0x08,              // request_api_version = 8
      0x00, 0x00, 0x01, 0x02,  // correlation_id = 258
      0x00, 0x02, 'c', 'l',    // client_id = "cl" (int16 length)
      0xaa,                    // first body byte
  };
  Reader reader = reader_of(wire);
  RequestHeader header;
  ASSERT_TRUE(decode_request_header_prefix(reader, header));
  EXPECT_EQ(header.api_key, 3);
  EXPECT_EQ(header.api_version, 8);
  EXPECT_EQ(header.correlation_id, 258);
  ASSERT_TRUE(decode_request_header_rest(reader, header, false));
  ASSERT_TRUE(header.client_id.has_value());
  EXPECT_EQ(*header.client_id, "cl");
  EXPECT_EQ(reader.remaining(), 1u);
}

TEST(Header, RequestV1NullClientId) {
  Bytes wire = {0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff};
  Reader reader = reader_of(wire);
  RequestHeader header;
  ASSERT_TRUE(decode_request_header_prefix(reader, header));
  ASSERT_TRUE(decode_request_header_rest(reader, header, false));
  EXPECT_FALSE(header.client_id.has_value());
  EXPECT_EQ(reader.remaining(), 0u);
}

TEST(Header, RequestV2ClassicClientIdThenTags) {
  Bytes wire = {
      0x00, 0x12,              // api key 18 (ApiVersions)
      0x00, 0x03,              // version 3
      0x7f, 0xff, 0xff, 0xff,  // correlation_id = INT32_MAX
      0x00, 0x01, 'x',         // client_id: still an int16-length string in header v2
      0x02,                    // two tagged fields, both unknown
      0x00, 0x01, 0x55,        //   tag 0, 1 byte
      0x07, 0x00,              //   tag 7, empty
      0x03, 'a', 'b',          // body: compact string "ab"
  };
  Reader reader = reader_of(wire);
  RequestHeader header;
  ASSERT_TRUE(decode_request_header_prefix(reader, header));
  EXPECT_EQ(header.correlation_id, INT32_MAX);
  ASSERT_TRUE(decode_request_header_rest(reader, header, true));
  EXPECT_EQ(*header.client_id, "x");
  EXPECT_EQ(reader.remaining(), 3u);
}

TEST(Header, RequestTruncatedAtEveryByteFails) {
  const Bytes wire = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
                      0x00, 0x01, 'x', 0x01, 0x00, 0x01, 0x55};
  for (std::size_t length = 0; length < wire.size(); ++length) {
    Bytes prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(length));
    Reader reader = reader_of(prefix);
    RequestHeader header;
    bool ok = decode_request_header_prefix(reader, header) &&
              decode_request_header_rest(reader, header, true);
    EXPECT_FALSE(ok) << length;
  }
}

TEST(Header, RequestHostileLengthsFail) {
  Bytes long_client = {0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x7f, 0xff, 'a'};
  Reader reader = reader_of(long_client);
  RequestHeader header;
  ASSERT_TRUE(decode_request_header_prefix(reader, header));
  EXPECT_FALSE(decode_request_header_rest(reader, header, false));

  Bytes negative_client = {0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff, 0xfe};
  Reader reader2 = reader_of(negative_client);
  ASSERT_TRUE(decode_request_header_prefix(reader2, header));
  EXPECT_FALSE(decode_request_header_rest(reader2, header, false));

  Bytes huge_tag_count = {0x00, 0x03, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01,
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f};
  Reader reader3 = reader_of(huge_tag_count);
  ASSERT_TRUE(decode_request_header_prefix(reader3, header));
  EXPECT_FALSE(decode_request_header_rest(reader3, header, true));

  Bytes huge_tag_size = {0x00, 0x03, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x01,
                         0xff, 0xff, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f};
  Reader reader4 = reader_of(huge_tag_size);
  ASSERT_TRUE(decode_request_header_prefix(reader4, header));
  EXPECT_FALSE(decode_request_header_rest(reader4, header, true));
}

TEST(Header, ResponseV0Frame) {
  Writer writer;
  begin_response_frame(writer, 0x01020304, false);
  writer.put_i16(0);  // a two-byte body
  finish_frame(writer);
  const Bytes expected = {
      0x00, 0x00, 0x00, 0x06,  // size: everything after these four bytes
      0x01, 0x02, 0x03, 0x04,  // correlation_id
      0x00, 0x00,              // body
  };
  EXPECT_EQ(hex(writer.buffer()), hex(expected));
}

TEST(Header, ResponseV1FrameCountsFileRanges) {
  Writer writer;
  begin_response_frame(writer, 7, true);
  writer.put_i32(1000);                  // a records length prefix
  writer.add_file(3, 0, 1000, nullptr);  // the records themselves, sent from a file
  writer.put_uvarint(0);                 // trailing tag section
  finish_frame(writer);
  const Bytes expected_buffer = {
      0x00, 0x00, 0x03, 0xf2,  // size = 4 + 1 + 4 + 1000 + 1 = 1010
      0x00, 0x00, 0x00, 0x07,  // correlation_id
      0x00,                    // header tagged fields: none
      0x00, 0x00, 0x03, 0xe8,  // body: length 1000
      0x00,                    // body: tags (after the file range on the wire)
  };
  EXPECT_EQ(hex(writer.buffer()), hex(expected_buffer));
  ASSERT_EQ(writer.files().size(), 1u);
  EXPECT_EQ(writer.files()[0].buffer_offset, 13u);
  EXPECT_EQ(writer.wire_bytes(), 1014u);
}

}  // namespace
}  // namespace sluice::protocol
