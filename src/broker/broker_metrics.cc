// The broker's Prometheus endpoint: Broker::start_metrics and Broker::render_metrics.
//
// A scrape runs on the metrics server's own thread (metrics::HttpServer) and reads:
//  - the per-thread cells (requests, latencies, errors, flush and fsync, connections), summed;
//  - per-partition gauges from storage::Log's atomic getters, and the produce counters each
//    partition's owner I/O thread keeps in its Partition;
//  - the memory budget and each event loop's in-flight io_uring operations (atomics);
//  - what only an owner thread may read: on each network thread its fetch purgatory and its bytes
//    out per topic, on each I/O thread its flush waiters and its groups' committed offsets. For
//    these a task is posted to every thread and the scrape waits for the answers, at most
//    gather_timeout_ms; a thread that has not answered by then is left out of this scrape and
//    counted in sluice_scrape_gather_timeouts_total. Broker threads never wait for a scrape.
#include <condition_variable>
#include <mutex>
#include <optional>

#include "base/log.h"
#include "broker/broker_metrics.h"
#include "broker/group_runtime.h"

namespace sluice::broker {
namespace {

constexpr std::int64_t gather_timeout_ms = 2000;
// Bounds the lag series of one scrape (per I/O thread), so a broker with very many committed
// offsets cannot make a scrape unbounded.
constexpr std::size_t lag_series_max = 20000;

std::atomic<std::uint64_t> gather_timeouts{0};

// Posts work(i) to loops[i] for every i and collects the answers; an answer missing after the
// timeout is nullopt. Runs on the scrape thread; the tasks hold the shared state, so a late answer
// writes into memory that is still alive.
template <class T>
std::vector<std::optional<T>> gather(const std::vector<io::EventLoop*>& loops, std::function<T(std::size_t)> work) {
  struct State {
    std::mutex mutex;
    std::condition_variable done;
    std::vector<std::optional<T>> answers;
    std::size_t remaining = 0;
  };
  auto state = std::make_shared<State>();
  state->answers.resize(loops.size());
  state->remaining = loops.size();
  for (std::size_t i = 0; i < loops.size(); ++i) {
    loops[i]->post([state, work, i] {
      T answer = work(i);
      std::lock_guard lock(state->mutex);
      state->answers[i] = std::move(answer);
      if (--state->remaining == 0) state->done.notify_one();
    });
  }
  std::unique_lock lock(state->mutex);
  bool all = state->done.wait_for(lock, std::chrono::milliseconds(gather_timeout_ms), [&] { return state->remaining == 0; });
  if (!all) gather_timeouts.fetch_add(state->remaining, std::memory_order_relaxed);
  return state->answers;
}

}  // namespace

Status Broker::start_metrics() {
  if (!config_.metrics_enabled) return Status::ok();
  metrics::HttpServerConfig server_config;
  server_config.host = config_.metrics_host;
  server_config.port = config_.metrics_port;
  metrics_server_ = std::make_unique<metrics::HttpServer>(server_config, [this] { return render_metrics(); });
  Status started = metrics_server_->start();
  if (started.is_ok()) {
    LOG_INFO("metrics_listening", "address=%s:%u", config_.metrics_host.c_str(), metrics_server_->bound_port());
    return started;
  }
  metrics_server_.reset();
  // Explicitly configured: the operator asked for this address, so failing is right. The default
  // address may be taken by another broker on the host; the broker serves without metrics.
  if (config_.static_properties.count("metrics.listener") > 0) return started;
  LOG_WARN("metrics_disabled", "reason=\"%s\"", started.to_string().c_str());
  return Status::ok();
}

std::string Broker::render_metrics() {
  if (!serving_.load(std::memory_order_acquire)) return "";  // still starting: nothing to report yet
  // The thread vectors and states are fixed between start() and stop(), and the server is
  // stopped before stop() touches them, so reading them from this thread is safe.
  std::vector<io::EventLoop*> network_loops, io_loops;
  for (auto& thread : network_threads_) network_loops.push_back(&thread->loop());
  for (auto& thread : io_threads_) io_loops.push_back(&thread->loop());
  auto network = gather<NetworkAnswer>(network_loops, [this](std::size_t i) {
    auto& state = *network_states_[i];
    state.bytes_out.retain([this](const Uuid& id) { return registry_->find(id) != nullptr; });
    return NetworkAnswer{state.parked.size(), state.bytes_out.counts(), state.bytes_out.overflow()};
  });
  auto io = gather<IoAnswer>(io_loops, [this](std::size_t i) {
    IoAnswer answer{io_threads_[i]->flusher().waiters_pending(), {}};
    if (i < group_runtimes_.size()) answer.committed = committed_offsets(group_runtimes_[i]->coordinator, lag_series_max);
    return answer;
  });
  metrics::TextWriter out;
  metrics::CellTotals totals;
  metrics::sum_cells(totals);
  write_cells(out, totals);
  auto topics = registry_->snapshot();
  write_topics(out, *topics, network);
  write_partitions(out, *topics);
  write_threads(out, network, io, event_loops());
  write_memory(out, memory_budget_, cold_reads_.load(std::memory_order_relaxed));
  write_groups(out, *registry_, io);
  out.family("sluice_scrape_gather_timeouts_total", metrics::Type::counter,
             "Broker threads that did not answer a scrape in time (their values were left out of it).");
  out.sample({}, gather_timeouts.load(std::memory_order_relaxed));
  return out.take();
}

}  // namespace sluice::broker
