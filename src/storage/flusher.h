// Group commit for the logs of one I/O thread: makes a log durable up to an offset with one
// round of syncs (io_uring fsync/fdatasync, run by the kernel's workers) that serves every
// request waiting on that log when it started; requests that arrive meanwhile wait for the next
// round. Nobody blocks: the owner thread keeps appending while a round is in flight, and each
// waiter's callback runs on the owner thread when the log's recovery point passes its offset.
//
// Also starts write-back of the active segments' dirty pages (sync_file_range) in steady steps,
// so the kernel never piles up a writeback storm that stalls appends.
//
// Threads: owned by one I/O thread; every method runs on that thread, and so do the callbacks.
// Invariant: at most one round in flight per log; a waiter's offset is at most the log end when
// it asks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include "io/event_loop.h"
#include "storage/log.h"

namespace sluice::storage {

class Flusher {
 public:
  // Runs once the log is durable to the waiter's offset (ok) or its round failed (the log is then
  // offline and the status names the error).
  using Done = std::function<void(const Status&)>;

  explicit Flusher(io::EventLoop& loop);
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  // Requires: offset <= log.log_end_offset(); `log` outlives the wait or is forgotten first.
  // Runs `done` at once (before returning) when the log is already durable to `offset`.
  void flush_to(Log& log, std::int64_t offset, Done done);
  // The log is about to be destroyed: its waiters get an error now and an in-flight round's
  // completion will not touch it.
  void forget(Log& log);
  // Starts write-back of the log's active segment once `window_bytes` more are written.
  void write_behind(Log& log, std::uint32_t window_bytes);

  std::size_t rounds_completed() const { return rounds_completed_; }
  std::size_t waiters_served() const { return waiters_served_; }
  // Requests waiting for a round (acks=all in durable mode, background flushes). O(logs).
  std::size_t waiters_pending() const {
    std::size_t count = 0;
    for (const auto& [log, state] : logs_) count += state.waiters.size();
    return count;
  }

  struct Round;  // one round of syncs for one log (flusher.cc)

 private:
  struct LogState {
    Round* round = nullptr;  // in flight
    std::multimap<std::int64_t, Done> waiters;  // by offset
  };
  void start_round(Log& log, LogState& state);
  void finish_round(Round* round);
  void release_waiters(LogState& state, std::int64_t durable_offset, const Status& status, bool all);

  io::EventLoop& loop_;
  std::unordered_map<Log*, LogState> logs_;
  std::unordered_map<Round*, std::unique_ptr<Round>> rounds_;
  std::size_t rounds_completed_ = 0;
  std::size_t waiters_served_ = 0;
};

}  // namespace sluice::storage
