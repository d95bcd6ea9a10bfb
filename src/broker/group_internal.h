// The members and groups a GroupCoordinator keeps; shared by its source files
// (group_coordinator.cc: membership and rebalances; group_sync.cc: the SyncGroup phase;
// group_offsets.cc: committed offsets; group_metadata.cc: the group's stored record).
// Owned by the coordinator, on its I/O thread only.
#pragma once

#include <map>
#include <set>

#include "broker/group_coordinator.h"

namespace sluice::broker {

struct GroupCoordinator::Member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<ProtocolChoice> protocols;
  Bytes assignment;
  std::function<void(JoinResult)> join_callback;  // set while a JoinGroup waits
  std::function<void(SyncResult)> sync_callback;  // set while a SyncGroup waits
  GroupEnvironment::TimerId heartbeat_timer = 0;
  std::uint64_t heartbeat_nonce = 0;

  const Bytes* metadata_for(const std::string& protocol) const {
    for (const auto& choice : protocols)
      if (choice.name == protocol) return &choice.metadata;
    return nullptr;
  }
};

struct GroupCoordinator::Group {
  std::string id;
  GroupState state = GroupState::empty;
  std::int32_t generation_id = 0;
  std::string protocol_type;
  std::string protocol_name;
  std::string leader_id;
  std::map<std::string, Member> members;
  std::set<std::string> pending_members;  // got MEMBER_ID_REQUIRED, not rejoined yet
  std::map<std::string, std::string> static_members;  // group.instance.id -> member id
  std::map<std::pair<std::string, std::int32_t>, CommittedOffset> offsets;
  GroupEnvironment::TimerId join_timer = 0;
  bool in_initial_delay = false;   // the first rebalance of an empty group waits for more members
  bool new_member_added = false;   // a member joined during the initial delay

  bool has_all_members_joined() const {
    if (!pending_members.empty()) return false;
    for (const auto& [id, member] : members)
      if (!member.join_callback) return false;
    return true;
  }
  std::int32_t rebalance_timeout_ms() const {
    std::int32_t timeout = 0;
    for (const auto& [id, member] : members) timeout = std::max(timeout, member.rebalance_timeout_ms);
    return timeout;
  }
};

}  // namespace sluice::broker
