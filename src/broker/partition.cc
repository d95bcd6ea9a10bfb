#include "broker/partition.h"

#include "base/log.h"

namespace sluice::broker {

Result<storage::AppendInfo> append_and_commit(Partition& partition, std::span<std::byte> batch, std::int64_t now_ms) {
  auto appended = partition.log->append(batch, partition.leader_epoch, now_ms);
  if (!appended.is_ok()) {
    LOG_ERROR("append_failed", "topic=%s partition=%d error=\"%s\"", partition.topic.c_str(), partition.index,
              appended.status().to_string().c_str());
    return appended;
  }
  partition.log->set_high_watermark(appended.value().last_offset + 1);
  return appended;
}

}  // namespace sluice::broker
