// libFuzzer target for decompress_records, the decompression of a batch's records that ListOffsets
// runs on stored (client-written) batches.
//
// Input: byte 0 picks the codec (value % 6: 0 and 5 are not codecs and must fail), byte 1 the
// output bound (value % 6 of: 0, 1, 61, 4096, 64 KiB, 1 MiB), the rest is the compressed payload.
// Invariants when it decompresses: the output fits the bound; the bound is exact (the output's
// own size is enough, one byte less is not, and the output does not change); compressing the
// output again as Kafka's clients do (tests/storage/compressors.h) decompresses to it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "compressors.h"
#include "fuzz_support.h"
#include "protocol/compression.h"

namespace sluice::fuzz {
namespace {

constexpr std::size_t bound_choices[] = {0, 1, 61, 4096, 65536, 1 << 20};

void check_decompresses_to(int codec, const std::vector<std::byte>& payload, const std::vector<std::byte>& expected,
                           const std::string& what) {
  auto again = decompress_records(codec, payload, expected.size());
  FUZZ_CHECK(again.is_ok(), what + ": " + again.status().message() + "; payload " + hex(payload));
  FUZZ_CHECK(again.value() == expected, what + ": different output; payload " + hex(payload));
}

void check_output(int codec, const std::vector<std::byte>& payload, const std::vector<std::byte>& out,
                  std::size_t bound) {
  const std::string where = "codec " + std::to_string(codec) + " payload " + hex(payload);
  FUZZ_CHECK(codec >= 1 && codec <= 4, where);
  FUZZ_CHECK(out.size() <= bound, where + ": " + std::to_string(out.size()) + " bytes over the bound");
  check_decompresses_to(codec, payload, out, "same payload, bound = output size");
  if (!out.empty()) {
    auto tight = decompress_records(codec, payload, out.size() - 1);
    FUZZ_CHECK(!tight.is_ok(), where + ": fits a bound one byte below its output");
  }
  check_decompresses_to(codec, test::compress_for_codec(codec, out), out, "recompressed output");
  if (codec == 2) check_decompresses_to(codec, test::snappy_raw_compress(out.data(), out.size()), out, "raw snappy");
}

}  // namespace
}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice;
  if (size < 2) return 0;
  const int codec = data[0] % 6;
  const std::size_t bound = fuzz::bound_choices[data[1] % 6];
  std::vector<std::byte> payload(reinterpret_cast<const std::byte*>(data) + 2, reinterpret_cast<const std::byte*>(data) + size);
  auto out = decompress_records(codec, payload, bound);
  if (!out.is_ok()) return 0;
  fuzz::check_output(codec, payload, out.value(), bound);
  return 0;
}
