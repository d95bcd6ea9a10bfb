#include "base/uuid.h"

#include <sys/random.h>

#include "base/assert.h"

namespace sluice {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}
}  // namespace

Uuid Uuid::random() {
  Uuid uuid;
  for (;;) {
    ssize_t got = getrandom(uuid.bytes.data(), uuid.bytes.size(), 0);
    SLUICE_ASSERT(got == 16, "getrandom returned %zd", got);
    uuid.bytes[6] = (uuid.bytes[6] & 0x0f) | 0x40;  // version 4, as Java's randomUUID
    uuid.bytes[8] = (uuid.bytes[8] & 0x3f) | 0x80;
    // Kafka avoids ids whose base64 starts with '-' (command-line trouble) and the reserved ids.
    if (!uuid.is_zero() && uuid.to_base64()[0] != '-') return uuid;
  }
}

bool Uuid::is_zero() const {
  for (auto b : bytes)
    if (b != 0) return false;
  return true;
}

std::string Uuid::to_base64() const {
  std::string out;
  std::uint32_t accumulator = 0;
  int bits = 0;
  for (auto b : bytes) {
    accumulator = (accumulator << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(accumulator >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(accumulator << (6 - bits)) & 63]);
  return out;
}

std::optional<Uuid> Uuid::from_base64(std::string_view text) {
  if (text.size() != 22) return std::nullopt;
  Uuid uuid;
  std::uint32_t accumulator = 0;
  int bits = 0;
  std::size_t index = 0;
  for (char c : text) {
    int value = decode_char(c);
    if (value < 0) return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (index < 16) uuid.bytes[index++] = static_cast<std::uint8_t>(accumulator >> bits);
    }
  }
  if (index != 16) return std::nullopt;
  return uuid;
}

}  // namespace sluice
