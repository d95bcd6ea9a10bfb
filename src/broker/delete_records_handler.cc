// DeleteRecords v0-v2: moves each partition's log start offset (its low watermark) forward to the
// given offset (-1: the high watermark), on the partition's owner I/O thread; whole segments below
// it go at once, readers in flight keep theirs until they finish. An offset at or below the log
// start changes nothing; one past the high watermark is OFFSET_OUT_OF_RANGE.
#include "base/clock.h"
#include "base/log.h"
#include "broker/respond.h"
#include "protocol/delete_records.h"

namespace sluice::broker {
namespace {

struct DeleteJob {
  protocol::DeleteRecordsResponse response;
};

}  // namespace

void Broker::handle_delete_records(const RequestPtr& request) {
  protocol::DeleteRecordsRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  auto job = std::make_shared<DeleteJob>();
  std::vector<std::shared_ptr<Partition>> partitions;
  struct Target {
    protocol::DeleteRecordsResponse::Partition* out;
    std::int64_t offset;
  };
  auto targets = std::make_shared<std::map<Partition*, Target>>();
  job->response.topics.reserve(body.topics.size());
  for (const auto& wanted_topic : body.topics) {
    auto& out_topic = job->response.topics.emplace_back();
    out_topic.name = wanted_topic.name;
    out_topic.partitions.reserve(wanted_topic.partitions.size());
    auto topic = registry_->find(wanted_topic.name);
    for (const auto& wanted : wanted_topic.partitions) {
      auto& out = out_topic.partitions.emplace_back();
      out.partition_index = wanted.partition_index;
      out.low_watermark = -1;
      if (!topic || wanted.partition_index < 0 ||
          wanted.partition_index >= static_cast<std::int32_t>(topic->partitions.size())) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      if (wanted.offset < 0 && wanted.offset != protocol::DeleteRecordsRequest::offset_high_watermark) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::offset_out_of_range);
        continue;
      }
      const auto& partition = topic->partitions[static_cast<std::size_t>(wanted.partition_index)];
      if (targets->count(partition.get())) {
        out.error_code = static_cast<std::int16_t>(ErrorCode::invalid_request);
        continue;
      }
      (*targets)[partition.get()] = {&out, wanted.offset};
      partitions.push_back(partition);
    }
  }
  run_on_owners(
      io_threads_, partitions, request->connection->loop(),
      [targets](Partition& partition, IoThread&) {
        Target& target = targets->at(&partition);
        storage::Log& log = *partition.log;
        auto& out = *target.out;
        if (partition.deleted.load(std::memory_order_acquire)) {
          out.error_code = static_cast<std::int16_t>(ErrorCode::unknown_topic_or_partition);
          return;
        }
        if (log.offline()) {
          out.error_code = static_cast<std::int16_t>(ErrorCode::kafka_storage_error);
          return;
        }
        std::int64_t offset = target.offset < 0 ? log.high_watermark() : target.offset;
        if (offset > log.high_watermark()) {
          out.error_code = static_cast<std::int16_t>(ErrorCode::offset_out_of_range);
          return;
        }
        if (offset > log.log_start_offset()) {
          log.advance_log_start_offset(offset);
          auto removed = log.delete_retained_segments(-1, -1, wall_ms());
          if (!removed.is_ok())
            LOG_WARN("delete_records_segments_kept", "dir=%s error=\"%s\"", log.dir().c_str(),
                     removed.status().to_string().c_str());
          LOG_INFO("records_deleted", "dir=%s log_start_offset=%lld", log.dir().c_str(), (long long)offset);
        }
        out.low_watermark = log.log_start_offset();
      },
      [this, request, job] { respond(*request, job->response); });
}

}  // namespace sluice::broker
