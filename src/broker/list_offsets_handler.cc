// ListOffsets: earliest (-2), latest (-1: the high watermark), max timestamp (-3), or the first
// offset whose timestamp is at or after the one asked for.
#include "broker/respond.h"
#include "protocol/list_offsets.h"

namespace sluice::broker {

void Broker::handle_list_offsets(const RequestPtr& request) {
  protocol::ListOffsetsRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  using Request = protocol::ListOffsetsRequest;
  protocol::ListOffsetsResponse response;
  for (const auto& wanted : body.topics) {
    auto& topic_out = response.topics.emplace_back();
    topic_out.name = wanted.name;
    auto topic = registry_->find(wanted.name);
    for (const auto& want : wanted.partitions) {
      auto& out = topic_out.partitions.emplace_back();
      out.partition_index = want.partition_index;
      if (!topic || want.partition_index < 0 || static_cast<std::size_t>(want.partition_index) >= topic->partitions.size()) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      const auto& partition = *topic->partitions[static_cast<std::size_t>(want.partition_index)];
      const auto& log = *partition.log;
      out.leader_epoch = partition.leader_epoch;
      out.timestamp = -1;
      if (want.timestamp == Request::timestamp_latest) {
        out.offset = log.high_watermark();  // read_committed: no transactions yet, so LSO == HWM
      } else if (want.timestamp == Request::timestamp_earliest) {
        out.offset = log.log_start_offset();
      } else if (want.timestamp == Request::timestamp_max) {
        auto found = log.max_timestamp_offset();
        if (found) {
          out.offset = found->first;
          out.timestamp = found->second;
        }
      } else if (want.timestamp < 0) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::invalid_request);
      } else {
        auto found = log.offset_for_timestamp(want.timestamp);
        if (found) {
          out.offset = found->first;
          out.timestamp = found->second;
        }
      }
    }
  }
  respond(*request, response);
}

}  // namespace sluice::broker
