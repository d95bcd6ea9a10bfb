// The SyncGroup phase of the group coordinator (declared in broker/group_coordinator.h): the
// leader's assignment is persisted with the group, then handed to every member waiting in sync.
#include "broker/group_coordinator.h"
#include "broker/group_internal.h"

#include "base/assert.h"
#include "base/log.h"

namespace sluice::broker {

void GroupCoordinator::propagate_assignment(Group& group, ErrorCode error) {
  for (auto& [id, member] : group.members) {
    if (!member.sync_callback) continue;
    auto callback = std::move(member.sync_callback);
    member.sync_callback = nullptr;
    SyncResult result;
    result.error = error;
    if (error == ErrorCode::none) {
      result.protocol_type = group.protocol_type;
      result.protocol_name = group.protocol_name;
      result.assignment = member.assignment;
    }
    callback(result);
  }
}

void GroupCoordinator::sync(SyncParams params, std::function<void(SyncResult)> done) {
  SyncResult refused;
  Group* group = find(params.group_id);
  if (group == nullptr || group->state == GroupState::dead) {
    refused.error = group == nullptr ? ErrorCode::unknown_member_id : ErrorCode::coordinator_not_available;
    return done(refused);
  }
  auto member = group->members.find(params.member_id);
  if (member == group->members.end()) {
    refused.error = ErrorCode::unknown_member_id;
    return done(refused);
  }
  if (params.group_instance_id && member->second.group_instance_id != params.group_instance_id) {
    refused.error = ErrorCode::fenced_instance_id;
    return done(refused);
  }
  if (params.generation_id != group->generation_id) {
    refused.error = ErrorCode::illegal_generation;
    return done(refused);
  }
  if ((params.protocol_type && *params.protocol_type != group->protocol_type) ||
      (params.protocol_name && *params.protocol_name != group->protocol_name)) {
    refused.error = ErrorCode::inconsistent_group_protocol;
    return done(refused);
  }
  reset_heartbeat(*group, member->second);
  switch (group->state) {
    case GroupState::empty:
      refused.error = ErrorCode::unknown_member_id;
      return done(refused);
    case GroupState::preparing_rebalance:
      refused.error = ErrorCode::rebalance_in_progress;
      return done(refused);
    case GroupState::stable: {
      SyncResult result;
      result.protocol_type = group->protocol_type;
      result.protocol_name = group->protocol_name;
      result.assignment = member->second.assignment;
      return done(result);
    }
    case GroupState::dead:
      refused.error = ErrorCode::coordinator_not_available;
      return done(refused);
    case GroupState::completing_rebalance:
      break;
  }
  member->second.sync_callback = std::move(done);
  if (params.member_id != group->leader_id) return;
  // The leader's assignment: store it durably, then hand every member its part.
  for (auto& [id, other] : group->members) other.assignment.clear();
  for (auto& [id, assignment] : params.assignments) {
    auto target = group->members.find(id);
    if (target != group->members.end()) target->second.assignment = std::move(assignment);
  }
  std::string group_id = group->id;
  std::int32_t generation = group->generation_id;
  persist_group(*group, [this, group_id, generation](ErrorCode error) {
    Group* target = find(group_id);
    if (target == nullptr || target->state != GroupState::completing_rebalance || target->generation_id != generation)
      return;
    if (error != ErrorCode::none) {
      // Kafka answers the members with the storage error mapped for clients and rebalances.
      propagate_assignment(*target, ErrorCode::coordinator_not_available);
      return prepare_rebalance(*target, "storing the assignment failed");
    }
    target->state = GroupState::stable;
    propagate_assignment(*target, ErrorCode::none);
  });
}

}  // namespace sluice::broker
