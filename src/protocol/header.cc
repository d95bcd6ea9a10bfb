#include "protocol/header.h"

namespace sluice::protocol {

bool decode_request_header_prefix(Reader& reader, RequestHeader& header) {
  header.api_key = reader.get_i16();
  header.api_version = reader.get_i16();
  header.correlation_id = reader.get_i32();
  return reader.ok();
}

bool decode_request_header_rest(Reader& reader, RequestHeader& header, bool flexible) {
  std::int16_t length = reader.get_i16();
  if (length >= 0) {
    auto span = reader.get_span(static_cast<std::size_t>(length));
    header.client_id.emplace(reinterpret_cast<const char*>(span.data()), span.size());
  } else if (length != -1) {
    reader.fail();
  }
  if (flexible) {
    std::uint64_t count = reader.get_uvarint();
    if (count > reader.remaining()) reader.fail();
    for (std::uint64_t i = 0; i < count && reader.ok(); ++i) {
      reader.get_uvarint();  // tag: no request header tags are defined that we use
      reader.skip(reader.get_uvarint());
    }
  }
  return reader.ok();
}

void begin_response_frame(Writer& writer, std::int32_t correlation_id, bool flexible) {
  SLUICE_ASSERT(writer.size() == 0 && writer.files().empty());
  writer.put_i32(0);  // size, patched by finish_frame
  writer.put_i32(correlation_id);
  if (flexible) writer.put_uvarint(0);
}

void finish_frame(Writer& writer) {
  std::size_t bytes = writer.wire_bytes();
  SLUICE_ASSERT(bytes >= 8 && bytes - 4 <= INT32_MAX, "frame of %zu bytes", bytes);
  store_be32(writer.buffer().data(), static_cast<std::uint32_t>(bytes - 4));
}

}  // namespace sluice::protocol
