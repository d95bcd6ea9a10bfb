// Request and response headers (Kafka request header v0-v2, response header v0-v1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/codec.h"

namespace sluice::protocol {

struct RequestHeader {
  std::int16_t api_key = 0;
  std::int16_t api_version = 0;
  std::int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

// Reads the fixed part (api key, version, correlation id) that every header version shares.
// Returns false when the frame is shorter than that.
bool decode_request_header_prefix(Reader& reader, RequestHeader& header);
// Reads the rest: client id (v1+, a classic int16 string even in v2), then tagged fields (v2).
bool decode_request_header_rest(Reader& reader, RequestHeader& header, bool flexible);

// Writes the size placeholder and the response header; finish_frame() patches the size.
void begin_response_frame(Writer& writer, std::int32_t correlation_id, bool flexible);
void finish_frame(Writer& writer);

}  // namespace sluice::protocol
