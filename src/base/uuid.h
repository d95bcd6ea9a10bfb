// Kafka's 128-bit UUID (topic ids, cluster ids, directory ids). Its text form is Kafka's:
// URL-safe base64 without padding (22 characters).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};

  static Uuid random();  // Never zero, never Kafka's reserved METADATA id (…01).
  bool is_zero() const;
  std::string to_base64() const;
  static std::optional<Uuid> from_base64(std::string_view text);
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

}  // namespace sluice
