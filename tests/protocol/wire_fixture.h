// Helpers for the protocol tests: byte fixtures, a field-by-field description of a message at one
// version (so two decoded messages compare without each struct defining operator==), and the
// standard fixture check (decode parses the bytes into the expected values, encode reproduces them
// exactly, the decoded message re-encodes to the same bytes, and every strict prefix fails).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/codec.h"

namespace sluice::protocol::testing {

using Bytes = std::vector<std::uint8_t>;

// The topic id used by the fixtures; TOPIC_ID_BYTES spells it out where a fixture holds it.
#define TOPIC_ID_BYTES \
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10
inline Uuid fixture_topic_id() {
  Uuid id;
  for (std::size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<std::uint8_t>(i + 1);
  return id;
}

inline std::string hex(const std::uint8_t* data, std::size_t bytes) {
  std::string out;
  char part[4];
  for (std::size_t i = 0; i < bytes; ++i) {
    std::snprintf(part, sizeof part, "%02x ", data[i]);
    out += part;
  }
  return out;
}
inline std::string hex(const Bytes& bytes) { return hex(bytes.data(), bytes.size()); }
inline std::string hex(const std::vector<std::byte>& bytes) {
  return hex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

// Writes every field that exists at one version as text, in declaration order.
class Describer {
 public:
  Describer(std::int16_t version, bool flexible) : version_(version), flexible_(flexible) {}
  std::string str() const { return out_.str(); }

  template <class T>
  void field(const T& value, Versions versions) {
    if (!versions.contains(version_)) return;
    describe(value);
    out_ << ';';
  }
  template <class T>
  void tagged(const std::optional<T>& value, std::uint32_t tag, Versions versions) {
    if (!flexible_ || !versions.contains(version_)) return;
    out_ << "tag" << tag << '=';
    if (value) {
      describe(*value);
    } else {
      out_ << "absent";
    }
    out_ << ';';
  }

  template <class T>
    requires MessageStruct<T>
  void describe(const T& value) {
    out_ << '{';
    const_cast<T&>(value).visit(*this);
    out_ << '}';
  }
  void describe(bool v) { out_ << (v ? "true" : "false"); }
  void describe(std::int8_t v) { out_ << static_cast<int>(v); }
  void describe(std::int16_t v) { out_ << v; }
  void describe(std::uint16_t v) { out_ << v; }
  void describe(std::int32_t v) { out_ << v; }
  void describe(std::int64_t v) { out_ << v; }
  void describe(double v) { out_ << v; }
  void describe(const Uuid& v) { out_ << "uuid:" << hex(v.bytes.data(), 16); }
  void describe(const std::string& v) { out_ << '"' << v << '"'; }
  void describe(const std::optional<std::string>& v) {
    if (!v) {
      out_ << "null";
    } else {
      describe(*v);
    }
  }
  void describe(const std::vector<std::byte>& v) { out_ << "bytes:" << hex(v); }
  void describe(const Records& v) {
    if (v.is_null) {
      out_ << "records:null";
    } else if (v.file_fd >= 0) {
      out_ << "records:file(" << v.file_fd << ',' << v.file_position << ',' << v.file_bytes << ')';
    } else {
      out_ << "records:" << hex(reinterpret_cast<const std::uint8_t*>(v.bytes.data()), v.bytes.size());
    }
  }
  template <class T>
  void describe(const std::vector<T>& v) {
    out_ << '[';
    for (const T& element : v) {
      describe(element);
      out_ << ',';
    }
    out_ << ']';
  }
  template <class T>
  void describe(const std::optional<std::vector<T>>& v) {
    if (!v) {
      out_ << "null";
    } else {
      describe(*v);
    }
  }

 private:
  std::int16_t version_;
  bool flexible_;
  std::ostringstream out_;
};

template <class Message>
std::string describe(const Message& message, std::int16_t version) {
  Describer describer(version, version >= Message::flexible_min);
  describer.describe(message);
  return describer.str();
}

inline Reader reader_of(Bytes& bytes) { return Reader(reinterpret_cast<std::byte*>(bytes.data()), bytes.size()); }

template <class Message>
Bytes encode_bytes(const Message& message, std::int16_t version) {
  Writer writer;
  encode(writer, message, version);
  EXPECT_TRUE(writer.files().empty());
  const auto& buffer = writer.buffer();
  auto p = reinterpret_cast<const std::uint8_t*>(buffer.data());
  return Bytes(p, p + buffer.size());
}

// Every strict prefix of `wire` must fail to decode (and must not crash or allocate wildly).
template <class Message>
void expect_prefixes_fail(const Bytes& wire, std::int16_t version) {
  for (std::size_t length = 0; length < wire.size(); ++length) {
    Bytes prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(length));
    Reader reader = reader_of(prefix);
    Message message;
    EXPECT_FALSE(decode(reader, message, version)) << "prefix of " << length << " bytes parsed";
  }
}

// The standard fixture check; `wire` is the hand-derived body (no frame size, no header).
template <class Message>
void expect_fixture(const Message& expected, const Bytes& wire, std::int16_t version) {
  SCOPED_TRACE("version " + std::to_string(version));
  Bytes copy = wire;  // decoded Records point into this buffer
  Reader reader = reader_of(copy);
  Message decoded;
  ASSERT_TRUE(decode(reader, decoded, version));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(describe(decoded, version), describe(expected, version));
  EXPECT_EQ(hex(encode_bytes(expected, version)), hex(wire));
  EXPECT_EQ(hex(encode_bytes(decoded, version)), hex(wire));
  expect_prefixes_fail<Message>(wire, version);
}

// Encodes, decodes and compares the description: for values the fixtures do not cover.
template <class Message>
void expect_round_trip(const Message& message, std::int16_t version) {
  SCOPED_TRACE("round trip, version " + std::to_string(version));
  Bytes wire = encode_bytes(message, version);
  Reader reader = reader_of(wire);
  Message decoded;
  ASSERT_TRUE(decode(reader, decoded, version));
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_EQ(describe(decoded, version), describe(message, version));
}

}  // namespace sluice::protocol::testing
