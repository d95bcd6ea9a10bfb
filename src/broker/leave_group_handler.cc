// LeaveGroup: members leave (one before v3, a batch from v3, by member id or instance id).
#include "broker/respond.h"
#include "protocol/leave_group.h"

namespace sluice::broker {

void Broker::handle_leave_group(const RequestPtr& request) {
  auto body = std::make_shared<protocol::LeaveGroupRequest>();
  if (!decode_body(*request, *body)) return;
  reserve(*request);
  std::vector<MemberIdentity> members;
  if (request->header.api_version >= 3) {
    for (const auto& member : body->members) members.push_back({member.member_id, member.group_instance_id});
  } else {
    members.push_back({body->member_id, std::nullopt});
  }
  with_coordinator(body->group_id, [this, request, body, members](GroupCoordinator& coordinator) {
    auto [error, member_errors] = coordinator.leave(body->group_id, members);
    on_network(request, [this, request, body, error = error, member_errors = member_errors] {
      protocol::LeaveGroupResponse response;
      const bool batched = request->header.api_version >= 3;
      // Before v3 the one member's error is the response's error.
      response.error_code = static_cast<std::int16_t>(
          !batched && error == ErrorCode::none && !member_errors.empty() ? member_errors[0] : error);
      if (batched) {
        for (std::size_t i = 0; i < body->members.size() && i < member_errors.size(); ++i)
          response.members.push_back({body->members[i].member_id, body->members[i].group_instance_id,
                                      static_cast<std::int16_t>(member_errors[i])});
      }
      respond(*request, response);
    });
  });
}

}  // namespace sluice::broker
