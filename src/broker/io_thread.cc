#include "broker/io_thread.h"

#include <string>

#include "base/log.h"
#include "base/thread_name.h"

namespace sluice::broker {

Status IoThread::start() {
  std::atomic<int> started{0};
  thread_ = std::thread([this, &started] {
    name_current_thread(role_, index_);
    io::LoopConfig config;
    config.cpu = cpu_;
    config.ring_entries = 256;
    Status status = loop_.init(config);
    if (!status.is_ok()) {
      LOG_ERROR("io_thread_init", "index=%d error=\"%s\"", index_, status.to_string().c_str());
      started.store(-1);
      return;
    }
    started.store(1);
    loop_.run();
  });
  while (started.load() == 0) std::this_thread::yield();
  if (started.load() < 0) {
    thread_.join();
    return Status::error("io thread " + std::to_string(index_) + " failed to start");
  }
  return Status::ok();
}

void IoThread::stop_and_join() {
  if (!thread_.joinable()) return;
  loop_.stop();
  thread_.join();
}

}  // namespace sluice::broker
