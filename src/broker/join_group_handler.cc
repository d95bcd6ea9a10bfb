// JoinGroup: a member joins (or rejoins) a group; the answer waits for the rebalance.
#include "broker/respond.h"
#include "protocol/join_group.h"

namespace sluice::broker {

void Broker::handle_join_group(const RequestPtr& request) {
  protocol::JoinGroupRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  const std::int16_t version = request->header.api_version;
  JoinParams params;
  params.group_id = body.group_id;
  params.member_id = body.member_id;
  params.group_instance_id = body.group_instance_id;
  params.client_id = request->header.client_id.value_or("");
  params.client_host = request->connection->peer_host();
  params.session_timeout_ms = body.session_timeout_ms;
  // v0 has no rebalance timeout: Kafka uses the session timeout.
  params.rebalance_timeout_ms = version >= 1 ? body.rebalance_timeout_ms : body.session_timeout_ms;
  params.protocol_type = body.protocol_type;
  for (auto& protocol : body.protocols) params.protocols.push_back({protocol.name, std::move(protocol.metadata)});
  params.require_known_member_id = version >= 4;
  params.supports_skip_assignment = version >= 9;
  // Copied first: the lambda below moves params, and argument evaluation order is unspecified.
  std::string group_id = params.group_id;
  with_coordinator(group_id, [this, request, params = std::move(params)](GroupCoordinator& coordinator) mutable {
    coordinator.join(std::move(params), [this, request](JoinResult result) {
      on_network(request, [this, request, result = std::move(result)] {
        protocol::JoinGroupResponse response;
        response.error_code = static_cast<std::int16_t>(result.error);
        response.generation_id = result.generation_id;
        response.protocol_type = result.protocol_type;
        // Before v7 the protocol name is not nullable.
        response.protocol_name = result.protocol_name.value_or("");
        if (request->header.api_version >= 7 && result.error != ErrorCode::none) response.protocol_name.reset();
        response.leader = result.leader;
        response.skip_assignment = result.skip_assignment;
        response.member_id = result.member_id;
        for (const auto& member : result.members)
          response.members.push_back({member.member_id, member.group_instance_id, member.metadata});
        respond(*request, response);
      });
    });
  });
}

}  // namespace sluice::broker
