// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2, computed with isa-l.
// Pure function; any thread may call.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice {

// Standard CRC-32C (reflected, init and final xor 0xFFFFFFFF): crc32c("123456789", 9) == 0xE3069283.
// `seed` is the result of a previous call, so crc32c(b, n2, crc32c(a, n1)) equals the CRC of a‖b.
std::uint32_t crc32c(const void* data, std::size_t bytes, std::uint32_t seed = 0);

}  // namespace sluice
