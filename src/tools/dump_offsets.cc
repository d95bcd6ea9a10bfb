// dump-log --offsets-decoder: __consumer_offsets records as Kafka's OffsetsMessageParser prints
// them, {"type":"<key version>","data":{...}} for the key and {"version":"<value version>",
// "data":{...}} for the value, with Kafka's JSON field names. Member subscriptions and
// assignments stay base64 (Kafka decodes those of the consumer protocol; we do not yet).
#include <cinttypes>
#include <variant>

#include "protocol/consumer_offsets.h"
#include "tools/dump_internal.h"

namespace sluice::tools::dump {
namespace {

using protocol::ConsumerOffsetsGroupMetadata;
using protocol::ConsumerOffsetsOffsetCommit;
using protocol::ConsumerOffsetsUnknown;

std::string json_optional(const std::optional<std::string>& text) { return text ? json_string(*text) : "null"; }

std::string offset_commit_value_json(std::int16_t version, const protocol::OffsetCommitValue& v) {
  std::string data = "{\"offset\":" + std::to_string(v.offset);
  if (version >= 3) data += ",\"leaderEpoch\":" + std::to_string(v.leader_epoch);
  data += ",\"metadata\":" + json_string(v.metadata);
  data += ",\"commitTimestamp\":" + std::to_string(v.commit_timestamp);
  if (version == 1) data += ",\"expireTimestamp\":" + std::to_string(v.expire_timestamp);
  return "{\"version\":\"" + std::to_string(version) + "\",\"data\":" + data + "}}";
}

std::string member_json(std::int16_t version, const protocol::GroupMetadataValue::Member& m) {
  std::string text = "{\"memberId\":" + json_string(m.member_id);
  if (version >= 3) text += ",\"groupInstanceId\":" + json_optional(m.group_instance_id);
  text += ",\"clientId\":" + json_string(m.client_id) + ",\"clientHost\":" + json_string(m.client_host);
  if (version >= 1) text += ",\"rebalanceTimeout\":" + std::to_string(m.rebalance_timeout_ms);
  text += ",\"sessionTimeout\":" + std::to_string(m.session_timeout_ms);
  text += ",\"subscription\":\"" + base64(m.subscription) + "\",\"assignment\":\"" + base64(m.assignment) + "\"}";
  return text;
}

std::string group_metadata_value_json(std::int16_t version, const protocol::GroupMetadataValue& v) {
  std::string data = "{\"protocolType\":" + json_string(v.protocol_type);
  data += ",\"generation\":" + std::to_string(v.generation);
  data += ",\"protocol\":" + json_optional(v.protocol) + ",\"leader\":" + json_optional(v.leader);
  if (version >= 2) data += ",\"currentStateTimestamp\":" + std::to_string(v.current_state_timestamp);
  data += ",\"members\":[";
  for (std::size_t i = 0; i < v.members.size(); ++i) data += (i ? "," : "") + member_json(version, v.members[i]);
  return "{\"version\":\"" + std::to_string(version) + "\",\"data\":" + data + "]}}";
}

}  // namespace

void offsets_key_payload(std::optional<std::span<const std::byte>> key, std::optional<std::span<const std::byte>> value,
                         std::int64_t offset, std::string* key_text, std::optional<std::string>* payload_text) {
  payload_text->reset();
  if (!key) {
    *key_text = "Failed to decode message at offset " + std::to_string(offset) +
                " using offset topic decoder (message had a missing key)";
    return;
  }
  auto decoded = protocol::decode_consumer_offsets_record(*key, value);
  if (!decoded.is_ok()) {
    *key_text = "Error at offset " + std::to_string(offset) + ", skipping. " + decoded.status().message();
    return;
  }
  const auto& record = decoded.value();
  if (const auto* unknown = std::get_if<ConsumerOffsetsUnknown>(&record)) {
    *key_text = "Unknown record type " + std::to_string(unknown->key_version) + " at offset " + std::to_string(offset) +
                ", skipping.";
  } else if (const auto* commit = std::get_if<ConsumerOffsetsOffsetCommit>(&record)) {
    *key_text = "{\"type\":\"" + std::to_string(commit->key_version) + "\",\"data\":{\"group\":" +
                json_string(commit->key.group) + ",\"topic\":" + json_string(commit->key.topic) +
                ",\"partition\":" + std::to_string(commit->key.partition) + "}}";
    *payload_text = commit->value ? offset_commit_value_json(commit->value_version, *commit->value) : "<DELETE>";
  } else if (const auto* group = std::get_if<ConsumerOffsetsGroupMetadata>(&record)) {
    *key_text = "{\"type\":\"" + std::to_string(group->key_version) + "\",\"data\":{\"group\":" +
                json_string(group->key.group) + "}}";
    *payload_text = group->value ? group_metadata_value_json(group->value_version, *group->value) : "<DELETE>";
  }
}

}  // namespace sluice::tools::dump
