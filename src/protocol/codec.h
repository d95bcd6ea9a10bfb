// The Kafka wire codec, driven by one declaration per message.
//
// Each request and response is a plain struct with a `visit` member template that names every
// field once, with the versions it exists in (Kafka's "versions" in its message specs):
//
//   template <class V> void visit(V& v) {
//     v.field(topics, Versions{0});
//     v.field(allow_auto_topic_creation, Versions{4});
//     v.tagged(cluster_id, 0, Versions{12});   // tagged fields are std::optional<T>
//   }
//
// Encoder, Decoder and Sizer walk the same declaration, so encode, decode and size never disagree,
// and a new version is a changed Versions{} rather than a new parser. Flexible versions (compact
// strings/arrays, a tagged-field section ending every struct) are switched on per message by
// `flexible`, computed from the message's first flexible version.
//
// No I/O here. Single-threaded objects: one per request on the calling thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "base/assert.h"
#include "base/endian.h"
#include "base/uuid.h"

namespace sluice::protocol {

struct Versions {
  std::int16_t min = 0;
  std::int16_t max = INT16_MAX;
  constexpr bool contains(std::int16_t version) const { return version >= min && version <= max; }
};

// A field of type "records". On decode it points into the request buffer (mutable, so the broker
// can set the base offset in place before appending the same bytes). On encode it is either those
// bytes or a range of a file that the network thread sends with sendfile/splice, never copying it.
struct Records {
  bool is_null = true;
  std::span<std::byte> bytes;          // in-memory records (decode, or small encodes)
  int file_fd = -1;                    // >= 0: send `file_bytes` from `file_fd` at `file_position`
  std::uint64_t file_position = 0;
  std::uint32_t file_bytes = 0;
  std::shared_ptr<const void> file_owner;  // keeps the fd open until the bytes are sent

  std::size_t size() const { return file_fd >= 0 ? file_bytes : bytes.size(); }
};

// A file range placed at `buffer_offset` of an encoded message: the bytes go out after
// buffer[0, buffer_offset) and before the rest of the buffer.
struct FileChunk {
  std::size_t buffer_offset = 0;
  int fd = -1;
  std::uint64_t position = 0;
  std::uint32_t bytes = 0;
  std::shared_ptr<const void> owner;
};

// Appends big-endian primitives to a growable buffer, remembering where file ranges go.
class Writer {
 public:
  std::vector<std::byte>& buffer() { return buffer_; }
  const std::vector<std::byte>& buffer() const { return buffer_; }
  std::vector<FileChunk>& files() { return files_; }
  std::size_t size() const { return buffer_.size(); }
  // Total bytes on the wire: buffer plus every file range.
  std::size_t wire_bytes() const;

  void put_bytes(const void* data, std::size_t bytes) {
    auto p = static_cast<const std::byte*>(data);
    buffer_.insert(buffer_.end(), p, p + bytes);
  }
  void put_i8(std::int8_t v) { buffer_.push_back(static_cast<std::byte>(v)); }
  void put_i16(std::int16_t v) { grow(2); store_be16(tail(2), static_cast<std::uint16_t>(v)); }
  void put_i32(std::int32_t v) { grow(4); store_be32(tail(4), static_cast<std::uint32_t>(v)); }
  void put_i64(std::int64_t v) { grow(8); store_be64(tail(8), static_cast<std::uint64_t>(v)); }
  void put_uvarint(std::uint64_t v) {
    while (v >= 0x80) {
      buffer_.push_back(static_cast<std::byte>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buffer_.push_back(static_cast<std::byte>(v));
  }
  void put_varint(std::int64_t v) { put_uvarint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
  void add_file(int fd, std::uint64_t position, std::uint32_t bytes, std::shared_ptr<const void> owner) {
    files_.push_back(FileChunk{buffer_.size(), fd, position, bytes, std::move(owner)});
  }

 private:
  void grow(std::size_t bytes) { buffer_.resize(buffer_.size() + bytes); }
  std::byte* tail(std::size_t bytes) { return buffer_.data() + buffer_.size() - bytes; }
  std::vector<std::byte> buffer_;
  std::vector<FileChunk> files_;
};

// Reads big-endian primitives from a buffer. A read past the end sets a sticky failure and returns
// zeroes; callers check ok() once at the end.
class Reader {
 public:
  Reader(std::byte* data, std::size_t bytes) : data_(data), end_(data + bytes) {}
  bool ok() const { return ok_; }
  void fail() { ok_ = false; position_ = end_bytes(); }
  std::size_t remaining() const { return end_bytes() - position_; }
  std::size_t position() const { return position_; }
  std::byte* cursor() { return data_ + position_; }

  bool need(std::size_t bytes) {
    if (bytes > remaining()) {
      fail();
      return false;
    }
    return true;
  }
  std::int8_t get_i8() { return need(1) ? static_cast<std::int8_t>(data_[position_++]) : 0; }
  std::int16_t get_i16() { return need(2) ? static_cast<std::int16_t>(load_be16(advance(2))) : 0; }
  std::int32_t get_i32() { return need(4) ? static_cast<std::int32_t>(load_be32(advance(4))) : 0; }
  std::int64_t get_i64() { return need(8) ? static_cast<std::int64_t>(load_be64(advance(8))) : 0; }
  std::uint64_t get_uvarint();
  std::int64_t get_varint() {
    std::uint64_t v = get_uvarint();
    return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  std::span<std::byte> get_span(std::size_t bytes) {
    if (!need(bytes)) return {};
    return {advance(bytes), bytes};
  }
  void skip(std::size_t bytes) {
    if (need(bytes)) position_ += bytes;
  }

 private:
  std::size_t end_bytes() const { return static_cast<std::size_t>(end_ - data_); }
  std::byte* advance(std::size_t bytes) {
    std::byte* p = data_ + position_;
    position_ += bytes;
    return p;
  }
  std::byte* data_;
  std::byte* end_;
  std::size_t position_ = 0;
  bool ok_ = true;
};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

enum class LengthKind { string16, int32 };

class Encoder;
template <class T>
concept MessageStruct = requires(T& t, Encoder& e) { t.visit(e); };

// Writes a message in one version.
class Encoder {
 public:
  Encoder(Writer& writer, std::int16_t version, bool flexible)
      : writer_(writer), version_(version), flexible_(flexible) {}
  std::int16_t version() const { return version_; }
  bool flexible() const { return flexible_; }

  template <class T>
  void field(const T& value, Versions versions) {
    if (versions.contains(version_)) write(value);
  }
  // Tagged fields are optional: written (in flexible versions) only when they hold a value.
  template <class T>
  void tagged(const std::optional<T>& value, std::uint32_t tag, Versions versions) {
    if (!flexible_ || !versions.contains(version_) || !value.has_value()) return;
    SLUICE_ASSERT(frame_ != nullptr);
    Writer sub;
    Encoder encoder(sub, version_, flexible_);
    encoder.write(*value);
    SLUICE_ASSERT(sub.files().empty(), "tagged fields cannot hold file ranges");
    frame_->push_back(TaggedBytes{tag, std::move(sub.buffer())});
  }

  template <MessageStruct T>
  void write(const T& value) {
    std::vector<TaggedBytes> frame;
    std::vector<TaggedBytes>* saved = frame_;
    frame_ = &frame;
    const_cast<T&>(value).visit(*this);
    frame_ = saved;
    if (flexible_) write_tags(frame);
  }
  void write(bool v) { writer_.put_i8(v ? 1 : 0); }
  void write(std::int8_t v) { writer_.put_i8(v); }
  void write(std::int16_t v) { writer_.put_i16(v); }
  void write(std::uint16_t v) { writer_.put_i16(static_cast<std::int16_t>(v)); }
  void write(std::int32_t v) { writer_.put_i32(v); }
  void write(std::int64_t v) { writer_.put_i64(v); }
  void write(double v) {
    std::int64_t bits;
    std::memcpy(&bits, &v, 8);
    writer_.put_i64(bits);
  }
  void write(const Uuid& v) { writer_.put_bytes(v.bytes.data(), 16); }
  void write(const std::string& v) {
    write_length(static_cast<std::int64_t>(v.size()), LengthKind::string16);
    writer_.put_bytes(v.data(), v.size());
  }
  void write(const std::optional<std::string>& v) {
    if (!v) return write_null(LengthKind::string16);
    write(*v);
  }
  void write(const std::vector<std::byte>& v) {
    write_length(static_cast<std::int64_t>(v.size()), LengthKind::int32);
    writer_.put_bytes(v.data(), v.size());
  }
  void write(const Records& v);
  template <class T>
  void write(const std::vector<T>& v) {
    write_length(static_cast<std::int64_t>(v.size()), LengthKind::int32);
    for (const T& element : v) write(element);
  }
  template <class T>
  void write(const std::optional<std::vector<T>>& v) {
    if (!v) return write_null(LengthKind::int32);
    write(*v);
  }

 private:
  struct TaggedBytes {
    std::uint32_t tag;
    std::vector<std::byte> bytes;
  };
  // Strings carry int16 lengths, arrays and bytes int32; flexible versions use uvarint n+1.
  void write_length(std::int64_t length, LengthKind kind);
  void write_null(LengthKind kind);
  void write_tags(std::vector<TaggedBytes>& tags);

  Writer& writer_;
  std::int16_t version_;
  bool flexible_;
  std::vector<TaggedBytes>* frame_ = nullptr;
};

// Reads a message in one version. Every length and count a client sends is checked against the
// bytes that remain, so a hostile count cannot make us allocate or loop beyond the frame.
class Decoder {
 public:
  Decoder(Reader& reader, std::int16_t version, bool flexible)
      : reader_(reader), version_(version), flexible_(flexible) {}
  std::int16_t version() const { return version_; }
  bool flexible() const { return flexible_; }
  bool ok() const { return reader_.ok(); }

  template <class T>
  void field(T& value, Versions versions) {
    if (versions.contains(version_)) read(value);
  }
  template <class T>
  void tagged(std::optional<T>& value, std::uint32_t tag, Versions versions) {
    if (!flexible_ || !versions.contains(version_)) return;
    SLUICE_ASSERT(frame_ != nullptr);
    frame_->push_back(TagSlot{tag, &value, [](Decoder& decoder, void* slot) {
                                auto& target = *static_cast<std::optional<T>*>(slot);
                                target.emplace();
                                decoder.read(*target);
                              }});
  }

  template <class T>
    requires MessageStruct<T>
  void read(T& value) {
    std::vector<TagSlot> frame;
    std::vector<TagSlot>* saved = frame_;
    frame_ = &frame;
    value.visit(*this);
    frame_ = saved;
    if (flexible_) read_tags(frame);
  }
  void read(bool& v) { v = reader_.get_i8() != 0; }
  void read(std::int8_t& v) { v = reader_.get_i8(); }
  void read(std::int16_t& v) { v = reader_.get_i16(); }
  void read(std::uint16_t& v) { v = static_cast<std::uint16_t>(reader_.get_i16()); }
  void read(std::int32_t& v) { v = reader_.get_i32(); }
  void read(std::int64_t& v) { v = reader_.get_i64(); }
  void read(double& v) {
    std::int64_t bits = reader_.get_i64();
    std::memcpy(&v, &bits, 8);
  }
  void read(Uuid& v) {
    auto span = reader_.get_span(16);
    if (!span.empty()) std::memcpy(v.bytes.data(), span.data(), 16);
  }
  void read(std::string& v);
  void read(std::optional<std::string>& v);
  void read(std::vector<std::byte>& v);
  void read(Records& v);
  template <class T>
  void read(std::vector<T>& v) {
    std::int64_t count = read_length();
    if (count < 0) return;  // null where a non-null array was expected: read as empty
    read_elements(v, count);
  }
  template <class T>
  void read(std::optional<std::vector<T>>& v) {
    std::int64_t count = read_length();
    if (count < 0) {
      v.reset();
      return;
    }
    v.emplace();
    read_elements(*v, count);
  }

 private:
  struct TagSlot {
    std::uint32_t tag;
    void* target;
    void (*decode)(Decoder&, void*);
  };
  template <class T>
  void read_elements(std::vector<T>& v, std::int64_t count) {
    // Each element takes at least one byte on the wire: a count above the remaining bytes is a lie.
    if (static_cast<std::uint64_t>(count) > reader_.remaining()) return reader_.fail();
    v.clear();
    v.resize(static_cast<std::size_t>(count));
    for (auto& element : v) {
      read(element);
      if (!reader_.ok()) return;
    }
  }
  // Array and bytes lengths (int32, or uvarint n+1 when flexible). Returns -1 for null, else the
  // length; fails the reader on any other negative length.
  std::int64_t read_length();
  // String lengths (int16, or uvarint n+1 when flexible), same convention.
  std::int64_t read_string_length();
  void read_tags(std::vector<TagSlot>& slots);

  Reader& reader_;
  std::int16_t version_;
  bool flexible_;
  std::vector<TagSlot>* frame_ = nullptr;
};

// Encodes `message` at `version`, appending to `writer`.
template <class Message>
void encode(Writer& writer, const Message& message, std::int16_t version) {
  Encoder encoder(writer, version, version >= Message::flexible_min);
  encoder.write(message);
}

// Decodes `message` at `version` from the whole of `reader`'s remaining bytes. Returns false when
// the bytes do not parse (too short, bad lengths).
template <class Message>
bool decode(Reader& reader, Message& message, std::int16_t version) {
  Decoder decoder(reader, version, version >= Message::flexible_min);
  decoder.read(message);
  return reader.ok();
}

}  // namespace sluice::protocol
