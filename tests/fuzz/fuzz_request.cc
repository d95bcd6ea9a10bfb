// libFuzzer target for one request decoder, picked at compile time: -DSLUICE_FUZZ_REQUEST=<Type>
// (see requests.h and tests/fuzz/meson.build, which builds one fuzz_<name> per request).
// Input: byte 0 picks the api version (pick_version: every version of the range), the rest is the
// request body as the broker hands it to its decoder (the bytes after the request header).
// Finds crashes, sanitizer reports and broken round trips (fuzz_support.h: check_round_trip).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "requests.h"

#ifndef SLUICE_FUZZ_REQUEST
#error "build with -DSLUICE_FUZZ_REQUEST=<request type>, e.g. ProduceRequest"
#endif

using Request = sluice::protocol::SLUICE_FUZZ_REQUEST;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::int16_t version = sluice::fuzz::pick_version<Request>(data[0]);
  // A buffer of exactly the body's size, so AddressSanitizer sees any read past its end.
  std::vector<std::byte> body(reinterpret_cast<const std::byte*>(data) + 1, reinterpret_cast<const std::byte*>(data) + size);
  sluice::fuzz::fuzz_request_body<Request>(body, version);
  return 0;
}
