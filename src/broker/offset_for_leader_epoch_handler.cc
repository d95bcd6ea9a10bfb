// OffsetForLeaderEpoch: the end offset of a leader epoch, from the partition's epoch cache.
#include "broker/respond.h"
#include "protocol/offset_for_leader_epoch.h"

namespace sluice::broker {

void Broker::handle_offset_for_leader_epoch(const RequestPtr& request) {
  protocol::OffsetForLeaderEpochRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  protocol::OffsetForLeaderEpochResponse response;
  for (const auto& wanted : body.topics) {
    auto& topic_out = response.topics.emplace_back();
    topic_out.topic = wanted.topic;
    auto topic = registry_->find(wanted.topic);
    for (const auto& want : wanted.partitions) {
      auto& out = topic_out.partitions.emplace_back();
      out.partition = want.partition;
      if (!topic || want.partition < 0 || static_cast<std::size_t>(want.partition) >= topic->partitions.size()) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      const auto& partition = *topic->partitions[static_cast<std::size_t>(want.partition)];
      if (want.current_leader_epoch > partition.leader_epoch) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::unknown_leader_epoch);
        continue;
      }
      if (want.current_leader_epoch >= 0 && want.current_leader_epoch < partition.leader_epoch) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::fenced_leader_epoch);
        continue;
      }
      if (want.leader_epoch >= partition.leader_epoch) {
        // The current epoch (or a later one a client cannot know about) ends at the log end.
        out.leader_epoch = partition.leader_epoch;
        out.end_offset = partition.log->log_end_offset();
        continue;
      }
      auto [epoch, end_offset] = partition.log->end_offset_for_epoch(want.leader_epoch);
      out.leader_epoch = epoch;
      out.end_offset = end_offset;
    }
  }
  respond(*request, response);
}

}  // namespace sluice::broker
