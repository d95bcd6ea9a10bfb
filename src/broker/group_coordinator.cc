#include "broker/group_coordinator.h"
#include "broker/group_internal.h"

#include <algorithm>

#include "base/assert.h"
#include "base/log.h"
#include "base/uuid.h"
#include "protocol/consumer_offsets.h"

namespace sluice::broker {

const char* group_state_name(GroupState state) {
  switch (state) {
    case GroupState::empty: return "Empty";
    case GroupState::preparing_rebalance: return "PreparingRebalance";
    case GroupState::completing_rebalance: return "CompletingRebalance";
    case GroupState::stable: return "Stable";
    case GroupState::dead: return "Dead";
  }
  return "Unknown";
}

std::int32_t consumer_offsets_partition_for(const std::string& group_id, std::int32_t partition_count) {
  SLUICE_ASSERT(partition_count > 0);
  // Java's String.hashCode iterates UTF-16 code units; decode UTF-8 to get them.
  std::int32_t hash = 0;
  auto add = [&](std::uint32_t unit) { hash = static_cast<std::int32_t>(31u * static_cast<std::uint32_t>(hash) + unit); };
  for (std::size_t i = 0; i < group_id.size();) {
    auto byte = static_cast<unsigned char>(group_id[i]);
    std::uint32_t code = byte;
    std::size_t length = 1;
    if (byte >= 0xf0 && i + 3 < group_id.size() + 0) {
      code = ((byte & 0x07u) << 18) | ((static_cast<unsigned char>(group_id[i + 1]) & 0x3fu) << 12) |
             ((static_cast<unsigned char>(group_id[i + 2]) & 0x3fu) << 6) | (static_cast<unsigned char>(group_id[i + 3]) & 0x3fu);
      length = 4;
    } else if (byte >= 0xe0 && i + 2 < group_id.size()) {
      code = ((byte & 0x0fu) << 12) | ((static_cast<unsigned char>(group_id[i + 1]) & 0x3fu) << 6) |
             (static_cast<unsigned char>(group_id[i + 2]) & 0x3fu);
      length = 3;
    } else if (byte >= 0xc0 && i + 1 < group_id.size()) {
      code = ((byte & 0x1fu) << 6) | (static_cast<unsigned char>(group_id[i + 1]) & 0x3fu);
      length = 2;
    }
    if (code >= 0x10000) {
      code -= 0x10000;
      add(0xd800 + (code >> 10));
      add(0xdc00 + (code & 0x3ff));
    } else {
      add(code);
    }
    i += length;
  }
  // Kafka's Utils.abs: Integer.MIN_VALUE maps to 0, everything else to its absolute value.
  std::int32_t positive = hash == INT32_MIN ? 0 : (hash < 0 ? -hash : hash);
  return positive % partition_count;
}

namespace {
// Whether a rejoining member offers the same protocols with the same metadata, in the same order.
bool same_choices(const std::vector<ProtocolChoice>& a, const std::vector<ProtocolChoice>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].metadata != b[i].metadata) return false;
  return true;
}
}  // namespace

GroupCoordinator::GroupCoordinator(const GroupConfig& config, GroupEnvironment& environment)
    : config_(config), environment_(environment) {}

GroupCoordinator::~GroupCoordinator() = default;

GroupCoordinator::Group* GroupCoordinator::find(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

GroupCoordinator::Group& GroupCoordinator::get_or_create(const std::string& group_id) {
  auto& slot = groups_[group_id];
  if (!slot) {
    slot = std::make_unique<Group>();
    slot->id = group_id;
  }
  return *slot;
}

std::string GroupCoordinator::new_member_id(const std::string& client_id) const {
  // Kafka: clientId + "-" + a random UUID in its hyphenated text form.
  Uuid uuid = Uuid::random();
  static const char* hex = "0123456789abcdef";
  std::string text;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(hex[uuid.bytes[i] >> 4]);
    text.push_back(hex[uuid.bytes[i] & 15]);
  }
  return client_id + "-" + text;
}

bool GroupCoordinator::supports_protocols(const Group& group, const JoinParams& params) const {
  if (params.protocol_type.empty() || params.protocols.empty()) return false;
  if (group.members.empty()) return true;
  if (params.protocol_type != group.protocol_type) return false;
  // At least one of the member's protocols must be supported by every current member.
  for (const auto& choice : params.protocols) {
    bool everyone = true;
    for (const auto& [id, member] : group.members)
      if (member.metadata_for(choice.name) == nullptr) everyone = false;
    if (everyone) return true;
  }
  return false;
}

std::string GroupCoordinator::select_protocol(const Group& group) const {
  // Candidates: protocols every member supports, voted for by each member's first preference.
  SLUICE_ASSERT(!group.members.empty());
  std::vector<std::string> candidates;
  const Member& first = group.members.begin()->second;
  for (const auto& choice : first.protocols) {
    bool everyone = true;
    for (const auto& [id, member] : group.members)
      if (member.metadata_for(choice.name) == nullptr) everyone = false;
    if (everyone) candidates.push_back(choice.name);
  }
  SLUICE_ASSERT(!candidates.empty(), "group %s has no common protocol", group.id.c_str());
  std::map<std::string, int> votes;
  for (const auto& [id, member] : group.members) {
    for (const auto& choice : member.protocols) {
      if (std::find(candidates.begin(), candidates.end(), choice.name) != candidates.end()) {
        ++votes[choice.name];
        break;
      }
    }
  }
  std::string best = candidates.front();
  for (const auto& name : candidates)
    if (votes[name] > votes[best]) best = name;
  return best;
}

void GroupCoordinator::join(JoinParams params, std::function<void(JoinResult)> done) {
  JoinResult refused;
  refused.member_id = params.member_id;
  if (params.group_id.empty()) {
    refused.error = ErrorCode::invalid_group_id;
    return done(refused);
  }
  if (params.session_timeout_ms < config_.session_timeout_ms_min ||
      params.session_timeout_ms > config_.session_timeout_ms_max) {
    refused.error = ErrorCode::invalid_session_timeout;
    return done(refused);
  }
  if (params.rebalance_timeout_ms <= 0) params.rebalance_timeout_ms = params.session_timeout_ms;
  Group* existing = find(params.group_id);
  if (existing == nullptr && !params.member_id.empty()) {
    refused.error = ErrorCode::unknown_member_id;
    return done(refused);
  }
  if (existing == nullptr && groups_.size() >= static_cast<std::size_t>(config_.groups_max)) {
    refused.error = ErrorCode::coordinator_not_available;
    return done(refused);
  }
  Group& group = get_or_create(params.group_id);
  if (group.state == GroupState::dead) {
    refused.error = ErrorCode::coordinator_not_available;
    return done(refused);
  }
  if (!supports_protocols(group, params)) {
    refused.error = ErrorCode::inconsistent_group_protocol;
    return done(refused);
  }
  if (params.member_id.empty()) return join_new_member(group, std::move(params), std::move(done));
  auto member = group.members.find(params.member_id);
  if (member == group.members.end()) {
    if (group.pending_members.erase(params.member_id) > 0) {
      std::string member_id = params.member_id;
      return add_member_and_rebalance(group, std::move(params), member_id, std::move(done));
    }
    // A static member whose id was replaced by a newer instance is fenced.
    if (params.group_instance_id && group.static_members.count(*params.group_instance_id))
      refused.error = ErrorCode::fenced_instance_id;
    else
      refused.error = ErrorCode::unknown_member_id;
    return done(refused);
  }
  if (params.group_instance_id && member->second.group_instance_id != params.group_instance_id) {
    refused.error = ErrorCode::fenced_instance_id;
    return done(refused);
  }
  join_known_member(group, member->second, std::move(params), std::move(done));
}

void GroupCoordinator::join_new_member(Group& group, JoinParams params, std::function<void(JoinResult)> done) {
  if (group.members.size() + group.pending_members.size() >= static_cast<std::size_t>(config_.group_size_max)) {
    JoinResult full;
    full.error = ErrorCode::group_max_size_reached;
    return done(full);
  }
  std::string member_id = new_member_id(params.client_id);
  if (params.group_instance_id) {
    auto known = group.static_members.find(*params.group_instance_id);
    if (known != group.static_members.end() && group.members.count(known->second)) {
      // A static member restarting: it takes over the old member's place under a new id. When
      // the group is stable and nothing changed, this costs no rebalance (KIP-345).
      Member old = std::move(group.members.at(known->second));
      group.members.erase(known->second);
      if (old.join_callback) {
        JoinResult fenced;
        fenced.error = ErrorCode::fenced_instance_id;
        old.join_callback(fenced);
      }
      if (old.sync_callback) {
        SyncResult fenced;
        fenced.error = ErrorCode::fenced_instance_id;
        old.sync_callback(fenced);
      }
      environment_.cancel_timer(old.heartbeat_timer);
      const std::string old_leader = group.leader_id;
      if (group.leader_id == old.member_id) group.leader_id = member_id;
      bool same_protocols = same_choices(old.protocols, params.protocols);
      Member& member = group.members[member_id];
      member = std::move(old);
      member.member_id = member_id;
      member.join_callback = nullptr;
      member.sync_callback = nullptr;
      member.client_id = params.client_id;
      member.client_host = params.client_host;
      member.session_timeout_ms = params.session_timeout_ms;
      member.rebalance_timeout_ms = params.rebalance_timeout_ms;
      member.protocols = params.protocols;
      known->second = member_id;
      reset_heartbeat(group, member);
      if (group.state == GroupState::stable && same_protocols) {
        // The assignment stands. From v9 the leader learns it leads but may skip the assignor
        // (KIP-814); before v9 the old leader id goes back, so the member does not assign.
        JoinResult result = join_result_for(group, member);
        if (params.supports_skip_assignment) {
          result.skip_assignment = member_id == group.leader_id;
        } else {
          result.members.clear();
          result.leader = old_leader;
        }
        return done(result);
      }
      member.join_callback = std::move(done);
      maybe_prepare_rebalance(group, "static member rejoined with new metadata");
      if (group.state == GroupState::preparing_rebalance) try_complete_join(group);
      return;
    }
    return add_member_and_rebalance(group, std::move(params), member_id, std::move(done));
  }
  if (params.require_known_member_id) {
    // JoinGroup v4+: hand out the id first; the member joins for real when it comes back with it.
    group.pending_members.insert(member_id);
    std::string group_id = group.id;
    std::int64_t timeout = params.session_timeout_ms;
    environment_.add_timer(timeout, [this, group_id, member_id] {
      Group* pending_group = find(group_id);
      if (pending_group == nullptr || pending_group->pending_members.erase(member_id) == 0) return;
      if (pending_group->state == GroupState::preparing_rebalance) try_complete_join(*pending_group);
    });
    JoinResult result;
    result.error = ErrorCode::member_id_required;
    result.member_id = member_id;
    return done(result);
  }
  add_member_and_rebalance(group, std::move(params), member_id, std::move(done));
}

void GroupCoordinator::add_member_and_rebalance(Group& group, JoinParams params, const std::string& member_id,
                                                std::function<void(JoinResult)> done) {
  Member& member = group.members[member_id];
  member.member_id = member_id;
  member.group_instance_id = params.group_instance_id;
  member.client_id = params.client_id;
  member.client_host = params.client_host;
  member.session_timeout_ms = params.session_timeout_ms;
  member.rebalance_timeout_ms = params.rebalance_timeout_ms;
  member.protocol_type = params.protocol_type;
  member.protocols = std::move(params.protocols);
  member.join_callback = std::move(done);
  if (member.group_instance_id) group.static_members[*member.group_instance_id] = member_id;
  if (group.members.size() == 1) group.protocol_type = member.protocol_type;
  if (group.state == GroupState::preparing_rebalance && group.in_initial_delay) group.new_member_added = true;
  reset_heartbeat(group, member);
  maybe_prepare_rebalance(group, "new member joined");
  if (group.state == GroupState::preparing_rebalance) try_complete_join(group);
}

void GroupCoordinator::join_known_member(Group& group, Member& member, JoinParams params,
                                         std::function<void(JoinResult)> done) {
  bool same_protocols = same_choices(member.protocols, params.protocols);
  member.client_id = params.client_id;
  member.client_host = params.client_host;
  member.session_timeout_ms = params.session_timeout_ms;
  member.rebalance_timeout_ms = params.rebalance_timeout_ms;
  member.protocols = std::move(params.protocols);
  reset_heartbeat(group, member);
  switch (group.state) {
    case GroupState::preparing_rebalance:
      if (member.join_callback) {
        JoinResult replaced;
        replaced.error = ErrorCode::rebalance_in_progress;
        member.join_callback(replaced);
      }
      member.join_callback = std::move(done);
      return try_complete_join(group);
    case GroupState::completing_rebalance:
      if (same_protocols) return done(join_result_for(group, member));  // a lost response: resend it
      member.join_callback = std::move(done);
      return prepare_rebalance(group, "member changed metadata while completing");
    case GroupState::stable:
      if (member.member_id != group.leader_id && same_protocols) return done(join_result_for(group, member));
      member.join_callback = std::move(done);
      return prepare_rebalance(group, member.member_id == group.leader_id ? "leader rejoined" : "member changed metadata");
    case GroupState::empty:
    case GroupState::dead: {
      JoinResult result;
      result.error = ErrorCode::unknown_member_id;
      result.member_id = member.member_id;
      return done(result);
    }
  }
}

void GroupCoordinator::maybe_prepare_rebalance(Group& group, const char* reason) {
  if (group.state == GroupState::stable || group.state == GroupState::completing_rebalance ||
      group.state == GroupState::empty)
    prepare_rebalance(group, reason);
}

void GroupCoordinator::prepare_rebalance(Group& group, const char* reason) {
  if (group.state == GroupState::completing_rebalance) propagate_assignment(group, ErrorCode::rebalance_in_progress);
  bool was_empty = group.state == GroupState::empty;
  group.state = GroupState::preparing_rebalance;
  LOG_INFO("group_rebalance", "group=%s generation=%d reason=\"%s\"", group.id.c_str(), group.generation_id, reason);
  std::int64_t timeout = group.rebalance_timeout_ms();
  if (was_empty) {
    group.new_member_added = false;
    group.in_initial_delay = true;
    std::int64_t delay = config_.initial_rebalance_delay_ms;
    schedule_join_deadline(group, delay, std::max<std::int64_t>(timeout - delay, 0), true);
  } else {
    schedule_join_deadline(group, timeout, 0, false);
  }
}

void GroupCoordinator::schedule_join_deadline(Group& group, std::int64_t delay_ms, std::int64_t remaining_ms,
                                              bool initial) {
  environment_.cancel_timer(group.join_timer);
  std::string group_id = group.id;
  group.join_timer = environment_.add_timer(delay_ms, [this, group_id, remaining_ms, initial] {
    Group* target = find(group_id);
    if (target == nullptr || target->state != GroupState::preparing_rebalance) return;
    target->join_timer = 0;
    target->in_initial_delay = false;
    if (initial && target->new_member_added && remaining_ms > 0) {
      // More members arrived during the initial delay: wait a little longer for the rest.
      target->new_member_added = false;
      target->in_initial_delay = true;
      std::int64_t delay = std::min<std::int64_t>(config_.initial_rebalance_delay_ms, remaining_ms);
      return schedule_join_deadline(*target, delay, remaining_ms - delay, true);
    }
    complete_join(*target);
  });
}

void GroupCoordinator::try_complete_join(Group& group) {
  SLUICE_ASSERT(group.state == GroupState::preparing_rebalance);
  // The first rebalance of an empty group waits out its initial delay for more members.
  if (group.in_initial_delay) return;
  if (group.has_all_members_joined() && group.join_timer != 0) {
    environment_.cancel_timer(group.join_timer);
    group.join_timer = 0;
    complete_join(group);
  }
}

void GroupCoordinator::complete_join(Group& group) {
  // Members that did not rejoin in time leave the group (dynamic and static alike).
  std::vector<std::string> gone;
  for (const auto& [id, member] : group.members)
    if (!member.join_callback) gone.push_back(id);
  for (const auto& id : gone) {
    Member& member = group.members.at(id);
    environment_.cancel_timer(member.heartbeat_timer);
    if (member.group_instance_id) group.static_members.erase(*member.group_instance_id);
    group.members.erase(id);
  }
  ++group.generation_id;
  group.pending_members.clear();
  if (group.members.empty()) {
    group.state = GroupState::empty;
    group.protocol_name.clear();
    group.leader_id.clear();
    persist_group(group, [](ErrorCode) {});
    return;
  }
  group.protocol_name = select_protocol(group);
  if (!group.members.count(group.leader_id)) group.leader_id = group.members.begin()->first;
  group.state = GroupState::completing_rebalance;
  LOG_INFO("group_joined", "group=%s generation=%d members=%zu protocol=%s leader=%s", group.id.c_str(),
           group.generation_id, group.members.size(), group.protocol_name.c_str(), group.leader_id.c_str());
  for (auto& [id, member] : group.members) {
    auto callback = std::move(member.join_callback);
    member.join_callback = nullptr;
    member.assignment.clear();
    reset_heartbeat(group, member);
    callback(join_result_for(group, member));
  }
}

JoinResult GroupCoordinator::join_result_for(const Group& group, const Member& member) const {
  JoinResult result;
  result.generation_id = group.generation_id;
  result.protocol_type = group.protocol_type;
  result.protocol_name = group.protocol_name;
  result.leader = group.leader_id;
  result.member_id = member.member_id;
  if (member.member_id == group.leader_id) {
    for (const auto& [id, other] : group.members) {
      const Bytes* metadata = other.metadata_for(group.protocol_name);
      result.members.push_back({id, other.group_instance_id, metadata ? *metadata : Bytes{}});
    }
  }
  return result;
}

ErrorCode GroupCoordinator::heartbeat(const std::string& group_id, const std::string& member_id,
                                      const std::optional<std::string>& group_instance_id,
                                      std::int32_t generation_id) {
  Group* group = find(group_id);
  if (group == nullptr) return ErrorCode::unknown_member_id;
  if (group->state == GroupState::dead) return ErrorCode::coordinator_not_available;
  auto member = group->members.find(member_id);
  if (member == group->members.end()) return ErrorCode::unknown_member_id;
  if (group_instance_id && member->second.group_instance_id != group_instance_id) return ErrorCode::fenced_instance_id;
  if (generation_id != group->generation_id) return ErrorCode::illegal_generation;
  reset_heartbeat(*group, member->second);
  switch (group->state) {
    case GroupState::preparing_rebalance: return ErrorCode::rebalance_in_progress;
    case GroupState::empty: return ErrorCode::unknown_member_id;
    default: return ErrorCode::none;
  }
}

void GroupCoordinator::reset_heartbeat(Group& group, Member& member) {
  environment_.cancel_timer(member.heartbeat_timer);
  std::uint64_t nonce = next_nonce_++;
  member.heartbeat_nonce = nonce;
  std::string group_id = group.id;
  std::string member_id = member.member_id;
  member.heartbeat_timer = environment_.add_timer(member.session_timeout_ms, [this, group_id, member_id, nonce] {
    on_session_expired(group_id, member_id, nonce);
  });
}

void GroupCoordinator::on_session_expired(const std::string& group_id, const std::string& member_id,
                                          std::uint64_t nonce) {
  Group* group = find(group_id);
  if (group == nullptr) return;
  auto member = group->members.find(member_id);
  if (member == group->members.end() || member->second.heartbeat_nonce != nonce) return;
  member->second.heartbeat_timer = 0;
  // A member waiting in JoinGroup or SyncGroup cannot heartbeat; Kafka keeps it alive (the
  // rebalance timeout bounds the wait instead).
  if (member->second.join_callback || member->second.sync_callback) return reset_heartbeat(*group, member->second);
  LOG_INFO("group_member_expired", "group=%s member=%s", group_id.c_str(), member_id.c_str());
  remove_member(*group, member_id, "session timeout");
}

void GroupCoordinator::remove_member(Group& group, const std::string& member_id, const char* reason) {
  auto member = group.members.find(member_id);
  if (member == group.members.end()) return;
  if (member->second.join_callback) {
    JoinResult gone;
    gone.error = ErrorCode::unknown_member_id;
    member->second.join_callback(gone);
  }
  if (member->second.sync_callback) {
    SyncResult gone;
    gone.error = ErrorCode::unknown_member_id;
    member->second.sync_callback(gone);
  }
  environment_.cancel_timer(member->second.heartbeat_timer);
  if (member->second.group_instance_id) group.static_members.erase(*member->second.group_instance_id);
  group.members.erase(member);
  switch (group.state) {
    case GroupState::stable:
    case GroupState::completing_rebalance: return prepare_rebalance(group, reason);
    case GroupState::preparing_rebalance: return try_complete_join(group);
    default: return;
  }
}

std::pair<ErrorCode, std::vector<ErrorCode>> GroupCoordinator::leave(const std::string& group_id,
                                                                      const std::vector<MemberIdentity>& members) {
  Group* group = find(group_id);
  if (group == nullptr) return {ErrorCode::unknown_member_id, std::vector<ErrorCode>(members.size(), ErrorCode::unknown_member_id)};
  if (group->state == GroupState::dead) return {ErrorCode::coordinator_not_available, {}};
  std::vector<ErrorCode> errors;
  for (const auto& identity : members) {
    std::string member_id = identity.member_id;
    if (member_id.empty() && identity.group_instance_id) {
      auto known = group->static_members.find(*identity.group_instance_id);
      member_id = known == group->static_members.end() ? "" : known->second;
    }
    auto member = group->members.find(member_id);
    if (member == group->members.end()) {
      errors.push_back(group->pending_members.erase(member_id) ? ErrorCode::none : ErrorCode::unknown_member_id);
      continue;
    }
    if (identity.group_instance_id && member->second.group_instance_id != identity.group_instance_id) {
      errors.push_back(ErrorCode::fenced_instance_id);
      continue;
    }
    errors.push_back(ErrorCode::none);
    remove_member(*group, member_id, "member left");
  }
  return {ErrorCode::none, errors};
}

std::vector<GroupListing> GroupCoordinator::list_groups() const {
  std::vector<GroupListing> out;
  for (const auto& [id, group] : groups_)
    if (group->state != GroupState::dead) out.push_back({id, group->protocol_type, group->state});
  return out;
}

GroupDescription GroupCoordinator::describe(const std::string& group_id) const {
  GroupDescription description;
  description.group_id = group_id;
  Group* group = find(group_id);
  if (group == nullptr) return description;  // Dead with no members, as Kafka answers
  description.state = group->state;
  description.protocol_type = group->protocol_type;
  if (group->state == GroupState::stable) description.protocol_name = group->protocol_name;
  for (const auto& [id, member] : group->members) {
    GroupDescription::Member out;
    out.member_id = id;
    out.group_instance_id = member.group_instance_id;
    out.client_id = member.client_id;
    out.client_host = member.client_host;
    if (group->state == GroupState::stable) {
      const Bytes* metadata = member.metadata_for(group->protocol_name);
      if (metadata) out.metadata = *metadata;
      out.assignment = member.assignment;
    }
    description.members.push_back(std::move(out));
  }
  return description;
}

void GroupCoordinator::delete_group(const std::string& group_id, std::function<void(ErrorCode)> done) {
  Group* group = find(group_id);
  if (group == nullptr || group->state == GroupState::dead) return done(ErrorCode::group_id_not_found);
  if (group->state != GroupState::empty) return done(ErrorCode::non_empty_group);
  std::vector<GroupEnvironment::Record> records;
  for (const auto& [key, committed] : group->offsets)
    records.push_back({protocol::encode_offset_commit_key(group_id, key.first, key.second), std::nullopt});
  records.push_back({protocol::encode_group_metadata_key(group_id), std::nullopt});
  group->state = GroupState::dead;
  environment_.persist(group_id, std::move(records), [this, group_id, done](ErrorCode error) {
    if (error == ErrorCode::none) groups_.erase(group_id);
    else if (Group* target = find(group_id)) target->state = GroupState::empty;
    done(error);
  });
}

}  // namespace sluice::broker
