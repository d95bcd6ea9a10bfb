// GroupCoordinator, committed offsets: commits, fetches, deletes, expiry and loading them back.
#include "base/log.h"
#include "broker/group_internal.h"
#include "protocol/consumer_offsets.h"

namespace sluice::broker {

void GroupCoordinator::commit(CommitParams params, std::function<void(ErrorCode, std::vector<ErrorCode>)> done) {
  auto all = [&](ErrorCode error) { done(error, std::vector<ErrorCode>(params.entries.size(), error)); };
  if (params.group_id.empty()) return all(ErrorCode::invalid_group_id);
  Group* group = find(params.group_id);
  if (group == nullptr) {
    if (params.generation_id >= 0) return all(ErrorCode::illegal_generation);
    if (groups_.size() >= static_cast<std::size_t>(config_.groups_max)) return all(ErrorCode::coordinator_not_available);
    group = &get_or_create(params.group_id);  // a group that only keeps offsets
  }
  if (group->state == GroupState::dead) return all(ErrorCode::coordinator_not_available);
  if (params.generation_id < 0 && params.member_id.empty()) {
    // Offsets kept for a consumer that manages its own partitions: only while nobody is a member.
    if (group->state != GroupState::empty) return all(ErrorCode::unknown_member_id);
  } else {
    if (group->state == GroupState::completing_rebalance) return all(ErrorCode::rebalance_in_progress);
    auto member = group->members.find(params.member_id);
    if (member == group->members.end()) return all(ErrorCode::unknown_member_id);
    if (params.group_instance_id && member->second.group_instance_id != params.group_instance_id)
      return all(ErrorCode::fenced_instance_id);
    if (params.generation_id != group->generation_id) return all(ErrorCode::illegal_generation);
    reset_heartbeat(*group, member->second);
  }
  std::vector<ErrorCode> errors;
  std::vector<GroupEnvironment::Record> records;
  std::vector<std::pair<std::pair<std::string, std::int32_t>, CommittedOffset>> accepted;
  const std::int64_t now = environment_.now_ms();
  for (const auto& entry : params.entries) {
    std::string metadata = entry.metadata.value_or("");
    if (metadata.size() > config_.offset_metadata_bytes_max) {
      errors.push_back(ErrorCode::offset_metadata_too_large);
    } else if (!environment_.partition_exists(entry.topic, entry.partition)) {
      errors.push_back(ErrorCode::unknown_topic_or_partition);
    } else {
      errors.push_back(ErrorCode::none);
      CommittedOffset committed{entry.offset, entry.leader_epoch, metadata, now};
      records.push_back({protocol::encode_offset_commit_key(params.group_id, entry.topic, entry.partition),
                         protocol::encode_offset_commit_value(committed.offset, committed.leader_epoch, metadata, now, std::nullopt)});
      accepted.push_back({{entry.topic, entry.partition}, committed});
    }
  }
  if (records.empty()) return done(ErrorCode::none, errors);
  std::string group_id = params.group_id;
  environment_.persist(group_id, std::move(records),
                       [this, group_id, accepted = std::move(accepted), errors, done](ErrorCode error) mutable {
                         if (error != ErrorCode::none) {
                           for (auto& each : errors)
                             if (each == ErrorCode::none) each = ErrorCode::coordinator_not_available;
                           return done(ErrorCode::none, errors);
                         }
                         if (Group* target = find(group_id))
                           for (auto& [key, committed] : accepted) target->offsets[key] = committed;
                         done(ErrorCode::none, errors);
                       });
}

std::pair<ErrorCode, std::vector<FetchedOffset>> GroupCoordinator::fetch_offsets(
    const std::string& group_id,
    const std::optional<std::vector<std::pair<std::string, std::vector<std::int32_t>>>>& topics) {
  std::vector<FetchedOffset> out;
  Group* group = find(group_id);
  if (!topics) {
    if (group == nullptr) return {ErrorCode::none, out};
    for (const auto& [key, committed] : group->offsets)
      out.push_back({key.first, key.second, committed.offset, committed.leader_epoch, committed.metadata, ErrorCode::none});
    return {ErrorCode::none, out};
  }
  for (const auto& [topic, partitions] : *topics) {
    for (std::int32_t partition : partitions) {
      FetchedOffset fetched{topic, partition, -1, -1, std::string(), ErrorCode::none};
      if (group != nullptr) {
        auto found = group->offsets.find({topic, partition});
        if (found != group->offsets.end()) {
          fetched.offset = found->second.offset;
          fetched.leader_epoch = found->second.leader_epoch;
          fetched.metadata = found->second.metadata;
        }
      }
      out.push_back(std::move(fetched));
    }
  }
  return {ErrorCode::none, out};
}

namespace {

// The topics of a consumer protocol subscription (ConsumerProtocolSubscription v0-v3: version
// int16, topics as an int32-counted array of int16 strings, then fields we do not need).
std::set<std::string> subscribed_topics(const Bytes& metadata) {
  std::set<std::string> topics;
  auto data = reinterpret_cast<const unsigned char*>(metadata.data());
  std::size_t size = metadata.size(), at = 2;
  if (size < 6) return topics;
  std::int32_t count = static_cast<std::int32_t>((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]);
  at += 4;
  for (std::int32_t i = 0; i < count && at + 2 <= size; ++i) {
    std::size_t length = static_cast<std::size_t>((data[at] << 8) | data[at + 1]);
    at += 2;
    if (at + length > size) break;
    topics.emplace(reinterpret_cast<const char*>(data + at), length);
    at += length;
  }
  return topics;
}

}  // namespace

void GroupCoordinator::delete_offsets(const std::string& group_id,
                                      const std::vector<std::pair<std::string, std::int32_t>>& partitions,
                                      std::function<void(ErrorCode, std::vector<ErrorCode>)> done) {
  if (group_id.empty()) return done(ErrorCode::invalid_group_id, {});
  Group* group = find(group_id);
  if (group == nullptr || group->state == GroupState::dead) return done(ErrorCode::group_id_not_found, {});
  // A non-empty group keeps the offsets of the topics its members subscribe to. Only the consumer
  // protocol's subscriptions can be read; other protocols' groups must be empty.
  std::set<std::string> subscribed;
  if (group->state != GroupState::empty) {
    if (group->protocol_type != "consumer") return done(ErrorCode::non_empty_group, {});
    for (const auto& [id, member] : group->members)
      for (const auto& choice : member.protocols) {
        auto topics = subscribed_topics(choice.metadata);
        subscribed.insert(topics.begin(), topics.end());
      }
  }
  std::vector<ErrorCode> errors;
  std::vector<GroupEnvironment::Record> records;
  std::vector<std::pair<std::string, std::int32_t>> deleted;
  for (const auto& key : partitions) {
    if (!environment_.partition_exists(key.first, key.second)) {
      errors.push_back(ErrorCode::unknown_topic_or_partition);
      continue;
    }
    if (subscribed.count(key.first)) {
      errors.push_back(ErrorCode::group_subscribed_to_topic);
      continue;
    }
    errors.push_back(ErrorCode::none);
    if (group->offsets.count(key)) {
      records.push_back({protocol::encode_offset_commit_key(group_id, key.first, key.second), std::nullopt});
      deleted.push_back(key);
    }
  }
  if (records.empty()) return done(ErrorCode::none, errors);
  environment_.persist(group_id, std::move(records), [this, group_id, deleted, errors, done](ErrorCode error) {
    if (error != ErrorCode::none) return done(ErrorCode::coordinator_not_available, {});
    if (Group* target = find(group_id))
      for (const auto& key : deleted) target->offsets.erase(key);
    done(ErrorCode::none, errors);
  });
}

void GroupCoordinator::load_offset(const std::string& group_id, const std::string& topic, std::int32_t partition,
                                   std::optional<CommittedOffset> offset) {
  if (!offset) {
    if (Group* group = find(group_id)) group->offsets.erase({topic, partition});
    return;
  }
  get_or_create(group_id).offsets[{topic, partition}] = *offset;
}

void GroupCoordinator::expire_offsets() {
  const std::int64_t now = environment_.now_ms();
  for (auto& [id, group] : groups_) {
    if (group->state != GroupState::empty) continue;
    std::vector<GroupEnvironment::Record> records;
    std::vector<std::pair<std::string, std::int32_t>> expired;
    for (const auto& [key, committed] : group->offsets) {
      if (now - committed.commit_timestamp_ms < config_.offsets_retention_ms) continue;
      records.push_back({protocol::encode_offset_commit_key(id, key.first, key.second), std::nullopt});
      expired.push_back(key);
    }
    if (records.empty()) continue;
    std::string group_id = id;
    environment_.persist(id, std::move(records), [this, group_id, expired](ErrorCode error) {
      if (error != ErrorCode::none) return;
      if (Group* target = find(group_id))
        for (const auto& key : expired) target->offsets.erase(key);
    });
  }
}

}  // namespace sluice::broker
