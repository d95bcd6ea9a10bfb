#include "base/crc32c.h"

#include <isa-l/crc.h>

#include <climits>

namespace sluice {

// isa-l's crc32_iscsi neither inverts its initial value nor its result, so the standard
// CRC-32C is ~crc32_iscsi(data, n, ~seed). Its length is an int: feed it in chunks.
std::uint32_t crc32c(const void* data, std::size_t bytes, std::uint32_t seed) {
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  std::uint32_t state = ~seed;
  constexpr std::size_t chunk_bytes_max = std::size_t{1} << 30;
  while (bytes > 0) {
    std::size_t n = bytes < chunk_bytes_max ? bytes : chunk_bytes_max;
    state = crc32_iscsi(p, static_cast<int>(n), state);
    p += n;
    bytes -= n;
  }
  return ~state;
}

}  // namespace sluice
