// FindCoordinator: this broker coordinates every group (and, later, every transaction).
#include "broker/respond.h"
#include "protocol/find_coordinator.h"

namespace sluice::broker {

void Broker::handle_find_coordinator(const RequestPtr& request) {
  protocol::FindCoordinatorRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  auto [host, port] = advertised_endpoint();
  protocol::FindCoordinatorResponse response;
  if (request->header.api_version >= 4) {
    for (const auto& key : body.coordinator_keys) {
      protocol::FindCoordinatorResponse::Coordinator coordinator;
      coordinator.key = key;
      coordinator.node_id = config_.node_id;
      coordinator.host = host;
      coordinator.port = port;
      response.coordinators.push_back(std::move(coordinator));
    }
  } else {
    response.node_id = config_.node_id;
    response.host = host;
    response.port = port;
  }
  respond(*request, response);
}

}  // namespace sluice::broker
