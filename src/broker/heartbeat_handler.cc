// Heartbeat: keeps a member's session alive and tells it when to rejoin.
#include "broker/respond.h"
#include "protocol/heartbeat.h"

namespace sluice::broker {

void Broker::handle_heartbeat(const RequestPtr& request) {
  auto body = std::make_shared<protocol::HeartbeatRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  with_coordinator(body->group_id, [this, request, body](GroupCoordinator& coordinator) {
    ErrorCode error = coordinator.heartbeat(body->group_id, body->member_id, body->group_instance_id, body->generation_id);
    on_network(request, [this, request, error] {
      protocol::HeartbeatResponse response;
      response.error_code = static_cast<std::int16_t>(error);
      respond(*request, response);
    });
  });
}

}  // namespace sluice::broker
