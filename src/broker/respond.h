// Definitions of Broker's decode/respond templates, shared by the handler files.
#pragma once

#include "base/log.h"
#include "base/clock.h"
#include "broker/broker.h"
#include "metrics/cells.h"

namespace sluice::broker {

// Records the time from the request frame arriving to its response being handed to the
// connection, in the calling thread's cells. Call once, when the response is queued.
inline void observe_request_latency(const RequestContext& request) {
  auto slot = static_cast<std::size_t>(metrics::api_key_slot(request.header.api_key));
  metrics::local().request_latency[slot].observe_ns(monotonic_ns() - request.received_ns);
}

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
  observe_request_latency(request);
}

template <class Work>
void Broker::respond_after(io::EventLoop& worker, const RequestPtr& request, Work work) {
  io::EventLoop& network_loop = request->connection->loop();
  worker.post([this, request, work, &network_loop] {
    auto response = std::make_shared<decltype(work())>(work());
    network_loop.post([this, request, response] {
      if (!request->connection->closed()) respond(*request, *response);
    });
  });
}

}  // namespace sluice::broker
