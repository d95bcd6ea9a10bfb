// libFuzzer target for decode_consumer_offsets_record, which reads the records of
// __consumer_offsets back at start-up (they may have been written by Kafka, or damaged).
//
// Input: byte 0 bit 0 says whether the record has a value (else a tombstone), bytes 1-2 are the
// key's length (big-endian, cut to what is there), then the key, then the value.
// Invariants when it decodes: the key and value re-encode at the versions they were read in
// (version prefix + codec) to bytes that decode to the same record; where the broker has its own
// writer for that version (encode_offset_commit_key/value, encode_group_metadata_key/value), it
// writes exactly those bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "fuzz_support.h"
#include "protocol/consumer_offsets.h"

namespace sluice::fuzz {
namespace {

using protocol::ConsumerOffsetsGroupMetadata;
using protocol::ConsumerOffsetsOffsetCommit;
using protocol::ConsumerOffsetsRecord;
using protocol::ConsumerOffsetsUnknown;

template <class Message>
std::vector<std::byte> encode_versioned(const Message& message, std::int16_t version) {
  protocol::Writer writer;
  writer.put_i16(version);
  protocol::encode(writer, message, version);
  return std::move(writer.buffer());
}

template <class Message>
std::string describe_versioned(const std::optional<Message>& message, std::int16_t version) {
  if (!message) return "tombstone";
  return "v" + std::to_string(version) + describe(*message, version);
}

std::string describe_record(const ConsumerOffsetsRecord& record) {
  if (auto* commit = std::get_if<ConsumerOffsetsOffsetCommit>(&record)) {
    return "commit k" + std::to_string(commit->key_version) + describe(commit->key, commit->key_version) + " " +
           describe_versioned(commit->value, commit->value_version);
  }
  if (auto* group = std::get_if<ConsumerOffsetsGroupMetadata>(&record)) {
    return "group k" + std::to_string(group->key_version) + describe(group->key, group->key_version) + " " +
           describe_versioned(group->value, group->value_version);
  }
  return "unknown k" + std::to_string(std::get<ConsumerOffsetsUnknown>(record).key_version);
}

// Re-encodes key and value at their versions and decodes them again.
template <class Record>
void check_record_round_trip(const Record& record, const std::string& first) {
  std::vector<std::byte> key = encode_versioned(record.key, record.key_version);
  std::optional<std::vector<std::byte>> value;
  if (record.value) value = encode_versioned(*record.value, record.value_version);
  std::optional<std::span<const std::byte>> value_span;
  if (value) value_span = std::span<const std::byte>(*value);
  auto again = protocol::decode_consumer_offsets_record(key, value_span);
  FUZZ_CHECK(again.is_ok(), first + ": re-encoded record does not decode: " + again.status().message());
  std::string second = describe_record(again.value());
  FUZZ_CHECK(first == second, "round trip changed the record\n first:  " + first + "\n second: " + second);
}

// The broker's own writers must write what the generic encoding writes at the same version.
void check_writers(const ConsumerOffsetsOffsetCommit& record) {
  const auto& key = record.key;
  FUZZ_CHECK(protocol::encode_offset_commit_key(key.group, key.topic, key.partition) ==
                 encode_versioned(key, protocol::OffsetCommitKey::version_written),
             "encode_offset_commit_key");
  if (!record.value || (record.value_version != 1 && record.value_version != 3)) return;
  const auto& value = *record.value;
  std::optional<std::int64_t> expire;
  if (record.value_version == 1) expire = value.expire_timestamp;
  FUZZ_CHECK(protocol::encode_offset_commit_value(value.offset, value.leader_epoch, value.metadata,
                                                  value.commit_timestamp, expire) ==
                 encode_versioned(value, record.value_version),
             "encode_offset_commit_value v" + std::to_string(record.value_version));
}

void check_writers(const ConsumerOffsetsGroupMetadata& record) {
  FUZZ_CHECK(protocol::encode_group_metadata_key(record.key.group) == encode_versioned(record.key, 2),
             "encode_group_metadata_key");
  if (!record.value) return;
  FUZZ_CHECK(protocol::encode_group_metadata_value(*record.value, record.value_version) ==
                 encode_versioned(*record.value, record.value_version),
             "encode_group_metadata_value v" + std::to_string(record.value_version));
}

}  // namespace
}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice;
  if (size < 3) return 0;
  const bool has_value = (data[0] & 1) != 0;
  std::size_t key_bytes = std::min<std::size_t>((std::size_t{data[1]} << 8) | data[2], size - 3);
  // Buffers of their own, so AddressSanitizer sees a read past either.
  std::vector<std::byte> key(reinterpret_cast<const std::byte*>(data) + 3,
                             reinterpret_cast<const std::byte*>(data) + 3 + key_bytes);
  std::vector<std::byte> value(reinterpret_cast<const std::byte*>(data) + 3 + key_bytes,
                               reinterpret_cast<const std::byte*>(data) + size);
  std::optional<std::span<const std::byte>> value_span;
  if (has_value) value_span = std::span<const std::byte>(value);
  auto record = protocol::decode_consumer_offsets_record(key, value_span);
  if (!record.is_ok()) return 0;
  const std::string first = fuzz::describe_record(record.value());
  if (auto* commit = std::get_if<protocol::ConsumerOffsetsOffsetCommit>(&record.value())) {
    FUZZ_CHECK(commit->key_version >= 0 && commit->key_version <= 1, first);
    FUZZ_CHECK(commit->value.has_value() == has_value, first);
    fuzz::check_record_round_trip(*commit, first);
    fuzz::check_writers(*commit);
  } else if (auto* group = std::get_if<protocol::ConsumerOffsetsGroupMetadata>(&record.value())) {
    FUZZ_CHECK(group->key_version == 2, first);
    FUZZ_CHECK(group->value.has_value() == has_value, first);
    fuzz::check_record_round_trip(*group, first);
    fuzz::check_writers(*group);
  } else {
    FUZZ_CHECK(std::get<protocol::ConsumerOffsetsUnknown>(record.value()).key_version > 2, first);
  }
  return 0;
}
