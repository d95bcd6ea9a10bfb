#include "protocol/consumer_offsets.h"

#include <utility>

namespace sluice::protocol {
namespace {

constexpr std::int16_t offset_commit_value_version_current = 3;
constexpr std::int16_t offset_commit_value_version_expire = 1;

template <class Message>
std::vector<std::byte> encode_versioned(const Message& message, std::int16_t version) {
  SLUICE_ASSERT(version >= Message::version_min && version <= Message::version_max, "version %d",
                static_cast<int>(version));
  Writer writer;
  writer.put_i16(version);
  encode(writer, message, version);
  SLUICE_ASSERT(writer.files().empty());
  return std::move(writer.buffer());
}

// The Reader never writes through its pointer (only Records fields hand out mutable spans, and
// these structs have none), so reading const bytes through it is safe.
Reader reader_of(std::span<const std::byte> bytes) {
  return Reader(const_cast<std::byte*>(bytes.data()), bytes.size());
}

// Decodes the version-prefixed `bytes` into `message`; returns the version, or a failed Status.
template <class Message>
Result<std::int16_t> decode_versioned(std::span<const std::byte> bytes, Message& message,
                                      const char* what) {
  Reader reader = reader_of(bytes);
  std::int16_t version = reader.get_i16();
  if (!reader.ok()) return Status::error(std::string(what) + ": no version");
  if (version < Message::version_min || version > Message::version_max) {
    return Status::error(std::string(what) + ": unknown version " + std::to_string(version));
  }
  if (!decode(reader, message, version)) {
    return Status::error(std::string(what) + " v" + std::to_string(version) + ": does not parse");
  }
  return version;
}

template <class Record, class Value>
Result<ConsumerOffsetsRecord> with_value(Record record, std::optional<std::span<const std::byte>> value,
                                         const char* what) {
  if (!value) return ConsumerOffsetsRecord(std::move(record));
  Value decoded;
  Result<std::int16_t> version = decode_versioned(*value, decoded, what);
  if (!version.is_ok()) return version.status();
  record.value_version = version.value();
  record.value = std::move(decoded);
  return ConsumerOffsetsRecord(std::move(record));
}

}  // namespace

std::vector<std::byte> encode_offset_commit_key(std::string_view group, std::string_view topic,
                                                std::int32_t partition) {
  OffsetCommitKey key;
  key.group = group;
  key.topic = topic;
  key.partition = partition;
  return encode_versioned(key, OffsetCommitKey::version_written);
}

std::vector<std::byte> encode_offset_commit_value(std::int64_t offset, std::int32_t leader_epoch,
                                                  std::string_view metadata,
                                                  std::int64_t commit_timestamp,
                                                  std::optional<std::int64_t> expire_timestamp) {
  OffsetCommitValue value;
  value.offset = offset;
  value.leader_epoch = leader_epoch;
  value.metadata = metadata;
  value.commit_timestamp = commit_timestamp;
  value.expire_timestamp = expire_timestamp.value_or(-1);
  return encode_versioned(value, expire_timestamp ? offset_commit_value_version_expire
                                                  : offset_commit_value_version_current);
}

std::vector<std::byte> encode_group_metadata_key(std::string_view group) {
  GroupMetadataKey key;
  key.group = group;
  return encode_versioned(key, GroupMetadataKey::version_min);
}

std::vector<std::byte> encode_group_metadata_value(const GroupMetadataValue& value, std::int16_t version) {
  return encode_versioned(value, version);
}

Result<ConsumerOffsetsRecord> decode_consumer_offsets_record(
    std::span<const std::byte> key, std::optional<std::span<const std::byte>> value) {
  Reader peek = reader_of(key);
  std::int16_t key_version = peek.get_i16();
  if (!peek.ok() || key_version < 0) return Status::error("__consumer_offsets key: bad version");
  if (key_version <= OffsetCommitKey::version_max) {
    ConsumerOffsetsOffsetCommit record;
    Result<std::int16_t> version = decode_versioned(key, record.key, "offset commit key");
    if (!version.is_ok()) return version.status();
    record.key_version = version.value();
    return with_value<ConsumerOffsetsOffsetCommit, OffsetCommitValue>(std::move(record), value,
                                                                      "offset commit value");
  }
  if (key_version == GroupMetadataKey::version_min) {
    ConsumerOffsetsGroupMetadata record;
    Result<std::int16_t> version = decode_versioned(key, record.key, "group metadata key");
    if (!version.is_ok()) return version.status();
    record.key_version = version.value();
    return with_value<ConsumerOffsetsGroupMetadata, GroupMetadataValue>(std::move(record), value,
                                                                         "group metadata value");
  }
  return ConsumerOffsetsRecord(ConsumerOffsetsUnknown{key_version});
}

}  // namespace sluice::protocol
