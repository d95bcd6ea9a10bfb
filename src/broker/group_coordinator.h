// The classic consumer group protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup, offsets), as
// Kafka's GroupCoordinator runs it, for the groups whose __consumer_offsets partition one I/O
// thread owns.
//
// The broker stays agnostic of the assignment strategy: the leader member computes it, the
// coordinator picks the protocol every member supports and passes the leader's assignments on.
//
// Group states: Empty -> PreparingRebalance -> CompletingRebalance -> Stable (-> Dead when
// deleted). A rebalance waits for every known member to rejoin (or its rebalance timeout); the
// first rebalance of an empty group waits group.initial.rebalance.delay.ms for more members.
//
// Threads: one coordinator per I/O thread; every method runs on that thread. Waiting (parked
// joins and syncs, session and rebalance timers) costs no thread: callbacks are kept and the
// Environment's timers fire them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error_code.h"

namespace sluice::protocol {
struct GroupMetadataValue;
}

namespace sluice::broker {

using Bytes = std::vector<std::byte>;

struct GroupConfig {
  std::int32_t session_timeout_ms_min = 6000;       // group.min.session.timeout.ms
  std::int32_t session_timeout_ms_max = 1800000;    // group.max.session.timeout.ms
  std::int32_t initial_rebalance_delay_ms = 3000;   // group.initial.rebalance.delay.ms
  std::int32_t group_size_max = 1000;               // group.max.size
  std::int32_t groups_max = 100000;                 // per coordinator (ours)
  std::uint32_t offset_metadata_bytes_max = 4096;   // offset.metadata.max.bytes
  std::int64_t offsets_retention_ms = 7 * 24 * 3600 * 1000LL;  // offsets.retention.minutes
};

// What the coordinator needs from the broker: a clock, timers, and a durable write of
// __consumer_offsets records for a group.
class GroupEnvironment {
 public:
  using TimerId = std::uint64_t;
  virtual ~GroupEnvironment() = default;
  virtual std::int64_t now_ms() = 0;
  virtual TimerId add_timer(std::int64_t delay_ms, std::function<void()> task) = 0;
  virtual void cancel_timer(TimerId id) = 0;
  // Appends records (key, value; a null value is a tombstone) to the group's partition of
  // __consumer_offsets and calls done with the outcome (now or later, on this thread).
  struct Record {
    Bytes key;
    std::optional<Bytes> value;
  };
  virtual void persist(const std::string& group_id, std::vector<Record> records,
                       std::function<void(ErrorCode)> done) = 0;
  // Whether topic/partition exists (commits for unknown partitions are refused).
  virtual bool partition_exists(const std::string& topic, std::int32_t partition) = 0;
};

enum class GroupState { empty, preparing_rebalance, completing_rebalance, stable, dead };
const char* group_state_name(GroupState state);

struct ProtocolChoice {
  std::string name;
  Bytes metadata;
};

struct JoinParams {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<ProtocolChoice> protocols;
  bool require_known_member_id = false;  // JoinGroup v4+
  bool supports_skip_assignment = false;  // JoinGroup v9+
};

struct JoinMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  Bytes metadata;
};

struct JoinResult {
  ErrorCode error = ErrorCode::none;
  std::int32_t generation_id = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<JoinMember> members;  // only for the leader
  bool skip_assignment = false;     // v9+: a static leader rejoined a stable group
};

struct SyncParams {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::int32_t generation_id = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, Bytes>> assignments;
};

struct SyncResult {
  ErrorCode error = ErrorCode::none;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  Bytes assignment;
};

struct MemberIdentity {
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

struct CommitEntry {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};

struct CommitParams {
  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<CommitEntry> entries;
};

struct CommittedOffset {
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::string metadata;
  std::int64_t commit_timestamp_ms = 0;
};

struct FetchedOffset {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  ErrorCode error = ErrorCode::none;
};

struct GroupListing {
  std::string group_id;
  std::string protocol_type;
  GroupState state = GroupState::empty;
};

struct GroupDescription {
  ErrorCode error = ErrorCode::none;
  std::string group_id;
  GroupState state = GroupState::dead;
  std::string protocol_type;
  std::string protocol_name;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    Bytes metadata;
    Bytes assignment;
  };
  std::vector<Member> members;
};

class GroupCoordinator {
 public:
  GroupCoordinator(const GroupConfig& config, GroupEnvironment& environment);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  void join(JoinParams params, std::function<void(JoinResult)> done);
  void sync(SyncParams params, std::function<void(SyncResult)> done);
  ErrorCode heartbeat(const std::string& group_id, const std::string& member_id,
                      const std::optional<std::string>& group_instance_id, std::int32_t generation_id);
  // Returns the group-level error and one error per member, in order.
  std::pair<ErrorCode, std::vector<ErrorCode>> leave(const std::string& group_id,
                                                      const std::vector<MemberIdentity>& members);
  // Calls done with one error per entry, in order (after the records are durable).
  void commit(CommitParams params, std::function<void(ErrorCode, std::vector<ErrorCode>)> done);
  // topics == nullopt: every committed offset of the group.
  std::pair<ErrorCode, std::vector<FetchedOffset>> fetch_offsets(
      const std::string& group_id,
      const std::optional<std::vector<std::pair<std::string, std::vector<std::int32_t>>>>& topics);
  std::vector<GroupListing> list_groups() const;
  GroupDescription describe(const std::string& group_id) const;
  // Deletes an empty group and its offsets (tombstones). done(error).
  void delete_group(const std::string& group_id, std::function<void(ErrorCode)> done);
  // Deletes committed offsets of partitions the group does not consume. done(group error,
  // per-partition errors).
  void delete_offsets(const std::string& group_id, const std::vector<std::pair<std::string, std::int32_t>>& partitions,
                      std::function<void(ErrorCode, std::vector<ErrorCode>)> done);

  // Start-up: records read back from __consumer_offsets, in log order.
  void load_offset(const std::string& group_id, const std::string& topic, std::int32_t partition,
                   std::optional<CommittedOffset> offset);
  struct LoadedMember {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    std::int32_t rebalance_timeout_ms = -1;  // -1 in a v0 record: the session timeout stands in
    std::int32_t session_timeout_ms = 0;
    Bytes subscription;  // its metadata for the group's protocol
    Bytes assignment;
  };
  struct LoadedGroup {
    std::string protocol_type;
    std::int32_t generation_id = 0;
    std::string protocol_name;
    std::string leader;
    std::vector<LoadedMember> members;
  };
  // The group's last stored state (nullopt: a tombstone). A group stored with members comes back
  // Stable at its generation with them and their assignments, as Kafka's coordinator loads it, so
  // members that keep heartbeating across a broker restart cause no rebalance.
  void load_group(const std::string& group_id, std::optional<LoadedGroup> group);
  // The stored record's fields as load_group takes them.
  static LoadedGroup loaded_from(protocol::GroupMetadataValue value);
  // Owner thread, once after loading: starts the session timer of every restored member (one that
  // does not heartbeat within its session timeout then leaves the group and the rest rebalance).
  void start_loaded_sessions();
  // Drops offsets of empty groups older than offsets_retention_ms (tombstones written).
  void expire_offsets();

  std::size_t group_count() const { return groups_.size(); }

 private:
  struct Member;
  struct Group;
  Group* find(const std::string& group_id) const;
  Group& get_or_create(const std::string& group_id);
  void join_new_member(Group& group, JoinParams params, std::function<void(JoinResult)> done);
  void join_known_member(Group& group, Member& member, JoinParams params, std::function<void(JoinResult)> done);
  void add_member_and_rebalance(Group& group, JoinParams params, const std::string& member_id,
                                std::function<void(JoinResult)> done);
  void prepare_rebalance(Group& group, const char* reason);
  void maybe_prepare_rebalance(Group& group, const char* reason);
  void try_complete_join(Group& group);
  void complete_join(Group& group);
  void schedule_join_deadline(Group& group, std::int64_t delay_ms, std::int64_t remaining_ms, bool initial);
  void remove_member(Group& group, const std::string& member_id, const char* reason);
  void reset_heartbeat(Group& group, Member& member);
  void on_session_expired(const std::string& group_id, const std::string& member_id, std::uint64_t nonce);
  void propagate_assignment(Group& group, ErrorCode error);
  JoinResult join_result_for(const Group& group, const Member& member) const;
  bool supports_protocols(const Group& group, const JoinParams& params) const;
  std::string select_protocol(const Group& group) const;
  void persist_group(Group& group, std::function<void(ErrorCode)> done);
  std::string new_member_id(const std::string& client_id) const;

  GroupConfig config_;
  GroupEnvironment& environment_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  std::uint64_t next_nonce_ = 1;
};

// Kafka's placement: the __consumer_offsets partition of a group, Utils.abs(groupId.hashCode) %
// partitions, with Java's String.hashCode over UTF-16 code units.
std::int32_t consumer_offsets_partition_for(const std::string& group_id, std::int32_t partition_count);

}  // namespace sluice::broker
