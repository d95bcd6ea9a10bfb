#include "broker/broker.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "broker/group_runtime.h"
#include "broker/log_cleaner.h"
#include "broker/respond.h"
#include "metrics/cells.h"

namespace sluice::broker {
namespace {

// How long a clean stop waits for the answers to requests already read.
constexpr std::int64_t kDrainMs = 10000;

}  // namespace

Broker::Broker(const Config& config)
    : config_(config), log_dir_(config.log_dirs.at(0)), memory_budget_(config.inflight_bytes_max) {}

Broker::~Broker() {
  if (started_) stop();
}

Status Broker::start() {
  std::error_code error;
  std::filesystem::create_directories(log_dir_, error);
  if (error) return Status::from_errno(error.value(), "create log dir " + log_dir_.string());
  auto meta = storage::load_or_create_meta_properties(log_dir_, config_.node_id);
  if (!meta.is_ok()) return meta.status();
  meta_ = meta.value();
  if (!config_.storage_faults.empty()) {
    auto injected = storage::FaultInjectingFileIo::parse(config_.storage_faults);
    if (!injected.is_ok()) return injected.status();
    injected_file_io_ = std::move(injected).value();
    storage::set_file_io(injected_file_io_.get());
    LOG_WARN("storage.faults_enabled", "rules=\"%s\"", config_.storage_faults.c_str());
  }
  bool clean = storage::clean_shutdown_marker_exists(log_dir_);
  auto recovery_points = storage::read_offset_checkpoint(log_dir_ / storage::recovery_point_checkpoint_file);
  if (!recovery_points.is_ok()) return recovery_points.status();
  LOG_INFO("log_dir_open", "dir=%s cluster_id=%s node_id=%d clean_shutdown=%s", log_dir_.c_str(),
           meta_.cluster_id.c_str(), config_.node_id, clean ? "true" : "false");
  registry_ = std::make_unique<TopicRegistry>(config_, log_dir_, config_.io_threads);
  auto log_starts = storage::read_offset_checkpoint(log_dir_ / storage::log_start_offset_checkpoint_file);
  if (!log_starts.is_ok()) return log_starts.status();
  Status loaded = registry_->load(clean, recovery_points.value(), log_starts.value());
  if (!loaded.is_ok()) return loaded;
  // From here until a clean stop, the directory is "in use": a crash must trigger recovery.
  Status removed = storage::remove_clean_shutdown_marker(log_dir_);
  if (!removed.is_ok()) return removed;
  // Producer ids must not repeat across restarts; wall-clock microseconds grow faster than any
  // broker hands out ids.
  next_producer_id_.store(wall_ms() * 1000);

  for (int i = 0; i < config_.io_threads; ++i) {
    int cpu = config_.io_cpus.empty() ? -1 : config_.io_cpus[static_cast<std::size_t>(i) % config_.io_cpus.size()];
    io_threads_.push_back(std::make_unique<IoThread>("io", i, cpu));
    Status status = io_threads_.back()->start();
    if (!status.is_ok()) return status;
  }
  for (int i = 0; i < config_.fetch_threads; ++i) {
    int cpu = config_.fetch_cpus.empty() ? -1 : config_.fetch_cpus[static_cast<std::size_t>(i) % config_.fetch_cpus.size()];
    fetch_threads_.push_back(std::make_unique<IoThread>("fetch", i, cpu));
    Status status = fetch_threads_.back()->start();
    if (!status.is_ok()) return status;
  }
  admin_thread_ = std::make_unique<IoThread>("admin", 0, -1);
  if (Status status = admin_thread_->start(); !status.is_ok()) return status;
  Status groups = open_consumer_offsets();
  if (!groups.is_ok()) return groups;
  for (int i = 0; i < config_.io_threads; ++i) {
    schedule_offset_expiry(i);
    schedule_maintenance(i);
  }
  // The metrics endpoint binds before the Kafka listener, so a taken metrics address fails the
  // start before any client could connect; it answers only once serving_ is set.
  Status metrics_started = start_metrics();
  if (!metrics_started.is_ok()) return metrics_started;
  for (int i = 0; i < config_.network_threads; ++i) {
    net::NetworkThreadConfig thread_config;
    thread_config.listener = config_.listeners.at(0);
    if (i > 0) thread_config.listener.port = network_threads_[0]->bound_port();  // port 0: share the chosen one
    thread_config.cpu = config_.network_cpus.empty()
                            ? -1
                            : config_.network_cpus[static_cast<std::size_t>(i) % config_.network_cpus.size()];
    thread_config.limits.request_bytes_max = config_.request_bytes_max;
    thread_config.limits.requests_inflight_max = static_cast<std::uint32_t>(config_.connection_requests_inflight_max);
    // The config parser accepted only names that parse_file_transfer knows.
    const std::optional<FileTransfer> file_transfer = parse_file_transfer(config_.fetch_transfer);
    SLUICE_ASSERT(file_transfer.has_value(), "fetch.transfer='%s'", config_.fetch_transfer.c_str());
    thread_config.limits.file_transfer = *file_transfer;
    thread_config.limits.file_chunk_bytes = static_cast<std::uint32_t>(config_.fetch_send_chunk_bytes);
    thread_config.defer_taskrun = config_.network_defer_taskrun;
    thread_config.socket_send_buffer_bytes = config_.socket_send_buffer_bytes;
    thread_config.socket_receive_buffer_bytes = config_.socket_receive_buffer_bytes;
    thread_config.recv_buffer_count = static_cast<std::uint32_t>(config_.network_recv_buffers);
    thread_config.recv_buffer_bytes = static_cast<std::uint32_t>(config_.network_recv_buffer_bytes);
    thread_config.connections_max = static_cast<std::uint32_t>(config_.connections_max / config_.network_threads + 1);
    network_states_.push_back(std::make_unique<NetworkState>());
    network_threads_.push_back(std::make_unique<net::NetworkThread>(i, thread_config, *this, memory_budget_));
    Status status = network_threads_.back()->start();
    if (!status.is_ok()) return status;
  }
  cleaner_ = std::make_unique<LogCleaner>(config_, *registry_, io_threads_, log_dir_);
  if (Status cleaner_started = cleaner_->start(); !cleaner_started.is_ok()) return cleaner_started;
  apply_dynamic_cleaner_configs();
  started_ = true;
  serving_.store(true, std::memory_order_release);
  auto [host, port] = advertised_endpoint();
  LOG_INFO("ready", "listener=%s:%u advertised=%s:%d network_threads=%d io_threads=%d",
           config_.listeners[0].host.c_str(), bound_port(), host.c_str(), port, config_.network_threads,
           config_.io_threads);
  return Status::ok();
}

std::vector<std::pair<std::string, io::EventLoop*>> Broker::event_loops() {
  std::vector<std::pair<std::string, io::EventLoop*>> loops;
  for (auto& thread : network_threads_) loops.emplace_back("network-" + std::to_string(thread->index()), &thread->loop());
  for (auto& thread : io_threads_) loops.emplace_back("io-" + std::to_string(thread->index()), &thread->loop());
  for (auto& thread : fetch_threads_) loops.emplace_back("fetch-" + std::to_string(thread->index()), &thread->loop());
  return loops;
}

std::uint16_t Broker::bound_port() const {
  return network_threads_.empty() ? 0 : network_threads_[0]->bound_port();
}

std::pair<std::string, std::int32_t> Broker::advertised_endpoint() const {
  if (!config_.advertised_listeners.empty()) {
    const auto& advertised = config_.advertised_listeners[0];
    return {advertised.host, advertised.port == 0 ? bound_port() : advertised.port};
  }
  std::string host = config_.listeners[0].host;
  if (host.empty() || host == "0.0.0.0" || host == "::") {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    host = name;
  }
  return {host, bound_port()};
}

void Broker::stop() {
  if (!started_) return;
  started_ = false;
  if (metrics_server_) metrics_server_->stop();  // a scrape posts to the threads stopped below
  // Drain first: no new connections or requests, answer what was read (parked fetches at once),
  // bounded so a client that stops reading its answers cannot hold the stop.
  stopping_.store(true, std::memory_order_release);
  for (std::size_t i = 0; i < network_threads_.size(); ++i) {
    network_threads_[i]->begin_drain();
    network_threads_[i]->loop().post([this, i] { answer_parked_fetches(static_cast<int>(i)); });
  }
  const std::int64_t drain_deadline = monotonic_ms() + kDrainMs;
  auto all_drained = [this] {
    for (auto& thread : network_threads_)
      if (!thread->drained()) return false;
    return true;
  };
  while (!all_drained() && monotonic_ms() < drain_deadline) usleep(1000);
  if (!all_drained()) LOG_WARN("drain_incomplete", "waited_ms=%lld", static_cast<long long>(kDrainMs));
  for (auto& thread : network_threads_) thread->stop_and_join();
  for (auto& thread : fetch_threads_) thread->stop_and_join();
  // A topic creation in progress finishes first (its partitions are in the registry when the
  // logs are closed below); one still queued is dropped with its connection's answer.
  if (admin_thread_) admin_thread_->stop_and_join();
  if (cleaner_) cleaner_->stop();  // cancels a clean in flight: the logs close next
  // Each log is closed by its owner thread, so no append can race the close; the threads close
  // their logs at the same time. The closes fsync nothing: one syncfs of the log dir's file system
  // after them makes every log's data, trimmed indexes and producer snapshot durable at once (10,000
  // partitions took 10-26 s with five fsyncs each). Opened before the closes, the descriptor sees
  // every write-back error they cause. Only then do the recovery points move to the log ends.
  storage::UniqueFd log_dir_fd(storage::file_io().open(log_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto topics = registry_->snapshot();
  std::atomic<int> closing{static_cast<int>(io_threads_.size())};
  std::atomic<bool> all_ok{true};
  // The logs each I/O thread closed without error (its own slot; read after it stopped).
  std::vector<std::vector<storage::Log*>> closed_logs(io_threads_.size());
  for (auto& io_thread : io_threads_) {
    io_thread->loop().post([&, index = io_thread->index()] {
      for (const auto& [name, topic] : topics->by_name) {
        for (const auto& partition : topic->partitions) {
          if (partition->io_thread != index) continue;
          Status closed = partition->log->close(true, storage::Durability::by_caller);
          if (!closed.is_ok()) {
            LOG_ERROR("log_close_failed", "topic=%s partition=%d error=\"%s\"", name.c_str(), partition->index,
                      closed.to_string().c_str());
            all_ok.store(false);
          } else {
            closed_logs[static_cast<std::size_t>(index)].push_back(partition->log.get());
          }
        }
      }
      closing.fetch_sub(1);
    });
  }
  while (closing.load() > 0) usleep(1000);
  for (auto& io_thread : io_threads_) io_thread->stop_and_join();
  bool all_closed = all_ok.load();
  if (log_dir_fd.get() < 0 || storage::file_io().syncfs(log_dir_fd.get()) != 0) {
    // Without the sync nothing of the closes is trusted: no marker, the recovery points stay.
    LOG_ERROR("log_dir_sync_failed", "dir=%s errno=%d", log_dir_.c_str(), errno);
    all_closed = false;
  } else {
    for (const auto& logs : closed_logs)
      for (storage::Log* log : logs) log->mark_durable_to_end();
  }
  Status written = write_checkpoints();
  if (written.is_ok() && all_closed) {
    Status marked = storage::create_clean_shutdown_marker(log_dir_);
    if (!marked.is_ok()) LOG_ERROR("clean_shutdown_marker", "error=\"%s\"", marked.to_string().c_str());
  } else if (!written.is_ok()) {
    LOG_ERROR("checkpoint_failed", "error=\"%s\"", written.to_string().c_str());
  }
  LOG_INFO("stopped", "clean=%s", written.is_ok() && all_closed ? "true" : "false");
  if (injected_file_io_) storage::set_file_io(nullptr);
}

Status Broker::write_checkpoints() {
  storage::OffsetCheckpoint recovery, replication, log_start;
  auto topics = registry_->snapshot();
  for (const auto& [name, topic] : topics->by_name) {
    for (const auto& partition : topic->partitions) {
      storage::TopicPartition key{name, partition->index};
      recovery[key] = partition->log->recovery_point();
      replication[key] = partition->log->high_watermark();
      log_start[key] = partition->log->log_start_offset();
    }
  }
  Status status = storage::write_offset_checkpoint(log_dir_ / storage::recovery_point_checkpoint_file, recovery);
  if (!status.is_ok()) return status;
  status = storage::write_offset_checkpoint(log_dir_ / storage::replication_offset_checkpoint_file, replication);
  if (!status.is_ok()) return status;
  status = storage::write_offset_checkpoint(log_dir_ / storage::log_start_offset_checkpoint_file, log_start);
  if (!status.is_ok()) return status;
  if (!std::filesystem::exists(log_dir_ / storage::cleaner_offset_checkpoint_file))
    status = storage::write_offset_checkpoint(log_dir_ / storage::cleaner_offset_checkpoint_file, {});
  return status;
}

void Broker::reserve(RequestContext& request) {
  SLUICE_ASSERT(!request.has_slot);
  request.slot = request.connection->reserve_response();
  request.has_slot = true;
}

void Broker::on_request(const std::shared_ptr<net::Connection>& connection, net::RequestFrame frame) {
  auto request = std::make_shared<RequestContext>();
  request->connection = connection;
  request->frame = std::move(frame.bytes);
  request->reservation = std::move(frame.reservation);
  request->received_ns = monotonic_ns();
  request->received_ms = request->received_ns / 1000000;
  protocol::Reader reader(request->frame.data(), request->frame.size());
  if (!protocol::decode_request_header_prefix(reader, request->header)) return connection->close("short header");
  const auto& header = request->header;
  request->api = protocol::find_api(header.api_key);
  if (request->api == nullptr) {
    LOG_WARN("unsupported_api", "api_key=%d version=%d", header.api_key, header.api_version);
    return connection->close("unsupported api key");
  }
  metrics::local().requests[static_cast<std::size_t>(metrics::api_key_slot(header.api_key))].add(1);
  if (header.api_version < request->api->version_min || header.api_version > request->api->version_max) {
    // ApiVersions answers any version (with UNSUPPORTED_VERSION and our ranges); every other API
    // closes the connection, as Kafka does.
    if (request->api->api_key == protocol::ApiKey::api_versions) return handle_api_versions_unsupported(request);
    LOG_WARN("unsupported_version", "api_key=%d version=%d", header.api_key, header.api_version);
    return connection->close("unsupported api version");
  }
  if (!protocol::decode_request_header_rest(reader, request->header,
                                            protocol::request_header_flexible(*request->api, header.api_version)))
    return connection->close("bad request header");
  request->body_offset = reader.position();
  // Read-your-writes on one connection: while a produce is being appended, later requests other
  // than produces wait for it (produces themselves stay in order on the partitions' I/O threads).
  bool is_write = request->api->api_key == protocol::ApiKey::produce;
  if (!connection->deferred.empty() || (!is_write && connection->writes_inflight > 0)) {
    connection->deferred.push_back({is_write, [this, request] { dispatch(request); }});
    return;
  }
  dispatch(request);
}

void Broker::write_done(net::Connection& connection) {
  SLUICE_ASSERT(connection.writes_inflight > 0);
  --connection.writes_inflight;
  connection.run_deferred();
}

void Broker::dispatch(const RequestPtr& request) {
  const auto& header = request->header;
  auto& connection = request->connection;
  if (connection->closed()) return;
  using protocol::ApiKey;
  switch (request->api->api_key) {
    case ApiKey::api_versions: return handle_api_versions(request);
    case ApiKey::metadata: return handle_metadata(request);
    case ApiKey::produce: return handle_produce(request);
    case ApiKey::fetch: return handle_fetch(request);
    case ApiKey::list_offsets: return handle_list_offsets(request);
    case ApiKey::offset_for_leader_epoch: return handle_offset_for_leader_epoch(request);
    case ApiKey::create_topics: return handle_create_topics(request);
    case ApiKey::delete_topics: return handle_delete_topics(request);
    case ApiKey::describe_cluster: return handle_describe_cluster(request);
    case ApiKey::find_coordinator: return handle_find_coordinator(request);
    case ApiKey::init_producer_id: return handle_init_producer_id(request);
    case ApiKey::join_group: return handle_join_group(request);
    case ApiKey::sync_group: return handle_sync_group(request);
    case ApiKey::heartbeat: return handle_heartbeat(request);
    case ApiKey::leave_group: return handle_leave_group(request);
    case ApiKey::offset_commit: return handle_offset_commit(request);
    case ApiKey::offset_fetch: return handle_offset_fetch(request);
    case ApiKey::list_groups: return handle_list_groups(request);
    case ApiKey::describe_groups: return handle_describe_groups(request);
    case ApiKey::delete_groups: return handle_delete_groups(request);
    case ApiKey::offset_delete: return handle_offset_delete(request);
    case ApiKey::describe_configs: return handle_describe_configs(request);
    case ApiKey::alter_configs: return handle_alter_configs(request);
    case ApiKey::incremental_alter_configs: return handle_incremental_alter_configs(request);
    case ApiKey::create_partitions: return handle_create_partitions(request);
    case ApiKey::delete_records: return handle_delete_records(request);
    case ApiKey::describe_log_dirs: return handle_describe_log_dirs(request);
    default: break;
  }
  LOG_WARN("unsupported_api", "api_key=%d version=%d", header.api_key, header.api_version);
  connection->close("api not served");
}

}  // namespace sluice::broker
