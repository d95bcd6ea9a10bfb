// libFuzzer target for a whole request frame (the bytes after the 4-byte size), read the way
// Broker::on_request reads it: the fixed header prefix, the api lookup and version check, the rest
// of the header (client id; tagged fields when the request is flexible), then the body with that
// api's decoder (fuzz_request_body: decode, round trip).
// Invariant for the header: re-encoding the fields it read (tagged fields dropped, as the broker
// drops them) gives bytes that decode to the same header, using all of them.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/api_keys.h"
#include "protocol/header.h"
#include "requests.h"

namespace sluice::fuzz {
namespace {

using protocol::ApiKey;
using protocol::RequestHeader;

// Returns false when no request type of requests.h has this key.
bool fuzz_body(ApiKey api_key, std::span<std::byte> body, std::int16_t version) {
  switch (api_key) {
#define SLUICE_FUZZ_CASE(name, Type)                                    \
  case protocol::Type::api_key:                                         \
    fuzz_request_body<protocol::Type>(body, version);                   \
    return true;
    SLUICE_FUZZ_REQUESTS(SLUICE_FUZZ_CASE)
#undef SLUICE_FUZZ_CASE
    default: return false;
  }
}

std::vector<std::byte> encode_header(const RequestHeader& header, bool flexible) {
  protocol::Writer writer;
  writer.put_i16(header.api_key);
  writer.put_i16(header.api_version);
  writer.put_i32(header.correlation_id);
  if (header.client_id) {
    writer.put_i16(static_cast<std::int16_t>(header.client_id->size()));
    writer.put_bytes(header.client_id->data(), header.client_id->size());
  } else {
    writer.put_i16(-1);
  }
  if (flexible) writer.put_uvarint(0);
  return std::move(writer.buffer());
}

std::string describe_header(const RequestHeader& header) {
  std::string client_id = header.client_id ? "\"" + *header.client_id + "\"" : "null";
  return std::to_string(header.api_key) + "/" + std::to_string(header.api_version) + "/" +
         std::to_string(header.correlation_id) + "/" + client_id;
}

void check_header_round_trip(const RequestHeader& header, bool flexible) {
  std::vector<std::byte> wire = encode_header(header, flexible);
  protocol::Reader reader(wire.data(), wire.size());
  RequestHeader again;
  FUZZ_CHECK(protocol::decode_request_header_prefix(reader, again), "header prefix of " + hex(wire));
  FUZZ_CHECK(protocol::decode_request_header_rest(reader, again, flexible), "header rest of " + hex(wire));
  FUZZ_CHECK(reader.remaining() == 0, "header decode left bytes of " + hex(wire));
  FUZZ_CHECK(describe_header(again) == describe_header(header),
             describe_header(header) + " came back as " + describe_header(again));
}

}  // namespace
}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Every API the broker serves must have a decoder target here and a fuzz_<name> binary.
  for (const auto& api : sluice::protocol::supported_apis()) {
    std::byte none[1] = {};
    if (!sluice::fuzz::fuzz_body(api.api_key, std::span<std::byte>(none, 0), api.version_min)) {
      std::fprintf(stderr, "api key %d is served but missing from tests/fuzz/requests.h\n",
                   static_cast<int>(api.api_key));
      std::abort();
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice;
  std::vector<std::byte> frame(reinterpret_cast<const std::byte*>(data), reinterpret_cast<const std::byte*>(data) + size);
  protocol::Reader reader(frame.data(), frame.size());
  protocol::RequestHeader header;
  if (!protocol::decode_request_header_prefix(reader, header)) return 0;
  const protocol::ApiSupport* api = protocol::find_api(header.api_key);
  if (api == nullptr) return 0;
  if (header.api_version < api->version_min || header.api_version > api->version_max) return 0;
  bool flexible = protocol::request_header_flexible(*api, header.api_version);
  if (!protocol::decode_request_header_rest(reader, header, flexible)) return 0;
  fuzz::check_header_round_trip(header, flexible);
  // The body as the broker's decode_body sees it: the rest of the frame, in a buffer of its own.
  std::vector<std::byte> body(frame.begin() + static_cast<std::ptrdiff_t>(reader.position()), frame.end());
  FUZZ_CHECK(fuzz::fuzz_body(api->api_key, body, header.api_version), "no decoder for a served api");
  return 0;
}
