// GroupCoordinator, the group's own record in __consumer_offsets: writing a group's state
// (members, generation, protocol, assignments) and loading it back at start-up.
#include "broker/group_internal.h"
#include "protocol/consumer_offsets.h"

namespace sluice::broker {

void GroupCoordinator::persist_group(Group& group, std::function<void(ErrorCode)> done) {
  protocol::GroupMetadataValue value;
  value.protocol_type = group.protocol_type;
  value.generation = group.generation_id;
  if (!group.protocol_name.empty()) value.protocol = group.protocol_name;
  if (!group.leader_id.empty()) value.leader = group.leader_id;
  value.current_state_timestamp = environment_.now_ms();

  for (const auto& [id, member] : group.members) {
    protocol::GroupMetadataValue::Member out;
    out.member_id = id;
    out.group_instance_id = member.group_instance_id;
    out.client_id = member.client_id;
    out.client_host = member.client_host;
    out.rebalance_timeout_ms = member.rebalance_timeout_ms;
    out.session_timeout_ms = member.session_timeout_ms;
    const Bytes* metadata = member.metadata_for(group.protocol_name);
    if (metadata) out.subscription = *metadata;
    out.assignment = member.assignment;
    value.members.push_back(std::move(out));
  }
  std::vector<GroupEnvironment::Record> records;
  records.push_back({protocol::encode_group_metadata_key(group.id), protocol::encode_group_metadata_value(value)});
  environment_.persist(group.id, std::move(records), std::move(done));
}

void GroupCoordinator::load_group(const std::string& group_id, std::optional<LoadedGroup> loaded) {
  if (!loaded) {
    groups_.erase(group_id);
    return;
  }
  Group& group = get_or_create(group_id);
  group.protocol_type = loaded->protocol_type;
  group.generation_id = loaded->generation_id;
  group.members.clear();
  group.static_members.clear();
  group.pending_members.clear();
  if (loaded->members.empty() || loaded->protocol_name.empty()) {
    group.state = GroupState::empty;
    group.protocol_name.clear();
    group.leader_id.clear();
    return;
  }
  group.state = GroupState::stable;
  group.protocol_name = loaded->protocol_name;
  group.leader_id = std::move(loaded->leader);
  for (auto& stored : loaded->members) {
    Member member;
    member.member_id = std::move(stored.member_id);
    member.group_instance_id = std::move(stored.group_instance_id);
    member.client_id = std::move(stored.client_id);
    member.client_host = std::move(stored.client_host);
    member.session_timeout_ms = stored.session_timeout_ms;
    member.rebalance_timeout_ms = stored.rebalance_timeout_ms >= 0 ? stored.rebalance_timeout_ms : stored.session_timeout_ms;
    member.protocol_type = loaded->protocol_type;
    member.protocols.push_back({loaded->protocol_name, std::move(stored.subscription)});
    member.assignment = std::move(stored.assignment);
    if (member.group_instance_id) group.static_members[*member.group_instance_id] = member.member_id;
    group.members.emplace(member.member_id, std::move(member));
  }
}

GroupCoordinator::LoadedGroup GroupCoordinator::loaded_from(protocol::GroupMetadataValue value) {
  LoadedGroup loaded{std::move(value.protocol_type), value.generation, value.protocol.value_or(""),
                     value.leader.value_or(""), {}};
  for (auto& member : value.members)
    loaded.members.push_back({std::move(member.member_id), std::move(member.group_instance_id), std::move(member.client_id),
                              std::move(member.client_host), member.rebalance_timeout_ms, member.session_timeout_ms,
                              std::move(member.subscription), std::move(member.assignment)});
  return loaded;
}

void GroupCoordinator::start_loaded_sessions() {
  for (auto& [id, group] : groups_)
    for (auto& [member_id, member] : group->members)
      if (member.heartbeat_timer == 0) reset_heartbeat(*group, member);
}

}  // namespace sluice::broker
