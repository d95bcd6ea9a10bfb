// dump-log helpers: read-only file access, batch framing, names and text escaping.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "base/assert.h"
#include "base/endian.h"
#include "tools/dump_internal.h"

namespace sluice::tools::dump {

namespace fs = std::filesystem;

Result<ReadOnlyFile> ReadOnlyFile::open(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(errno, "open " + path.string());
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int saved = errno;
    ::close(fd);
    return Status::from_errno(saved, "fstat " + path.string());
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error(path.string() + " is not a regular file");
  }
  return ReadOnlyFile(fd, static_cast<std::uint64_t>(st.st_size));
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status ReadOnlyFile::read(std::uint64_t position, std::size_t bytes, std::vector<std::byte>* out) const {
  out->resize(bytes);
  std::size_t done = 0;
  while (done < bytes) {
    ssize_t n = ::pread(fd_, out->data() + done, bytes - done, static_cast<off_t>(position + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::from_errno(errno, "pread");
    if (n == 0) return Status::error("file shrank while reading (at " + std::to_string(position + done) + ")");
    done += static_cast<std::size_t>(n);
  }
  SLUICE_ASSERT(done == bytes, "done=%zu bytes=%zu", done, bytes);
  return Status::ok();
}

Result<std::vector<std::byte>> read_file_bytes(const fs::path& path) {
  auto file = ReadOnlyFile::open(path);
  if (!file.is_ok()) return file.status();
  std::vector<std::byte> bytes;
  if (Status s = file.value().read(0, static_cast<std::size_t>(file.value().size()), &bytes); !s.is_ok()) return s;
  return bytes;
}

namespace {

constexpr std::uint64_t header_bytes_up_to_magic = 17;
constexpr std::int32_t batch_length_min_v2 = 49;  // the 61-byte header less baseOffset and batchLength
// LegacyRecord.RECORD_OVERHEAD_V0 / V1: crc, magic, attributes, [timestamp,] key and value lengths.
constexpr std::int32_t batch_length_min_v0 = 14;
constexpr std::int32_t batch_length_min_v1 = 22;

BatchAt shape(BatchShape s, std::uint64_t bytes, std::string why) {
  BatchAt at;
  at.shape = s;
  at.bytes = bytes;
  at.why = std::move(why);
  return at;
}

}  // namespace

Result<BatchAt> batch_at(const ReadOnlyFile& file, std::uint64_t position) {
  SLUICE_ASSERT(position <= file.size(), "position=%llu size=%llu", (unsigned long long)position,
                (unsigned long long)file.size());
  const std::uint64_t left = file.size() - position;
  if (left == 0) return shape(BatchShape::end, 0, "");
  if (left < header_bytes_up_to_magic)
    return shape(BatchShape::end, 0, std::to_string(left) + " bytes, fewer than a batch header");
  std::vector<std::byte> head;
  const auto head_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(left, record_batch_header_bytes));
  if (Status s = file.read(position, head_bytes, &head); !s.is_ok()) return s;
  const auto batch_length = static_cast<std::int32_t>(load_be32(head.data() + record_batch_field::batch_length));
  const auto magic = static_cast<std::int8_t>(head[record_batch_field::magic]);
  if (magic < 0 || magic > 2) return shape(BatchShape::corrupt, 0, "magic " + std::to_string(magic));
  const std::int32_t length_min = magic == 2 ? batch_length_min_v2 : magic == 1 ? batch_length_min_v1 : batch_length_min_v0;
  if (batch_length < length_min)
    return shape(BatchShape::corrupt, 0,
                 "batchLength " + std::to_string(batch_length) + " below the minimum " + std::to_string(length_min));
  const std::uint64_t bytes = std::uint64_t(batch_length) + record_batch_log_overhead_bytes;
  BatchAt at = shape(magic == 2 ? BatchShape::v2 : BatchShape::legacy, bytes, "");
  if (head_bytes == record_batch_header_bytes) at.header = parse_record_batch_header(head.data());
  if (bytes > left) {
    at.shape = BatchShape::torn;
    at.why = "a batch of " + std::to_string(bytes) + " bytes with only " + std::to_string(left) + " left";
  }
  return at;
}

const char* timestamp_type_name(const RecordBatchHeader& header) {
  return header.timestamp_type() == timestamp_type_log_append_time ? "LogAppendTime" : "CreateTime";
}

std::string codec_name(int codec) {
  static constexpr const char* names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  if (codec >= 0 && codec <= 4) return names[codec];
  return "unknown(" + std::to_string(codec) + ")";
}

std::int32_t sequence_at(std::int32_t base_sequence, std::int32_t offset_delta) {
  if (base_sequence < 0 || offset_delta < 0) return -1;
  // Kafka's DefaultRecordBatch.incrementSequence: wraps from INT32_MAX to 0.
  if (base_sequence > INT32_MAX - offset_delta) return offset_delta - (INT32_MAX - base_sequence) - 1;
  return base_sequence + offset_delta;
}

std::optional<std::int64_t> base_offset_of(const fs::path& path) {
  std::string name = path.filename().string();
  auto dot = name.find('.');
  if (dot == 0 || dot == std::string::npos) return std::nullopt;
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(name.data(), name.data() + dot, value);
  if (error != std::errc() || end != name.data() + dot || value < 0) return std::nullopt;
  return value;
}

fs::path sibling(const fs::path& path, const char* suffix) {
  std::string name = path.filename().string();
  auto dot = name.find('.');
  return path.parent_path() / (name.substr(0, dot) + suffix);
}

namespace {

// The length of the valid UTF-8 sequence at bytes[i] (1..4), or 0 if there is none.
std::size_t utf8_sequence_bytes(std::span<const std::byte> bytes, std::size_t i) {
  const auto b0 = static_cast<std::uint8_t>(bytes[i]);
  std::size_t n = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xe ? 3 : (b0 >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > bytes.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<std::uint8_t>(bytes[i + k]) & 0xc0) != 0x80) return 0;
  if (n == 1) return 1;
  if (n == 2 && b0 < 0xc2) return 0;  // overlong
  const auto b1 = static_cast<std::uint8_t>(bytes[i + 1]);  // n >= 2 and i + n <= size
  if (n == 3 && ((b0 == 0xe0 && b1 < 0xa0) || (b0 == 0xed && b1 >= 0xa0))) return 0;  // overlong, surrogate
  if (n == 4 && ((b0 == 0xf0 && b1 < 0x90) || b0 > 0xf4 || (b0 == 0xf4 && b1 >= 0x90))) return 0;
  return n;
}

void append_hex_escape(std::string* out, const char* prefix, std::uint8_t b, int digits) {
  char text[12];
  std::snprintf(text, sizeof text, "%s%0*x", prefix, digits, b);
  *out += text;
}

}  // namespace

std::string printable(std::span<const std::byte> bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const auto b = static_cast<std::uint8_t>(bytes[i]);
    if (b == '\\') out += "\\\\";
    else if (b == '\n') out += "\\n";
    else if (b == '\t') out += "\\t";
    else if (b == '\r') out += "\\r";
    else if (b >= 0x20 && b < 0x7f) out += static_cast<char>(b);
    else if (std::size_t n = b >= 0x80 ? utf8_sequence_bytes(bytes, i) : 0; n > 0) {
      out.append(reinterpret_cast<const char*>(bytes.data() + i), n);
      i += n;
      continue;
    } else {
      append_hex_escape(&out, "\\x", b, 2);
    }
    ++i;
  }
  return out;
}

std::string json_string(std::string_view text) {
  auto bytes = std::as_bytes(std::span<const char>(text.data(), text.size()));
  std::string out = "\"";
  for (std::size_t i = 0; i < bytes.size();) {
    const auto b = static_cast<std::uint8_t>(bytes[i]);
    if (b == '"') out += "\\\"";
    else if (b == '\\') out += "\\\\";
    else if (b == '\n') out += "\\n";
    else if (b >= 0x20 && b < 0x7f) out += static_cast<char>(b);
    else if (std::size_t n = b >= 0x80 ? utf8_sequence_bytes(bytes, i) : 0; n > 0) {
      out.append(text.data() + i, n);
      i += n;
      continue;
    } else {
      append_hex_escape(&out, "\\u", b, 4);
    }
    ++i;
  }
  return out + "\"";
}

std::string base64(std::span<const std::byte> bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t chunk = std::uint32_t(static_cast<std::uint8_t>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) chunk |= std::uint32_t(static_cast<std::uint8_t>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) chunk |= std::uint32_t(static_cast<std::uint8_t>(bytes[i + 2]));
    out += alphabet[(chunk >> 18) & 63];
    out += alphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[chunk & 63] : '=';
  }
  return out;
}

}  // namespace sluice::tools::dump
