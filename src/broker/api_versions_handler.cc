// ApiVersions: our ranges, always with response header v0.
#include "broker/respond.h"
#include "protocol/api_versions.h"

namespace sluice::broker {
namespace {
protocol::ApiVersionsResponse ranges() {
  protocol::ApiVersionsResponse response;
  for (const auto& api : protocol::supported_apis()) {
    response.api_keys.push_back({static_cast<std::int16_t>(api.api_key), api.version_min, api.version_max});
  }
  return response;
}
}  // namespace

void Broker::handle_api_versions(const RequestPtr& request) {
  protocol::ApiVersionsRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  respond(*request, ranges());
}

void Broker::handle_api_versions_unsupported(const RequestPtr& request) {
  // The body is in a version we do not know; answer in v0 so any client can read it.
  reserve(*request);
  auto response = ranges();
  response.error_code = static_cast<std::int16_t>(ErrorCode::unsupported_version);
  protocol::Writer writer;
  protocol::begin_response_frame(writer, request->header.correlation_id, false);
  protocol::encode(writer, response, 0);
  protocol::finish_frame(writer);
  request->connection->complete_response(request->slot, std::move(writer));
  observe_request_latency(*request);
}

}  // namespace sluice::broker
