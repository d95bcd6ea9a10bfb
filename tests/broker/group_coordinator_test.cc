// Drives the group state machine with scripted requests on a fake clock: the MEMBER_ID_REQUIRED
// round trip, the initial delayed join, leader election and assignment hand-off, heartbeats during
// a rebalance, session expiry, static members rejoining without a rebalance, leaving, offsets, and
// the errors Kafka gives for stale generations and unknown members.
#include "broker/group_coordinator.h"

#include <gtest/gtest.h>

#include <map>

#include "protocol/consumer_offsets.h"

namespace sluice::broker {
namespace {

class FakeEnvironment : public GroupEnvironment {
 public:
  std::int64_t now = 1000000;
  std::multimap<std::int64_t, std::pair<TimerId, std::function<void()>>> timers;
  TimerId next_id = 1;
  std::vector<Record> persisted;
  ErrorCode persist_error = ErrorCode::none;

  std::int64_t now_ms() override { return now; }
  TimerId add_timer(std::int64_t delay_ms, std::function<void()> task) override {
    TimerId id = next_id++;
    timers.emplace(now + delay_ms, std::make_pair(id, std::move(task)));
    return id;
  }
  void cancel_timer(TimerId id) override {
    for (auto it = timers.begin(); it != timers.end(); ++it)
      if (it->second.first == id) {
        timers.erase(it);
        return;
      }
  }
  void persist(const std::string&, std::vector<Record> records, std::function<void(ErrorCode)> done) override {
    for (auto& record : records) persisted.push_back(std::move(record));
    done(persist_error);
  }
  bool partition_exists(const std::string& topic, std::int32_t partition) override {
    return topic == "orders" && partition >= 0 && partition < 4;
  }
  void advance(std::int64_t ms) {
    std::int64_t until = now + ms;
    while (!timers.empty() && timers.begin()->first <= until) {
      now = timers.begin()->first;
      auto task = std::move(timers.begin()->second.second);
      timers.erase(timers.begin());
      task();
    }
    now = until;
  }
};

Bytes bytes(const std::string& text) {
  Bytes out;
  for (char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

struct Harness {
  FakeEnvironment environment;
  GroupConfig config;
  std::unique_ptr<GroupCoordinator> coordinator;
  Harness() {
    config.initial_rebalance_delay_ms = 100;
    coordinator = std::make_unique<GroupCoordinator>(config, environment);
  }

  JoinParams join_params(const std::string& member_id, std::vector<std::string> protocols = {"range"}) {
    JoinParams params;
    params.group_id = "g";
    params.member_id = member_id;
    params.client_id = "client";
    params.client_host = "/127.0.0.1";
    params.session_timeout_ms = 10000;
    params.rebalance_timeout_ms = 30000;
    params.protocol_type = "consumer";
    for (auto& name : protocols) params.protocols.push_back({name, bytes("meta-" + name)});
    params.require_known_member_id = true;
    return params;
  }

  // Joins with the MEMBER_ID_REQUIRED round trip; returns the slot the final answer lands in.
  std::shared_ptr<std::optional<JoinResult>> join_new(std::vector<std::string> protocols = {"range"}) {
    std::optional<JoinResult> first;
    coordinator->join(join_params("", protocols), [&](JoinResult r) { first = r; });
    EXPECT_TRUE(first.has_value());
    EXPECT_EQ(first->error, ErrorCode::member_id_required);
    EXPECT_FALSE(first->member_id.empty());
    return rejoin(first->member_id, protocols);
  }
  std::shared_ptr<std::optional<JoinResult>> rejoin(const std::string& member_id,
                                                    std::vector<std::string> protocols = {"range"}) {
    auto slot = std::make_shared<std::optional<JoinResult>>();
    coordinator->join(join_params(member_id, protocols), [slot](JoinResult r) { *slot = r; });
    return slot;
  }
  std::shared_ptr<std::optional<SyncResult>> sync(const std::string& member_id, std::int32_t generation,
                                                  std::vector<std::pair<std::string, Bytes>> assignments = {}) {
    auto slot = std::make_shared<std::optional<SyncResult>>();
    SyncParams params;
    params.group_id = "g";
    params.member_id = member_id;
    params.generation_id = generation;
    params.assignments = std::move(assignments);
    coordinator->sync(params, [slot](SyncResult r) { *slot = r; });
    return slot;
  }
  GroupState state() { return coordinator->describe("g").state; }
};

TEST(GroupCoordinator, TwoMembersJoinSyncAndBecomeStable) {
  Harness h;
  auto a = h.join_new();
  auto b = h.join_new();
  EXPECT_FALSE(a->has_value());  // the initial delay waits for more members
  EXPECT_EQ(h.state(), GroupState::preparing_rebalance);
  h.environment.advance(1000);
  ASSERT_TRUE(a->has_value() && b->has_value());
  EXPECT_EQ((*a)->error, ErrorCode::none);
  EXPECT_EQ((*a)->generation_id, 1);
  EXPECT_EQ((*a)->protocol_name, "range");
  EXPECT_EQ((*a)->leader, (*b)->leader);
  const JoinResult& leader = (*a)->member_id == (*a)->leader ? **a : **b;
  const JoinResult& follower = (*a)->member_id == (*a)->leader ? **b : **a;
  EXPECT_EQ(leader.members.size(), 2u);
  EXPECT_TRUE(follower.members.empty());
  EXPECT_EQ(h.state(), GroupState::completing_rebalance);

  auto follower_sync = h.sync(follower.member_id, 1);
  EXPECT_FALSE(follower_sync->has_value());  // waits for the leader's assignment
  auto leader_sync = h.sync(leader.member_id, 1, {{leader.member_id, bytes("p0,p1")}, {follower.member_id, bytes("p2,p3")}});
  ASSERT_TRUE(leader_sync->has_value() && follower_sync->has_value());
  EXPECT_EQ((*leader_sync)->assignment, bytes("p0,p1"));
  EXPECT_EQ((*follower_sync)->assignment, bytes("p2,p3"));
  EXPECT_EQ(h.state(), GroupState::stable);
  EXPECT_EQ(h.coordinator->heartbeat("g", follower.member_id, std::nullopt, 1), ErrorCode::none);
  EXPECT_EQ(h.coordinator->heartbeat("g", follower.member_id, std::nullopt, 0), ErrorCode::illegal_generation);
  EXPECT_EQ(h.coordinator->heartbeat("g", "nobody", std::nullopt, 1), ErrorCode::unknown_member_id);
  // The group metadata (with assignments) went to __consumer_offsets.
  ASSERT_FALSE(h.environment.persisted.empty());
  auto decoded = protocol::decode_consumer_offsets_record(h.environment.persisted.back().key,
                                                          std::span<const std::byte>(*h.environment.persisted.back().value));
  ASSERT_TRUE(decoded.is_ok());
  auto* group = std::get_if<protocol::ConsumerOffsetsGroupMetadata>(&decoded.value());
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->value->generation, 1);
  EXPECT_EQ(group->value->members.size(), 2u);
}

TEST(GroupCoordinator, ThirdMemberTriggersRebalanceAndHeartbeatsSayRejoin) {
  Harness h;
  auto a = h.join_new();
  h.environment.advance(1000);
  std::string a_id = (*a)->member_id;
  h.sync(a_id, 1, {{a_id, bytes("all")}});
  ASSERT_EQ(h.state(), GroupState::stable);
  auto b = h.join_new();
  EXPECT_EQ(h.state(), GroupState::preparing_rebalance);
  EXPECT_EQ(h.coordinator->heartbeat("g", a_id, std::nullopt, 1), ErrorCode::rebalance_in_progress);
  auto a_again = h.rejoin(a_id);
  ASSERT_TRUE(a_again->has_value() && b->has_value());  // everyone rejoined: no need to wait
  EXPECT_EQ((*a_again)->generation_id, 2);
  EXPECT_EQ((*a_again)->leader, a_id);  // the leader stays the leader
  EXPECT_EQ((*a_again)->members.size(), 2u);
}

TEST(GroupCoordinator, SilentMemberExpiresAndOthersRebalance) {
  Harness h;
  auto a = h.join_new();
  auto b = h.join_new();
  h.environment.advance(1000);
  std::string a_id = (*a)->member_id, b_id = (*b)->member_id;
  std::string leader = (*a)->leader;
  h.sync(a_id, 1, leader == a_id ? std::vector<std::pair<std::string, Bytes>>{{a_id, bytes("x")}, {b_id, bytes("y")}}
                                  : std::vector<std::pair<std::string, Bytes>>{});
  h.sync(b_id, 1, leader == b_id ? std::vector<std::pair<std::string, Bytes>>{{a_id, bytes("x")}, {b_id, bytes("y")}}
                                  : std::vector<std::pair<std::string, Bytes>>{});
  ASSERT_EQ(h.state(), GroupState::stable);
  // a keeps heartbeating; b goes silent and is removed after its session timeout.
  for (int i = 0; i < 4; ++i) {
    h.environment.advance(3000);
    EXPECT_EQ(h.coordinator->heartbeat("g", a_id, std::nullopt, 1), i < 3 ? ErrorCode::none : ErrorCode::rebalance_in_progress);
  }
  EXPECT_EQ(h.state(), GroupState::preparing_rebalance);
  auto a_again = h.rejoin(a_id);
  ASSERT_TRUE(a_again->has_value());
  EXPECT_EQ((*a_again)->generation_id, 2);
  EXPECT_EQ((*a_again)->members.size(), 1u);
  EXPECT_EQ(h.coordinator->heartbeat("g", b_id, std::nullopt, 2), ErrorCode::unknown_member_id);
}

TEST(GroupCoordinator, RebalanceTimeoutDropsMembersThatDoNotRejoin) {
  Harness h;
  auto a = h.join_new();
  auto b = h.join_new();
  h.environment.advance(1000);
  std::string a_id = (*a)->member_id;
  h.coordinator->leave("g", {{(*b)->member_id, std::nullopt}});
  EXPECT_EQ(h.state(), GroupState::preparing_rebalance);
  // a keeps heartbeating but never rejoins within the rebalance timeout... then rejoins later.
  auto c = h.join_new();
  for (int i = 0; i < 10; ++i) {
    h.environment.advance(3000);
    h.coordinator->heartbeat("g", (*c)->member_id.empty() ? a_id : a_id, std::nullopt, 1);
  }
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->error, ErrorCode::none);
  EXPECT_EQ((*c)->members.size(), 1u);  // a was dropped for not rejoining
  EXPECT_EQ(h.coordinator->heartbeat("g", a_id, std::nullopt, 2), ErrorCode::unknown_member_id);
}

TEST(GroupCoordinator, ProtocolChoiceAndMismatch) {
  Harness h;
  auto a = h.join_new({"cooperative-sticky", "range"});
  auto b = h.join_new({"range", "cooperative-sticky"});
  auto c = h.join_new({"cooperative-sticky"});
  h.environment.advance(1000);
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->protocol_name, "cooperative-sticky");  // two votes against one
  std::optional<JoinResult> refused;
  h.coordinator->join(h.join_params("", {"roundrobin"}), [&](JoinResult r) { refused = r; });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->error, ErrorCode::inconsistent_group_protocol);
  auto bad = h.join_params("");
  bad.session_timeout_ms = 10;
  h.coordinator->join(bad, [&](JoinResult r) { refused = r; });
  EXPECT_EQ(refused->error, ErrorCode::invalid_session_timeout);
}

TEST(GroupCoordinator, StaticMemberRestartsWithoutRebalance) {
  Harness h;
  auto params = h.join_params("");
  params.group_instance_id = "instance-1";
  std::optional<JoinResult> first;
  h.coordinator->join(params, [&](JoinResult r) { first = r; });
  h.environment.advance(1000);
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->error, ErrorCode::none);
  std::string old_id = first->member_id;
  h.sync(old_id, 1, {{old_id, bytes("mine")}});
  ASSERT_EQ(h.state(), GroupState::stable);
  std::optional<JoinResult> again;
  h.coordinator->join(params, [&](JoinResult r) { again = r; });
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->error, ErrorCode::none);
  EXPECT_NE(again->member_id, old_id);
  EXPECT_EQ(again->generation_id, 1);  // no rebalance
  EXPECT_EQ(again->leader, old_id);    // before v9 the old leader id comes back: nobody reassigns
  EXPECT_TRUE(again->members.empty());
  EXPECT_EQ(h.state(), GroupState::stable);
  auto synced = h.sync(again->member_id, 1);
  ASSERT_TRUE(synced->has_value());
  EXPECT_EQ((*synced)->assignment, bytes("mine"));
  EXPECT_EQ(h.coordinator->heartbeat("g", old_id, std::string("instance-1"), 1), ErrorCode::unknown_member_id);
  // From v9 the restarted leader is told it leads and may skip the assignment.
  auto v9 = params;
  v9.supports_skip_assignment = true;
  std::optional<JoinResult> v9_result;
  h.coordinator->join(v9, [&](JoinResult r) { v9_result = r; });
  ASSERT_TRUE(v9_result.has_value());
  EXPECT_EQ(v9_result->leader, v9_result->member_id);
  EXPECT_TRUE(v9_result->skip_assignment);
  EXPECT_EQ(v9_result->members.size(), 1u);
  auto stale = h.join_params(old_id);
  stale.group_instance_id = "instance-1";
  h.coordinator->join(stale, [&](JoinResult r) { again = r; });
  EXPECT_EQ(again->error, ErrorCode::fenced_instance_id);
}

TEST(GroupCoordinator, OffsetsCommitFetchAndErrors) {
  Harness h;
  // A consumer that assigns partitions itself commits with generation -1 and no member id.
  CommitParams simple;
  simple.group_id = "g";
  simple.entries = {{"orders", 0, 42, 3, std::string("meta")}, {"orders", 9, 1, -1, std::nullopt},
                    {"orders", 1, 7, -1, std::string(5000, 'x')}};
  std::vector<ErrorCode> errors;
  h.coordinator->commit(simple, [&](ErrorCode, std::vector<ErrorCode> e) { errors = e; });
  EXPECT_EQ(errors, (std::vector<ErrorCode>{ErrorCode::none, ErrorCode::unknown_topic_or_partition,
                                            ErrorCode::offset_metadata_too_large}));
  auto [error, fetched] = h.coordinator->fetch_offsets("g", std::vector<std::pair<std::string, std::vector<std::int32_t>>>{{"orders", {0, 1}}});
  EXPECT_EQ(error, ErrorCode::none);
  ASSERT_EQ(fetched.size(), 2u);
  EXPECT_EQ(fetched[0].offset, 42);
  EXPECT_EQ(fetched[0].leader_epoch, 3);
  EXPECT_EQ(fetched[0].metadata, "meta");
  EXPECT_EQ(fetched[1].offset, -1);
  auto all = h.coordinator->fetch_offsets("g", std::nullopt);
  EXPECT_EQ(all.second.size(), 1u);
  // Members commit with their generation; a stale one is refused.
  auto a = h.join_new();
  h.environment.advance(1000);
  std::string a_id = (*a)->member_id;
  CommitParams stale;
  stale.group_id = "g";
  stale.member_id = a_id;
  stale.generation_id = 1;
  stale.entries = {{"orders", 2, 5, -1, std::nullopt}};
  h.coordinator->commit(stale, [&](ErrorCode, std::vector<ErrorCode> e) { errors = e; });
  EXPECT_EQ(errors[0], ErrorCode::rebalance_in_progress);  // completing the rebalance
  h.sync(a_id, 1, {{a_id, bytes("x")}});
  h.coordinator->commit(stale, [&](ErrorCode, std::vector<ErrorCode> e) { errors = e; });
  EXPECT_EQ(errors[0], ErrorCode::none);
  stale.generation_id = 0;
  h.coordinator->commit(stale, [&](ErrorCode, std::vector<ErrorCode> e) { errors = e; });
  EXPECT_EQ(errors[0], ErrorCode::illegal_generation);
  h.coordinator->commit(simple, [&](ErrorCode, std::vector<ErrorCode> e) { errors = e; });
  EXPECT_EQ(errors[0], ErrorCode::unknown_member_id);  // the group has members now
}

TEST(GroupCoordinator, DeleteOnlyEmptyGroupsAndReload) {
  Harness h;
  auto a = h.join_new();
  h.environment.advance(1000);
  ErrorCode deleted = ErrorCode::none;
  h.coordinator->delete_group("g", [&](ErrorCode e) { deleted = e; });
  EXPECT_EQ(deleted, ErrorCode::non_empty_group);
  h.coordinator->leave("g", {{(*a)->member_id, std::nullopt}});
  h.environment.advance(1000);
  EXPECT_EQ(h.state(), GroupState::empty);
  h.coordinator->delete_group("g", [&](ErrorCode e) { deleted = e; });
  EXPECT_EQ(deleted, ErrorCode::none);
  h.coordinator->delete_group("g", [&](ErrorCode e) { deleted = e; });
  EXPECT_EQ(deleted, ErrorCode::group_id_not_found);

  // Loading replays records in log order: the last one for a key wins, a tombstone deletes.
  GroupCoordinator fresh(h.config, h.environment);
  fresh.load_offset("x", "orders", 0, CommittedOffset{5, -1, "", 1});
  fresh.load_offset("x", "orders", 0, CommittedOffset{9, -1, "m", 2});
  fresh.load_offset("x", "orders", 1, CommittedOffset{3, -1, "", 1});
  fresh.load_offset("x", "orders", 1, std::nullopt);
  auto loaded = fresh.fetch_offsets("x", std::nullopt);
  ASSERT_EQ(loaded.second.size(), 1u);
  EXPECT_EQ(loaded.second[0].offset, 9);
}

TEST(GroupCoordinator, StableGroupReloadsWithItsMembers) {
  Harness h;
  auto a = h.join_new();
  h.environment.advance(1000);
  ASSERT_TRUE(a->has_value());
  const std::string member = (*a)->member_id;
  auto synced = h.sync(member, 1, {{member, bytes("p0-p3")}});
  ASSERT_TRUE(synced->has_value());
  ASSERT_EQ(h.state(), GroupState::stable);
  auto decoded = protocol::decode_consumer_offsets_record(h.environment.persisted.back().key,
                                                          std::span<const std::byte>(*h.environment.persisted.back().value));
  ASSERT_TRUE(decoded.is_ok());
  auto* stored = std::get_if<protocol::ConsumerOffsetsGroupMetadata>(&decoded.value());
  ASSERT_NE(stored, nullptr);

  // A restarted coordinator: the member is back with its assignment and keeps heartbeating at
  // the same generation, with no rebalance.
  FakeEnvironment environment;
  GroupCoordinator fresh(h.config, environment);
  fresh.load_group("g", GroupCoordinator::loaded_from(std::move(*stored->value)));
  fresh.start_loaded_sessions();
  GroupDescription described = fresh.describe("g");
  EXPECT_EQ(described.state, GroupState::stable);
  EXPECT_EQ(described.protocol_name, "range");
  ASSERT_EQ(described.members.size(), 1u);
  EXPECT_EQ(described.members[0].member_id, member);
  EXPECT_EQ(described.members[0].assignment, bytes("p0-p3"));
  EXPECT_EQ(described.members[0].metadata, bytes("meta-range"));
  environment.advance(9000);
  EXPECT_EQ(fresh.heartbeat("g", member, std::nullopt, 1), ErrorCode::none);
  environment.advance(9000);
  EXPECT_EQ(fresh.heartbeat("g", member, std::nullopt, 1), ErrorCode::none);
  EXPECT_EQ(fresh.describe("g").state, GroupState::stable);
  // Without heartbeats it expires after its session timeout, as any member does.
  environment.advance(10001);
  EXPECT_EQ(fresh.describe("g").state, GroupState::empty);
  EXPECT_EQ(fresh.heartbeat("g", member, std::nullopt, 1), ErrorCode::unknown_member_id);
}

TEST(GroupCoordinator, OffsetsOfEmptyGroupsExpire) {
  Harness h;
  h.config.offsets_retention_ms = 60000;
  GroupCoordinator coordinator(h.config, h.environment);
  CommitParams commit;
  commit.group_id = "idle";
  commit.entries = {{"orders", 0, 10, -1, std::nullopt}};
  coordinator.commit(commit, [](ErrorCode, std::vector<ErrorCode>) {});
  h.environment.advance(30000);
  commit.entries = {{"orders", 1, 20, -1, std::nullopt}};
  coordinator.commit(commit, [](ErrorCode, std::vector<ErrorCode>) {});
  h.environment.advance(40000);  // the first commit is 70 s old, the second 40 s
  std::size_t before = h.environment.persisted.size();
  coordinator.expire_offsets();
  auto fetched = coordinator.fetch_offsets("idle", std::nullopt).second;
  ASSERT_EQ(fetched.size(), 1u);
  EXPECT_EQ(fetched[0].partition, 1);
  ASSERT_EQ(h.environment.persisted.size(), before + 1);
  EXPECT_FALSE(h.environment.persisted.back().value.has_value());  // a tombstone
}

TEST(GroupCoordinator, PartitionPlacementMatchesJavaHashCode) {
  // Java: "group".hashCode() = 98629247; "console-consumer-12345".hashCode() is negative.
  EXPECT_EQ(consumer_offsets_partition_for("group", 50), 98629247 % 50);
  std::int32_t hash = 0;
  for (char c : std::string("console-consumer-12345")) hash = static_cast<std::int32_t>(31u * static_cast<std::uint32_t>(hash) + static_cast<unsigned char>(c));
  std::int32_t expected = (hash == INT32_MIN ? 0 : (hash < 0 ? -hash : hash)) % 50;
  EXPECT_EQ(consumer_offsets_partition_for("console-consumer-12345", 50), expected);
}

}  // namespace
}  // namespace sluice::broker
