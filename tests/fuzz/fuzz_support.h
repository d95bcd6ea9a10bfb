// Shared by the libFuzzer targets and the corpus generator: a check that stops the run with the
// values that broke it, a text description of a decoded message (so two messages compare without
// each struct defining operator==), and the decode -> encode -> decode round trip that every
// request target runs on what it decoded.
//
// Single-threaded: libFuzzer calls each target from one thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/codec.h"

namespace sluice::fuzz {

// A broken invariant is a finding: print it and abort, so libFuzzer saves the input as a crash.
[[noreturn]] inline void check_failed(const char* expression, const char* file, int line, const std::string& detail) {
  std::fprintf(stderr, "fuzz check failed: %s at %s:%d\n%s\n", expression, file, line, detail.c_str());
  std::abort();
}
#define FUZZ_CHECK(condition, detail)                                                        \
  do {                                                                                       \
    if (!(condition)) ::sluice::fuzz::check_failed(#condition, __FILE__, __LINE__, (detail)); \
  } while (0)

inline std::string hex(std::span<const std::byte> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::byte b : bytes) {
    auto v = static_cast<unsigned>(b);
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

// Writes every field that exists at one version as text, in declaration order; tagged fields say
// whether they are present.
class Describer {
 public:
  Describer(std::int16_t version, bool flexible) : version_(version), flexible_(flexible) {}
  const std::string& str() const { return out_; }

  template <class T>
  void field(const T& value, protocol::Versions versions) {
    if (!versions.contains(version_)) return;
    describe(value);
    out_ += ';';
  }
  template <class T>
  void tagged(const std::optional<T>& value, std::uint32_t tag, protocol::Versions versions) {
    if (!flexible_ || !versions.contains(version_)) return;
    out_ += "tag" + std::to_string(tag) + '=';
    if (value) {
      describe(*value);
    } else {
      out_ += "absent";
    }
    out_ += ';';
  }

  template <class T>
    requires protocol::MessageStruct<T>
  void describe(const T& value) {
    out_ += '{';
    const_cast<T&>(value).visit(*this);
    out_ += '}';
  }
  void describe(bool v) { out_ += v ? "true" : "false"; }
  void describe(std::int8_t v) { out_ += std::to_string(v); }
  void describe(std::int16_t v) { out_ += std::to_string(v); }
  void describe(std::uint16_t v) { out_ += std::to_string(v); }
  void describe(std::int32_t v) { out_ += std::to_string(v); }
  void describe(std::int64_t v) { out_ += std::to_string(v); }
  // By bits: a NaN must compare equal to itself after a round trip.
  void describe(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, 8);
    out_ += "f" + std::to_string(bits);
  }
  void describe(const Uuid& v) { out_ += "uuid:" + hex(std::as_bytes(std::span(v.bytes))); }
  void describe(const std::string& v) { out_ += "\"" + hex(std::as_bytes(std::span(v))) + "\""; }
  void describe(const std::optional<std::string>& v) {
    if (!v) return void(out_ += "null");
    describe(*v);
  }
  void describe(const std::vector<std::byte>& v) { out_ += "bytes:" + hex(v); }
  void describe(const protocol::Records& v) {
    FUZZ_CHECK(v.file_fd < 0, "a decoded Records field names a file");
    if (v.is_null) return void(out_ += "records:null");
    out_ += "records:" + hex(v.bytes);
  }
  template <class T>
  void describe(const std::vector<T>& v) {
    out_ += '[';
    for (const T& element : v) {
      describe(element);
      out_ += ',';
    }
    out_ += ']';
  }
  template <class T>
  void describe(const std::optional<std::vector<T>>& v) {
    if (!v) return void(out_ += "null");
    describe(*v);
  }

 private:
  std::int16_t version_;
  bool flexible_;
  std::string out_;
};

template <class Message>
std::string describe(const Message& message, std::int16_t version) {
  Describer describer(version, version >= Message::flexible_min);
  describer.describe(message);
  return describer.str();
}

template <class Message>
std::vector<std::byte> encode_bytes(const Message& message, std::int16_t version) {
  protocol::Writer writer;
  protocol::encode(writer, message, version);
  FUZZ_CHECK(writer.files().empty(), "an encoded request holds file ranges");
  return std::move(writer.buffer());
}

// Maps the selector byte of an input onto the message's version range, so one target covers
// every version and the fuzzer can move between them by changing one byte.
template <class Message>
std::int16_t pick_version(std::uint8_t selector) {
  int span = Message::version_max - Message::version_min + 1;
  return static_cast<std::int16_t>(Message::version_min + selector % span);
}

// The invariants of a message that decoded at `version`:
//  - it re-encodes, and those bytes decode again, using every byte and nothing more;
//  - the second decode describes the same message as the first;
//  - encoding the second decode gives the same bytes (the encoding is a fixed point);
//  - the last strict prefix and the half prefix of those bytes do not decode.
template <class Message>
void check_round_trip(const Message& decoded, std::int16_t version) {
  std::string first = describe(decoded, version);
  std::vector<std::byte> wire = encode_bytes(decoded, version);
  protocol::Reader reader(wire.data(), wire.size());
  Message again;
  FUZZ_CHECK(protocol::decode(reader, again, version),
             "v" + std::to_string(version) + " re-encoded bytes do not decode: " + hex(wire));
  FUZZ_CHECK(reader.remaining() == 0, "v" + std::to_string(version) + " decode left " +
                                          std::to_string(reader.remaining()) + " bytes of " + hex(wire));
  std::string second = describe(again, version);
  FUZZ_CHECK(first == second, "v" + std::to_string(version) + " round trip changed the message\n first:  " + first +
                                  "\n second: " + second);
  std::vector<std::byte> rewire = encode_bytes(again, version);
  FUZZ_CHECK(rewire == wire, "v" + std::to_string(version) + " encoding is not a fixed point\n " + hex(wire) +
                                 "\n " + hex(rewire));
  for (std::size_t length : {wire.size() - 1, wire.size() / 2}) {
    if (wire.empty() || length >= wire.size()) continue;
    std::vector<std::byte> prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(length));
    protocol::Reader prefix_reader(prefix.data(), prefix.size());
    Message truncated;
    FUZZ_CHECK(!protocol::decode(prefix_reader, truncated, version),
               "v" + std::to_string(version) + " a " + std::to_string(length) + "-byte prefix of " + hex(wire) +
                   " decodes");
  }
}

}  // namespace sluice::fuzz
