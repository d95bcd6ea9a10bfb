// An I/O thread: owns a set of partitions (appends to their logs) and runs their work, posted to
// it as tasks by network threads. Single writer per partition means appends take no lock.
#pragma once

#include <atomic>
#include <thread>

#include "io/event_loop.h"
#include "storage/flusher.h"

namespace sluice::broker {

class IoThread {
 public:
  // role names the thread ("io" or "fetch": sluice-io0, sluice-fetch1, ...).
  IoThread(const char* role, int index, int cpu) : role_(role), index_(index), cpu_(cpu) {}
  ~IoThread() { stop_and_join(); }

  Status start();
  void stop_and_join();
  io::EventLoop& loop() { return loop_; }
  // Group commit for the logs this thread owns. This thread only.
  storage::Flusher& flusher() { return flusher_; }
  int index() const { return index_; }

 private:
  const char* role_;
  int index_;
  int cpu_;
  io::EventLoop loop_;
  storage::Flusher flusher_{loop_};  // destroyed before the loop, after the thread stopped
  std::thread thread_;
};

}  // namespace sluice::broker
