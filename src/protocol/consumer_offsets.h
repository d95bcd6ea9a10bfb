// The record formats Kafka's group coordinator writes to the internal topic __consumer_offsets, so
// Sluice can write the same records and read back topics written by Kafka.
//
// Every record key and value starts with an int16 version, followed by that version of the struct
// below (flexible encoding, i.e. compact strings and tagged fields, from the struct's flexible_min).
// The key version says what the record is: 0 or 1 an offset commit, 2 group metadata; newer Kafka
// coordinators use higher key versions for other record types, which we report as unknown. A null
// value is a tombstone (the offset or group was deleted).
//
// Pure functions over byte buffers; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "protocol/codec.h"

namespace sluice::protocol {

// Key versions 0 and 1 (identical layouts); Kafka writes 1.
struct OffsetCommitKey {
  static constexpr std::int16_t version_min = 0, version_max = 1, flexible_min = INT16_MAX;
  static constexpr std::int16_t version_written = 1;
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  template <class V>
  void visit(V& v) {
    v.field(group, Versions{0});
    v.field(topic, Versions{0});
    v.field(partition, Versions{0});
  }
};

// Value versions 0-4 (flexible from 4). Kafka 2.1+ writes v3, or v1 when the commit carries an
// explicit expire timestamp (OffsetCommit v2-v4 with a retention time).
struct OffsetCommitValue {
  static constexpr std::int16_t version_min = 0, version_max = 4, flexible_min = 4;
  std::int64_t offset = 0;
  std::int32_t leader_epoch = -1;  // v3+
  std::string metadata;            // Kafka stores a null request metadata as ""
  std::int64_t commit_timestamp = -1;
  std::int64_t expire_timestamp = -1;  // v1 only
  template <class V>
  void visit(V& v) {
    v.field(offset, Versions{0});
    v.field(leader_epoch, Versions{3});
    v.field(metadata, Versions{0});
    v.field(commit_timestamp, Versions{0});
    v.field(expire_timestamp, Versions{1, 1});
  }
};

// Key version 2 only.
struct GroupMetadataKey {
  static constexpr std::int16_t version_min = 2, version_max = 2, flexible_min = INT16_MAX;
  std::string group;
  template <class V>
  void visit(V& v) {
    v.field(group, Versions{0});
  }
};

// Value versions 0-4 (flexible from 4). Kafka 2.3+ writes v3.
struct GroupMetadataValue {
  static constexpr std::int16_t version_min = 0, version_max = 4, flexible_min = 4;
  static constexpr std::int16_t version_written = 3;
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v3+
    std::string client_id;
    std::string client_host;
    // v1+; a v0 record leaves -1 here (Kafka then uses the session timeout).
    std::int32_t rebalance_timeout_ms = -1;
    std::int32_t session_timeout_ms = 0;
    std::vector<std::byte> subscription;
    std::vector<std::byte> assignment;
    template <class V>
    void visit(V& v) {
      v.field(member_id, Versions{0});
      v.field(group_instance_id, Versions{3});
      v.field(client_id, Versions{0});
      v.field(client_host, Versions{0});
      v.field(rebalance_timeout_ms, Versions{1});
      v.field(session_timeout_ms, Versions{0});
      v.field(subscription, Versions{0});
      v.field(assignment, Versions{0});
    }
  };
  std::string protocol_type;
  std::int32_t generation = 0;
  std::optional<std::string> protocol;  // null while the group is empty
  std::optional<std::string> leader;
  std::int64_t current_state_timestamp = -1;  // v2+
  std::vector<Member> members;
  template <class V>
  void visit(V& v) {
    v.field(protocol_type, Versions{0});
    v.field(generation, Versions{0});
    v.field(protocol, Versions{0});
    v.field(leader, Versions{0});
    v.field(current_state_timestamp, Versions{2});
    v.field(members, Versions{0});
  }
};

std::vector<std::byte> encode_offset_commit_key(std::string_view group, std::string_view topic,
                                                std::int32_t partition);
// Writes v3, or v1 when `expire_timestamp` is set (v1 has no leader epoch, so it is dropped).
std::vector<std::byte> encode_offset_commit_value(std::int64_t offset, std::int32_t leader_epoch,
                                                  std::string_view metadata,
                                                  std::int64_t commit_timestamp,
                                                  std::optional<std::int64_t> expire_timestamp);
std::vector<std::byte> encode_group_metadata_key(std::string_view group);
// Requires: version_min <= version <= version_max of GroupMetadataValue.
std::vector<std::byte> encode_group_metadata_value(
    const GroupMetadataValue& value, std::int16_t version = GroupMetadataValue::version_written);

// An offset commit record; `value` is empty for a tombstone.
struct ConsumerOffsetsOffsetCommit {
  std::int16_t key_version = 0;
  OffsetCommitKey key;
  std::int16_t value_version = -1;  // -1 for a tombstone
  std::optional<OffsetCommitValue> value;
};
// A group metadata record; `value` is empty for a tombstone (the group was deleted).
struct ConsumerOffsetsGroupMetadata {
  std::int16_t key_version = 0;
  GroupMetadataKey key;
  std::int16_t value_version = -1;
  std::optional<GroupMetadataValue> value;
};
// A record type we do not read (e.g. the records of KIP-848 consumer groups); callers skip it.
struct ConsumerOffsetsUnknown {
  std::int16_t key_version = 0;
};
using ConsumerOffsetsRecord =
    std::variant<ConsumerOffsetsOffsetCommit, ConsumerOffsetsGroupMetadata, ConsumerOffsetsUnknown>;

// Decodes one record of __consumer_offsets. `value` is nullopt for a tombstone. Fails when a key
// or value does not parse, or a known key carries a value version we do not know. Bytes after a
// complete key or value are ignored, as Kafka does.
Result<ConsumerOffsetsRecord> decode_consumer_offsets_record(
    std::span<const std::byte> key, std::optional<std::span<const std::byte>> value);

}  // namespace sluice::protocol
