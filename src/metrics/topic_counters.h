// Counters per topic (keyed by topic id) that one thread owns outright: a plain hash map, no
// atomics, no locks. Other threads read it only from a task posted to the owner thread, which
// copies it (the broker does that at scrape time; see broker_metrics.cc).
//
// Used where several threads count for the same topic (fetch bytes out on every network thread):
// each keeps its own map, and the scrape adds them up, so no cache line is shared by two writers.
//
// Threads: every method on the owner thread. Bounded: at most entries_max topics; counts for a
// topic beyond that go to `overflow`, so a broker with very many topics cannot grow it without
// limit. retain() drops the entries of topics that no longer exist.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "base/uuid.h"

namespace sluice::metrics {

struct UuidHash {
  std::size_t operator()(const Uuid& id) const {
    std::uint64_t high, low;
    std::memcpy(&high, id.bytes.data(), 8);
    std::memcpy(&low, id.bytes.data() + 8, 8);
    return static_cast<std::size_t>(high ^ (low * 0x9e3779b97f4a7c15ull));  // random ids: mixing is enough
  }
};

class TopicCounters {
 public:
  using Map = std::unordered_map<Uuid, std::uint64_t, UuidHash>;
  static constexpr std::size_t entries_max = 100000;

  void add(const Uuid& topic, std::uint64_t n) {
    auto found = counts_.find(topic);
    if (found != counts_.end()) {
      found->second += n;
    } else if (counts_.size() < entries_max) {
      counts_.emplace(topic, n);
    } else {
      overflow_ += n;
    }
  }
  // Keeps the entries whose topic `exists` says still exists.
  void retain(const std::function<bool(const Uuid&)>& exists) {
    std::erase_if(counts_, [&](const auto& entry) { return !exists(entry.first); });
  }
  const Map& counts() const { return counts_; }
  std::uint64_t overflow() const { return overflow_; }

 private:
  Map counts_;
  std::uint64_t overflow_ = 0;
};

}  // namespace sluice::metrics
