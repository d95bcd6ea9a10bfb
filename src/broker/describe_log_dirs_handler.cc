// DescribeLogDirs v0-v4: the one log directory, the size of each (asked) partition on it, and
// (v4) the file system's total and usable bytes.
#include <sys/statvfs.h>

#include "broker/respond.h"
#include "protocol/describe_log_dirs.h"

namespace sluice::broker {

void Broker::handle_describe_log_dirs(const RequestPtr& request) {
  protocol::DescribeLogDirsRequest body;
  if (!decode_body(*request, body)) return;
  reserve(*request);
  protocol::DescribeLogDirsResponse response;
  auto& result = response.results.emplace_back();
  result.log_dir = std::filesystem::absolute(log_dir_).string();
  struct statvfs fs {};
  if (::statvfs(log_dir_.c_str(), &fs) == 0) {
    result.total_bytes = static_cast<std::int64_t>(fs.f_blocks) * static_cast<std::int64_t>(fs.f_frsize);
    result.usable_bytes = static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize);
  }
  auto describe = [&result](const Topic& topic, const std::vector<std::int32_t>* indexes) {
    auto& out = result.topics.emplace_back();
    out.name = topic.name;
    for (const auto& partition : topic.partitions) {
      if (indexes && std::find(indexes->begin(), indexes->end(), partition->index) == indexes->end()) continue;
      auto& entry = out.partitions.emplace_back();
      entry.partition_index = partition->index;
      entry.partition_size = static_cast<std::int64_t>(partition->log->size_bytes());
    }
  };
  if (!body.topics.has_value()) {
    for (const auto& [name, topic] : registry_->snapshot()->by_name) describe(*topic, nullptr);
  } else {
    // Kafka leaves out what this broker does not have.
    for (const auto& wanted : *body.topics)
      if (auto topic = registry_->find(wanted.topic)) describe(*topic, &wanted.partitions);
  }
  respond(*request, response);
}

}  // namespace sluice::broker
