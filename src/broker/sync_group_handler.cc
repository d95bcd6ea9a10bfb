// SyncGroup: the leader hands in the assignment; every member gets its part.
#include "broker/respond.h"
#include "protocol/sync_group.h"

namespace sluice::broker {

void Broker::handle_sync_group(const RequestPtr& request) {
  protocol::SyncGroupRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  SyncParams params;
  params.group_id = body.group_id;
  params.member_id = body.member_id;
  params.group_instance_id = body.group_instance_id;
  params.generation_id = body.generation_id;
  params.protocol_type = body.protocol_type;
  params.protocol_name = body.protocol_name;
  for (auto& assignment : body.assignments) params.assignments.emplace_back(assignment.member_id, std::move(assignment.assignment));
  // Copied first: the lambda below moves params, and argument evaluation order is unspecified.
  std::string group_id = params.group_id;
  with_coordinator(group_id, [this, request, params = std::move(params)](GroupCoordinator& coordinator) mutable {
    coordinator.sync(std::move(params), [this, request](SyncResult result) {
      on_network(request, [this, request, result = std::move(result)] {
        protocol::SyncGroupResponse response;
        response.error_code = static_cast<std::int16_t>(result.error);
        response.protocol_type = result.protocol_type;
        response.protocol_name = result.protocol_name;
        response.assignment = result.assignment;
        respond(*request, response);
      });
    });
  });
}

}  // namespace sluice::broker
