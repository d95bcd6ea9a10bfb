// Admin work that must run where the partitions live: new settings for an altered topic, and the
// files of a deleted one. Each partition is handled on its owner I/O thread (which alone touches
// its settings and appends to its log), and the answer goes back to the request's network thread
// when every partition is done.
#include <filesystem>

#include "base/log.h"
#include "broker/broker.h"

namespace sluice::broker {

void run_on_owners(std::vector<std::unique_ptr<IoThread>>& io_threads,
                   const std::vector<std::shared_ptr<Partition>>& partitions, io::EventLoop& network_loop,
                   std::function<void(Partition&, IoThread&)> work, std::function<void()> done) {
  if (partitions.empty()) return done();
  auto remaining = std::make_shared<std::atomic<std::size_t>>(partitions.size());
  for (const auto& partition : partitions) {
    IoThread& owner = *io_threads[static_cast<std::size_t>(partition->io_thread)];
    owner.loop().post([partition, &owner, work, remaining, done, &network_loop] {
      work(*partition, owner);
      if (remaining->fetch_sub(1) == 1) network_loop.post(done);
    });
  }
}

namespace {

// Runs `work(partition)` on each partition's owner I/O thread, then `done` on `network_loop`.
template <class Work>
void on_each_owner(std::vector<std::unique_ptr<IoThread>>& io_threads, const std::shared_ptr<const Topic>& topic,
                   io::EventLoop& network_loop, Work work, std::function<void()> done) {
  run_on_owners(io_threads, topic->partitions, network_loop, std::move(work), std::move(done));
}

std::string unique_hex() {
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  for (std::uint8_t byte : Uuid::random().bytes) {
    hex.push_back(digits[byte >> 4]);
    hex.push_back(digits[byte & 15]);
  }
  return hex;
}

}  // namespace

void Broker::apply_topic_settings(const RequestPtr& request, std::shared_ptr<const Topic> topic, TopicSettings settings,
                                  std::function<void()> done) {
  on_each_owner(io_threads_, topic, request->connection->loop(),
                [settings](Partition& partition, IoThread&) {
                  partition.settings = settings;
                  partition.log->set_config(settings.log);
                },
                std::move(done));
}

void Broker::delete_topic_files(const RequestPtr& request, std::shared_ptr<const Topic> topic,
                                std::function<void()> done) {
  const std::filesystem::path log_dir = log_dir_;
  on_each_owner(io_threads_, topic, request->connection->loop(),
                [log_dir](Partition& partition, IoThread& owner) {
                  // Waiters on its flushes are told it is gone; readers in flight keep the open
                  // files (and the Log, through their shared_ptr) until they finish.
                  owner.flusher().forget(*partition.log);
                  auto dir = partition.log->dir();
                  // Kafka renames the directory to <topic>-<partition>.<id>-delete first, so a
                  // crash halfway never leaves a partition that looks alive.
                  auto doomed = dir;
                  doomed += "." + unique_hex() + "-delete";
                  std::error_code error;
                  std::filesystem::rename(dir, doomed, error);
                  if (!error) std::filesystem::remove_all(doomed, error);
                  if (error)
                    LOG_ERROR("topic_files_delete_failed", "dir=%s error=\"%s\"", dir.c_str(), error.message().c_str());
                },
                std::move(done));
}

}  // namespace sluice::broker
