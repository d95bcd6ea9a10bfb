// Fetch: resolve each partition's offset to a file range of one segment (storage::Log::read), put
// the ranges into the response as file chunks (sent later with sendfile, never copied), and park
// the request in this network thread's purgatory while fewer than min.bytes are available.
//
// Purgatory: a parked fetch sets this thread's bit in each of its partitions' fetch_waiters, then
// checks again (so an append between the first check and the bit cannot be missed). The appending
// I/O thread clears the bits and posts a wake-up; the deadline timer answers whatever is there.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "base/clock.h"
#include "base/log.h"
#include "broker/respond.h"
#include "metrics/cells.h"
#include "protocol/fetch.h"

namespace sluice::broker {

struct ParkedFetch {
  RequestPtr request;
  protocol::FetchRequest body;
  std::vector<std::vector<std::shared_ptr<Partition>>> partitions;  // null: unknown
  std::vector<std::shared_ptr<const Topic>> topics;
  int network_thread = 0;
  bool done = false;
  io::EventLoop::TimerId timer = 0;
  std::list<std::shared_ptr<ParkedFetch>>::iterator parked_at;
  bool is_parked = false;
};

namespace {
constexpr std::int16_t fetch_session_id_not_found = 70;

// Counts one fetch answer on its network thread: record bytes by topic into that thread's
// counters (no other thread writes them), and each partition's error code.
void count_fetch(const ParkedFetch& fetch, const protocol::FetchResponse& response, metrics::TopicCounters& bytes_out) {
  auto& cells = metrics::local();
  for (std::size_t t = 0; t < response.responses.size(); ++t) {
    std::uint64_t bytes = 0;
    for (const auto& out : response.responses[t].partitions) {
      bytes += out.records.size();
      if (out.error_code != 0) cells.fetch_errors[static_cast<std::size_t>(metrics::error_code_slot(out.error_code))].add(1);
    }
    if (bytes > 0 && t < fetch.topics.size() && fetch.topics[t]) bytes_out.add(fetch.topics[t]->id, bytes);
  }
}
}  // namespace

bool Broker::try_complete_fetch(ParkedFetch& fetch, bool deadline_passed) {
  const std::int16_t version = fetch.request->header.api_version;
  protocol::FetchResponse response;
  std::int64_t total_bytes = 0;
  const std::int64_t max_bytes = fetch.body.max_bytes > 0 ? fetch.body.max_bytes : 0;
  bool any_error = false;
  for (std::size_t t = 0; t < fetch.body.topics.size(); ++t) {
    const auto& wanted = fetch.body.topics[t];
    auto& topic_out = response.responses.emplace_back();
    topic_out.topic = wanted.topic;
    topic_out.topic_id = wanted.topic_id;
    for (std::size_t p = 0; p < wanted.partitions.size(); ++p) {
      const auto& want = wanted.partitions[p];
      auto& out = topic_out.partitions.emplace_back();
      out.partition_index = want.partition;
      out.records.is_null = false;  // an empty record set, not null
      const auto& partition = fetch.partitions[t][p];
      if (!partition) {
        out.error_code = static_cast<std::int16_t>(version >= 13 ? ErrorCode::unknown_topic_id
                                                                 : ErrorCode::unknown_topic_or_partition);
        any_error = true;
        continue;
      }
      std::int64_t budget = std::min<std::int64_t>(want.partition_max_bytes, max_bytes - total_bytes);
      if (budget < 0) budget = 0;
      // The first partition with data returns at least one whole batch, so a consumer always
      // makes progress even past max.bytes; the rest obey the limits.
      bool first_with_data = total_bytes == 0;
      auto read = partition->log->read(want.fetch_offset, static_cast<std::uint32_t>(budget), first_with_data);
      out.high_watermark = read.high_watermark;
      out.last_stable_offset = read.high_watermark;
      out.log_start_offset = read.log_start_offset;
      if (read.error != ErrorCode::none) {
        out.error_code = static_cast<std::int16_t>(read.error);
        any_error = true;
        continue;
      }
      // A file range either way: the network thread sends it with sendfile, or with
      // fetch.transfer=copy reads it through a staging buffer (net::Connection).
      if (read.range.has_value() && read.range->bytes > 0) {
        out.records.file_fd = read.range->fd;
        out.records.file_position = read.range->position;
        out.records.file_bytes = read.range->bytes;
        out.records.file_owner = read.range->file;
        total_bytes += read.range->bytes;
      }
    }
  }
  bool enough = total_bytes >= fetch.body.min_bytes || total_bytes >= max_bytes;
  if (!(enough || deadline_passed || any_error || fetch.body.max_wait_ms <= 0)) return false;
  fetch.done = true;
  count_fetch(fetch, response, network_states_[static_cast<std::size_t>(fetch.network_thread)]->bytes_out);
  respond_fetch(fetch.request, std::move(response));
  return true;
}

namespace {

// Whether sending [position, position + bytes) would wait for the disk. The offset lookup has just
// read the batch headers at the start and near the end of the range (and the kernel's readahead
// behind them), so those pages are warm whatever the rest is: probe one byte in every 256 KiB
// after the first with RWF_NOWAIT, which fails with EAGAIN instead of reading an uncached page.
// Where the probe is unsupported the range counts as cached.
bool range_is_cold(int fd, std::uint64_t position, std::uint32_t bytes) {
  constexpr std::uint64_t step = 256 * 1024;
  char byte;
  for (std::uint64_t at = position + step; at < position + bytes; at += step) {
    iovec vector{&byte, 1};
    if (::preadv2(fd, &vector, 1, static_cast<off_t>(at), RWF_NOWAIT) < 0 && errno == EAGAIN) return true;
  }
  return false;
}

// Runs on a fetch thread: starts the read of the whole range, then waits on one byte in every
// 64 KiB so the pages are in the cache before the network thread sends them.
void prefetch_range(int fd, std::uint64_t position, std::uint32_t bytes) {
  ::posix_fadvise(fd, static_cast<off_t>(position), bytes, POSIX_FADV_WILLNEED);
  char byte;
  constexpr std::uint64_t step = 64 * 1024;
  for (std::uint64_t at = position; at < position + bytes; at += step)
    if (::pread(fd, &byte, 1, static_cast<off_t>(at)) < 0) return;
}

}  // namespace

void Broker::respond_fetch(const RequestPtr& request, protocol::FetchResponse response) {
  bool cold = false;
  for (const auto& topic : response.responses)
    for (const auto& partition : topic.partitions)
      if (partition.records.file_bytes > 0 &&
          range_is_cold(partition.records.file_fd, partition.records.file_position, partition.records.file_bytes))
        cold = true;
  if (!cold || fetch_threads_.empty()) return respond(*request, response);
  cold_reads_.fetch_add(1, std::memory_order_relaxed);
  LOG_DEBUG("fetch.cold_read", "connection=%s", request->connection->peer_host().c_str());
  auto shared = std::make_shared<protocol::FetchResponse>(std::move(response));
  std::uint32_t index = next_fetch_thread_.fetch_add(1, std::memory_order_relaxed) % fetch_threads_.size();
  respond_after(fetch_threads_[index]->loop(), request, [shared] {
    // The ranges' files stay open: the response holds them (file_owner).
    for (const auto& topic : shared->responses)
      for (const auto& partition : topic.partitions)
        if (partition.records.file_bytes > 0)
          prefetch_range(partition.records.file_fd, partition.records.file_position, partition.records.file_bytes);
    return std::move(*shared);
  });
}

void Broker::handle_fetch(const RequestPtr& request) {
  auto fetch = std::make_shared<ParkedFetch>();
  fetch->request = request;
  if (!decode_body(*request, fetch->body)) return;
  reserve(*request);
  fetch->network_thread = request->connection->thread_index();
  const std::int16_t version = request->header.api_version;
  // Sessions (KIP-227) are not kept: every fetch is a full fetch and we answer session id 0, which
  // tells clients that no session was created. A client naming a session we never gave is told so.
  if (fetch->body.session_id != 0 || fetch->body.session_epoch > 0) {
    protocol::FetchResponse response;
    response.error_code = fetch_session_id_not_found;
    metrics::local().fetch_errors[static_cast<std::size_t>(metrics::error_code_slot(fetch_session_id_not_found))].add(1);
    return respond(*request, response);
  }
  for (const auto& wanted : fetch->body.topics) {
    auto topic = version >= 13 ? registry_->find(wanted.topic_id) : registry_->find(wanted.topic);
    auto& resolved = fetch->partitions.emplace_back();
    for (const auto& want : wanted.partitions) {
      bool known = topic && want.partition >= 0 && static_cast<std::size_t>(want.partition) < topic->partitions.size();
      resolved.push_back(known ? topic->partitions[static_cast<std::size_t>(want.partition)] : nullptr);
    }
    fetch->topics.push_back(topic);
  }
  if (try_complete_fetch(*fetch, false)) return;
  auto& state = *network_states_[static_cast<std::size_t>(fetch->network_thread)];
  if (state.parked.size() >= static_cast<std::size_t>(config_.fetch_parked_max) ||
      stopping_.load(std::memory_order_acquire)) {
    try_complete_fetch(*fetch, true);  // purgatory full, or stopping: answer with what there is
    return;
  }
  park_fetch(std::move(fetch));
}

void Broker::answer_parked_fetches(int network_thread) {
  auto& state = *network_states_[static_cast<std::size_t>(network_thread)];
  auto parked = std::move(state.parked);
  state.parked.clear();
  for (auto& fetch : parked) {
    fetch->is_parked = false;
    if (!fetch->done && !fetch->request->connection->closed()) try_complete_fetch(*fetch, true);
  }
}

void Broker::park_fetch(std::shared_ptr<ParkedFetch> fetch) {
  const std::uint64_t bit = std::uint64_t{1} << (fetch->network_thread % 64);
  for (auto& topic_partitions : fetch->partitions)
    for (auto& partition : topic_partitions)
      if (partition) partition->fetch_waiters.fetch_or(bit, std::memory_order_seq_cst);
  // Check again now that the bits are set: an append that came before them did not wake us.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (try_complete_fetch(*fetch, false)) return;
  if (fetch->is_parked) return;
  auto& state = *network_states_[static_cast<std::size_t>(fetch->network_thread)];
  state.parked.push_front(fetch);
  fetch->parked_at = state.parked.begin();
  fetch->is_parked = true;
  io::EventLoop& loop = fetch->request->connection->loop();
  std::weak_ptr<ParkedFetch> weak = fetch;
  fetch->timer = loop.add_timer(fetch->body.max_wait_ms, [this, weak] {
    auto parked = weak.lock();
    if (!parked || parked->done) return;
    try_complete_fetch(*parked, true);
    auto& owner = *network_states_[static_cast<std::size_t>(parked->network_thread)];
    if (parked->is_parked) owner.parked.erase(parked->parked_at);
    parked->is_parked = false;
  });
}

void Broker::wake_fetches(int network_thread) {
  auto& state = *network_states_[static_cast<std::size_t>(network_thread)];
  state.wake_posted = false;
  io::EventLoop& loop = network_threads_[static_cast<std::size_t>(network_thread)]->loop();
  for (auto it = state.parked.begin(); it != state.parked.end();) {
    auto fetch = *it;
    bool finished = fetch->done || fetch->request->connection->closed() || try_complete_fetch(*fetch, false);
    if (!finished) {
      // Re-arm: the appender cleared the bits it saw.
      const std::uint64_t bit = std::uint64_t{1} << (network_thread % 64);
      for (auto& topic_partitions : fetch->partitions)
        for (auto& partition : topic_partitions)
          if (partition) partition->fetch_waiters.fetch_or(bit, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      finished = try_complete_fetch(*fetch, false);
    }
    if (finished) {
      loop.cancel_timer(fetch->timer);
      fetch->is_parked = false;
      it = state.parked.erase(it);
    } else {
      ++it;
    }
  }
}

void Broker::notify_fetch_waiters(Partition& partition) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  std::uint64_t waiters = partition.fetch_waiters.exchange(0, std::memory_order_seq_cst);
  while (waiters != 0) {
    int thread = __builtin_ctzll(waiters);
    waiters &= waiters - 1;
    if (static_cast<std::size_t>(thread) >= network_threads_.size()) continue;
    network_threads_[static_cast<std::size_t>(thread)]->loop().post([this, thread] { wake_fetches(thread); });
  }
}

}  // namespace sluice::broker
