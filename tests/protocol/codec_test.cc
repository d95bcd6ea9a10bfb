// Tests the codec primitives and the generic field machinery with hand-written byte fixtures:
// varints at their edges, classic and compact strings, arrays and nullables, tagged-field sections
// (ordering, absent and unknown tags), and hostile or truncated input, which must fail cleanly.
#include "protocol/codec.h"

#include <gtest/gtest.h>

#include <array>
#include <limits>

#include "wire_fixture.h"

namespace sluice::protocol {
namespace {

using testing::Bytes;
using testing::hex;
using testing::reader_of;

Bytes written(const Writer& writer) {
  auto p = reinterpret_cast<const std::uint8_t*>(writer.buffer().data());
  return Bytes(p, p + writer.size());
}

struct VarintCase {
  std::uint64_t value;
  Bytes wire;
};

TEST(Codec, UvarintEdgeValues) {
  const VarintCase cases[] = {
      {0, {0x00}},
      {1, {0x01}},
      {127, {0x7f}},
      {128, {0x80, 0x01}},
      {300, {0xac, 0x02}},
      {16383, {0xff, 0x7f}},
      {16384, {0x80, 0x80, 0x01}},
      {0xffffffffu, {0xff, 0xff, 0xff, 0xff, 0x0f}},
      {std::numeric_limits<std::uint64_t>::max(),
       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
  };
  for (const auto& c : cases) {
    Writer writer;
    writer.put_uvarint(c.value);
    EXPECT_EQ(hex(written(writer)), hex(c.wire)) << c.value;
    Bytes copy = c.wire;
    Reader reader = reader_of(copy);
    EXPECT_EQ(reader.get_uvarint(), c.value);
    EXPECT_TRUE(reader.ok());
    EXPECT_EQ(reader.remaining(), 0u);
  }
}

TEST(Codec, VarintZigzagEdgeValues) {
  struct Case {
    std::int64_t value;
    Bytes wire;
  };
  const Case cases[] = {
      {0, {0x00}},
      {-1, {0x01}},
      {1, {0x02}},
      {-2, {0x03}},
      {63, {0x7e}},
      {-64, {0x7f}},
      {64, {0x80, 0x01}},
      {INT32_MAX, {0xfe, 0xff, 0xff, 0xff, 0x0f}},
      {INT32_MIN, {0xff, 0xff, 0xff, 0xff, 0x0f}},
      {INT64_MAX, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
      {INT64_MIN, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
  };
  for (const auto& c : cases) {
    Writer writer;
    writer.put_varint(c.value);
    EXPECT_EQ(hex(written(writer)), hex(c.wire)) << c.value;
    Bytes copy = c.wire;
    Reader reader = reader_of(copy);
    EXPECT_EQ(reader.get_varint(), c.value);
    EXPECT_TRUE(reader.ok());
  }
}

TEST(Codec, VarintTooLongOrTruncatedFails) {
  // Eleven bytes with the continuation bit set on ten: no varint is that long.
  Bytes too_long(10, 0x80);
  too_long.push_back(0x01);
  Reader reader = reader_of(too_long);
  reader.get_uvarint();
  EXPECT_FALSE(reader.ok());

  Bytes truncated = {0x80, 0x80};
  Reader short_reader = reader_of(truncated);
  EXPECT_EQ(short_reader.get_uvarint(), 0u);
  EXPECT_FALSE(short_reader.ok());
}

TEST(Codec, FixedWidthBigEndian) {
  Writer writer;
  writer.put_i8(-2);
  writer.put_i16(0x0102);
  writer.put_i32(-2);
  writer.put_i64(0x0102030405060708);
  const Bytes expected = {0xfe, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe,
                          0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  EXPECT_EQ(hex(written(writer)), hex(expected));
  Bytes copy = expected;
  Reader reader = reader_of(copy);
  EXPECT_EQ(reader.get_i8(), -2);
  EXPECT_EQ(reader.get_i16(), 0x0102);
  EXPECT_EQ(reader.get_i32(), -2);
  EXPECT_EQ(reader.get_i64(), 0x0102030405060708);
  EXPECT_TRUE(reader.ok());
  EXPECT_EQ(reader.get_i8(), 0);  // past the end: zero, and the failure sticks
  EXPECT_FALSE(reader.ok());
}

// A message exercising every field kind, classic at v0 and flexible from v1. Its tags are declared
// out of order (5 before 1) to check that the encoder sorts them.
struct Probe {
  static constexpr std::int16_t flexible_min = 1;
  struct Item {
    std::int16_t id = 0;
    std::optional<std::int32_t> extra;  // tag 0
    template <class V>
    void visit(V& v) {
      v.field(id, Versions{0});
      v.tagged(extra, 0, Versions{1});
    }
  };
  bool flag = false;
  std::int8_t small = 0;
  double real = 0;
  Uuid id;
  std::string text;
  std::optional<std::string> maybe_text;
  std::vector<Item> items;
  std::optional<std::vector<std::int16_t>> maybe_list;
  std::vector<std::byte> blob;
  Records records;
  std::int32_t old_only = 0;
  std::optional<std::int32_t> tag5;
  std::optional<std::string> tag1;
  template <class V>
  void visit(V& v) {
    v.field(flag, Versions{0});
    v.field(small, Versions{0});
    v.field(real, Versions{0});
    v.field(id, Versions{0});
    v.field(text, Versions{0});
    v.field(maybe_text, Versions{0});
    v.field(items, Versions{0});
    v.field(maybe_list, Versions{0});
    v.field(blob, Versions{0});
    v.field(records, Versions{0});
    v.field(old_only, Versions{0, 0});
    v.tagged(tag5, 5, Versions{1});
    v.tagged(tag1, 1, Versions{1});
  }
};

std::array<std::byte, 2> probe_records_bytes{std::byte{0xaa}, std::byte{0xbb}};

Probe probe_value() {
  Probe p;
  p.flag = true;
  p.small = -3;
  p.real = 1.0;
  p.id = testing::fixture_topic_id();
  p.text = "ab";
  p.maybe_text = std::nullopt;
  p.items = {Probe::Item{7, 9}};
  p.maybe_list = std::nullopt;
  p.blob = {std::byte{0x01}};
  p.records.is_null = false;
  p.records.bytes = probe_records_bytes;
  p.old_only = 4;
  p.tag5 = 0x11;
  p.tag1 = "z";
  return p;
}

TEST(Codec, ClassicFixture) {
  const Bytes wire = {
      0x01,                                            // flag = true
      0xfd,                                            // small = -3
      0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // real = 1.0 (IEEE 754 bits)
      TOPIC_ID_BYTES,                                  // id
      0x00, 0x02, 'a', 'b',                            // text: int16 length 2
      0xff, 0xff,                                      // maybe_text: null (int16 -1)
      0x00, 0x00, 0x00, 0x01,                          // items: int32 count 1
      0x00, 0x07,                                      //   id = 7 (no tags in classic versions)
      0xff, 0xff, 0xff, 0xff,                          // maybe_list: null (int32 -1)
      0x00, 0x00, 0x00, 0x01, 0x01,                    // blob: int32 length 1
      0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb,              // records: int32 length 2
      0x00, 0x00, 0x00, 0x04,                          // old_only = 4 (v0 only)
  };
  Probe expected = probe_value();
  expected.items[0].extra.reset();  // tagged fields do not exist in classic versions
  expected.tag5.reset();
  expected.tag1.reset();
  testing::expect_fixture(expected, wire, 0);
  // Tagged values set on a classic version are not written at all.
  EXPECT_EQ(hex(testing::encode_bytes(probe_value(), 0)), hex(wire));
}

TEST(Codec, FlexibleFixture) {
  const Bytes wire = {
      0x01,                                            // flag
      0xfd,                                            // small
      0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // real
      TOPIC_ID_BYTES,                                  // id
      0x03, 'a', 'b',                                  // text: uvarint length+1
      0x00,                                            // maybe_text: null (uvarint 0)
      0x02,                                            // items: uvarint count+1
      0x00, 0x07,                                      //   id = 7
      0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x09,        //   tags: 1 field, tag 0, 4 bytes, extra = 9
      0x00,                                            // maybe_list: null
      0x02, 0x01,                                      // blob: uvarint length+1
      0x03, 0xaa, 0xbb,                                // records: uvarint length+1
                                                       // old_only: absent from v1
      0x02,                                            // tags: 2 fields, ascending
      0x01, 0x02, 0x02, 'z',                           //   tag 1, 2 bytes, compact string "z"
      0x05, 0x04, 0x00, 0x00, 0x00, 0x11,              //   tag 5, 4 bytes, int32 0x11
  };
  testing::expect_fixture(probe_value(), wire, 1);
}

TEST(Codec, EmptyAndNonNullValues) {
  Probe p;
  p.text = "";
  p.maybe_text = "";
  p.maybe_list = std::vector<std::int16_t>{};
  p.records.is_null = false;
  const Bytes classic = {
      0x00, 0x00,  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // flag, small, real
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,               // id (zero)
      0x00, 0x00,                                                   // text: empty
      0x00, 0x00,                                                   // maybe_text: empty, not null
      0x00, 0x00, 0x00, 0x00,                                       // items: empty
      0x00, 0x00, 0x00, 0x00,                                       // maybe_list: empty, not null
      0x00, 0x00, 0x00, 0x00,                                       // blob: empty
      0x00, 0x00, 0x00, 0x00,                                       // records: empty, not null
      0x00, 0x00, 0x00, 0x00,                                       // old_only
  };
  testing::expect_fixture(p, classic, 0);
  const Bytes flexible = {
      0x00, 0x00,  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // flag, small, real
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,               // id
      0x01,                                                         // text: empty
      0x01,                                                         // maybe_text: empty
      0x01,                                                         // items: empty
      0x01,                                                         // maybe_list: empty
      0x01,                                                         // blob: empty
      0x01,                                                         // records: empty
      0x00,                                                         // no tags
  };
  testing::expect_fixture(p, flexible, 1);
  Probe nulls;  // records null
  Bytes wire = testing::encode_bytes(nulls, 1);
  EXPECT_EQ(wire[wire.size() - 2], 0x00);  // records: null (uvarint 0)
  testing::expect_round_trip(nulls, 1);
  testing::expect_round_trip(nulls, 0);
}

// A flexible message with a one-byte prefix, for tag-section tests.
struct Tagged {
  static constexpr std::int16_t flexible_min = 0;
  std::int8_t head = 0;
  std::optional<std::int16_t> tag2;
  template <class V>
  void visit(V& v) {
    v.field(head, Versions{0});
    v.tagged(tag2, 2, Versions{0});
  }
};

TEST(Codec, UnknownTagsAreSkipped) {
  Bytes wire = {
      0x07,                    // head
      0x03,                    // three tagged fields
      0x00, 0x01, 0xee,        //   tag 0 (unknown), 1 byte
      0x02, 0x02, 0x01, 0x23,  //   tag 2, int16 0x0123
      0x09, 0x00,              //   tag 9 (unknown), empty
  };
  Reader reader = reader_of(wire);
  Tagged t;
  ASSERT_TRUE(decode(reader, t, 0));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(t.head, 7);
  ASSERT_TRUE(t.tag2.has_value());
  EXPECT_EQ(*t.tag2, 0x0123);
  // Re-encoding keeps only the known tag.
  EXPECT_EQ(hex(testing::encode_bytes(t, 0)), hex(Bytes{0x07, 0x01, 0x02, 0x02, 0x01, 0x23}));
  testing::expect_prefixes_fail<Tagged>(wire, 0);
}

TEST(Codec, AbsentTagDecodesAsNullopt) {
  Bytes wire = {0x07, 0x00};
  Reader reader = reader_of(wire);
  Tagged fresh;
  ASSERT_TRUE(decode(reader, fresh, 0));
  EXPECT_FALSE(fresh.tag2.has_value());
}

TEST(Codec, TagShorterThanItsValueFails) {
  // Tag 2 claims one byte but an int16 needs two.
  Bytes wire = {0x07, 0x01, 0x02, 0x01, 0x01, 0x00};
  Reader reader = reader_of(wire);
  Tagged t;
  EXPECT_FALSE(decode(reader, t, 0));
}

TEST(Codec, HostileTagCountsAndSizesFail) {
  Bytes huge_count = {0x07, 0xff, 0xff, 0xff, 0xff, 0x0f};
  Reader reader = reader_of(huge_count);
  Tagged t;
  EXPECT_FALSE(decode(reader, t, 0));

  Bytes huge_size = {0x07, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  Reader reader2 = reader_of(huge_size);
  EXPECT_FALSE(decode(reader2, t, 0));
}

struct Lists {
  static constexpr std::int16_t flexible_min = 1;
  std::vector<std::int64_t> numbers;
  std::vector<std::string> names;
  template <class V>
  void visit(V& v) {
    v.field(numbers, Versions{0});
    v.field(names, Versions{0});
  }
};

TEST(Codec, HostileArrayCountsFailWithoutAllocating) {
  // Classic: 2^31-1 elements claimed, 4 bytes present.
  Bytes classic = {0x7f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
  Reader reader = reader_of(classic);
  Lists lists;
  EXPECT_FALSE(decode(reader, lists, 0));
  EXPECT_EQ(lists.numbers.capacity(), 0u);
  // Compact: uvarint 2^32-1 (count 2^32-2).
  Bytes compact = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x00};
  Reader reader2 = reader_of(compact);
  Lists lists2;
  EXPECT_FALSE(decode(reader2, lists2, 1));
  EXPECT_EQ(lists2.numbers.capacity(), 0u);
  // Compact: a 64-bit length whose n-1 overflows int64 must fail too.
  Bytes overflow = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x01, 0x00};
  Reader reader3 = reader_of(overflow);
  Lists lists3;
  EXPECT_FALSE(decode(reader3, lists3, 1));
  EXPECT_EQ(lists3.numbers.capacity(), 0u);
  // Classic: negative counts other than -1.
  Bytes negative = {0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00};
  Reader reader4 = reader_of(negative);
  Lists lists4;
  EXPECT_FALSE(decode(reader4, lists4, 0));
}

TEST(Codec, HostileStringLengthsFail) {
  // numbers empty; one name claiming 32767 bytes with one present.
  Bytes classic_long = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x7f, 0xff, 'a'};
  Reader reader = reader_of(classic_long);
  Lists lists;
  EXPECT_FALSE(decode(reader, lists, 0));
  Bytes classic_negative = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xfe};
  Reader reader2 = reader_of(classic_negative);
  EXPECT_FALSE(decode(reader2, lists, 0));
  // Compact string longer than int16 allows.
  Bytes compact_long = {0x01, 0x02, 0x82, 0x80, 0x02, 'a', 0x00};
  Reader reader3 = reader_of(compact_long);
  EXPECT_FALSE(decode(reader3, lists, 1));
}

TEST(Codec, NullWhereNonNullExpectedReadsEmpty) {
  // A null array or string where the spec has none is read as empty (the handler judges it).
  Bytes classic = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff};
  Reader reader = reader_of(classic);
  Lists lists;
  ASSERT_TRUE(decode(reader, lists, 0));
  EXPECT_TRUE(lists.numbers.empty());
  ASSERT_EQ(lists.names.size(), 1u);
  EXPECT_EQ(lists.names[0], "");
}

TEST(Codec, FileRecordsBecomeChunks) {
  // A Records field backed by a file writes its length prefix into the buffer and the bytes as a
  // FileChunk at the offset where they belong.
  Probe p;
  p.records.is_null = false;
  p.records.file_fd = 9;
  p.records.file_position = 4096;
  p.records.file_bytes = 300;
  Writer writer;
  encode(writer, p, 1);
  ASSERT_EQ(writer.files().size(), 1u);
  const FileChunk& chunk = writer.files()[0];
  EXPECT_EQ(chunk.fd, 9);
  EXPECT_EQ(chunk.position, 4096u);
  EXPECT_EQ(chunk.bytes, 300u);
  // Before the chunk: ... blob (0x01) then records length 301 as uvarint (0xad 0x02).
  ASSERT_GE(chunk.buffer_offset, 3u);
  EXPECT_EQ(writer.buffer()[chunk.buffer_offset - 3], std::byte{0x01});
  EXPECT_EQ(writer.buffer()[chunk.buffer_offset - 2], std::byte{0xad});
  EXPECT_EQ(writer.buffer()[chunk.buffer_offset - 1], std::byte{0x02});
  EXPECT_EQ(writer.size() - chunk.buffer_offset, 1u);  // only the empty tag section follows
  EXPECT_EQ(writer.wire_bytes(), writer.size() + 300);
}

}  // namespace
}  // namespace sluice::protocol
