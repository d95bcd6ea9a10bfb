// Definitions of Broker's decode/respond templates, shared by the handler files.
#pragma once

#include "base/log.h"
#include "broker/broker.h"

namespace sluice::broker {

template <class Message>
bool Broker::decode_body(RequestContext& request, Message& message) {
  protocol::Reader reader(request.frame.data() + request.body_offset, request.frame.size() - request.body_offset);
  if (!protocol::decode(reader, message, request.header.api_version)) {
    LOG_WARN("request_unparsable", "api_key=%d version=%d correlation_id=%d", request.header.api_key,
             request.header.api_version, request.header.correlation_id);
    request.connection->close("unparsable request body");
    return false;
  }
  return true;
}

template <class Response>
void Broker::respond(RequestContext& request, const Response& response) {
  SLUICE_ASSERT(request.has_slot, "api %d responds without a reserved slot", request.header.api_key);
  protocol::Writer writer;
  protocol::begin_response_frame(writer, request.header.correlation_id,
                                 protocol::response_header_flexible(*request.api, request.header.api_version));
  protocol::encode(writer, response, request.header.api_version);
  protocol::finish_frame(writer);
  request.connection->complete_response(request.slot, std::move(writer));
}

}  // namespace sluice::broker
