// The broker: owns the topic registry, the I/O threads and the network threads, and routes each
// request by API key to its handler (one handler file per API key: <api>_handler.cc).
//
// Threads: start()/stop() from the main thread. on_request() and every handler run on the network
// thread that owns the connection; appends run on the partition's I/O thread and their results
// travel back to the network thread as posted tasks. Responses go out in request order
// (net::Connection keeps that order).
#pragma once

#include <atomic>
#include <filesystem>
#include <list>
#include <memory>
#include <vector>

#include "base/config.h"
#include "broker/group_coordinator.h"
#include "broker/io_thread.h"
#include "broker/topic_registry.h"
#include "metrics/http_server.h"
#include "metrics/topic_counters.h"
#include "net/connection.h"
#include "net/network_thread.h"
#include "protocol/api_keys.h"
#include "protocol/codec.h"
#include "protocol/fetch.h"
#include "protocol/header.h"
#include "storage/file_io.h"
#include "storage/log_dir.h"

namespace sluice::protocol {
struct CreatePartitionsRequest;
struct CreatePartitionsResponse;
struct CreateTopicsRequest;
struct CreateTopicsResponse;
struct MetadataRequest;
struct MetadataResponse;
}  // namespace sluice::protocol

namespace sluice::broker {

// One request on its way through the broker. Owns the frame, so records decoded from it stay valid
// while an I/O thread appends them.
struct RequestContext {
  std::shared_ptr<net::Connection> connection;
  protocol::RequestHeader header;
  const protocol::ApiSupport* api = nullptr;
  std::vector<std::byte> frame;
  net::MemoryBudget::Reservation reservation;  // the frame's bytes in the global budget
  std::size_t body_offset = 0;  // where the body starts in frame
  std::uint64_t slot = 0;
  bool has_slot = false;
  std::int64_t received_ms = 0;
  std::int64_t received_ns = 0;  // monotonic; the request latency histogram starts here
};
using RequestPtr = std::shared_ptr<RequestContext>;

struct ParkedFetch;
class LogCleaner;

// Runs `work` for each partition on its owner I/O thread, then `done` on `network_loop` once all
// are done (admin.cc). Any network thread.
void run_on_owners(std::vector<std::unique_ptr<IoThread>>& io_threads,
                   const std::vector<std::shared_ptr<Partition>>& partitions, io::EventLoop& network_loop,
                   std::function<void(Partition&, IoThread&)> work, std::function<void()> done);

class Broker : public net::RequestHandler {
 public:
  explicit Broker(const Config& config);
  ~Broker() override;

  // Opens the log directory (meta.properties, checkpoints, every partition, recovery after an
  // unclean stop), then starts the I/O and network threads.
  Status start();
  // Stops taking requests, closes every log cleanly, writes the checkpoints and the clean
  // shutdown marker.
  void stop();
  std::uint16_t bound_port() const;
  // The event loops of every network, I/O and fetch thread, named "network-0", "io-1", "fetch-0",
  // for the service watchdog (src/server/service.h). Main thread, between start() and stop().
  std::vector<std::pair<std::string, io::EventLoop*>> event_loops();
  const std::string& cluster_id() const { return meta_.cluster_id; }

  void on_request(const std::shared_ptr<net::Connection>& connection, net::RequestFrame frame) override;

 private:
  // Decodes the body of `request` as Message; closes the connection when it does not parse.
  template <class Message>
  bool decode_body(RequestContext& request, Message& message);
  // Encodes and sends a response in the request's slot.
  template <class Response>
  void respond(RequestContext& request, const Response& response);
  // Runs `work` on `worker` (the admin thread's or a fetch thread's loop), then answers the request
  // with the response it returned, on the request's network thread (no answer when the
  // connection closed meanwhile). `work` is copyable and touches only what `worker`'s thread may.
  // Call after reserve().
  template <class Work>
  void respond_after(io::EventLoop& worker, const RequestPtr& request, Work work);
  void reserve(RequestContext& request);
  void dispatch(const RequestPtr& request);
  // A produce that went to the I/O threads has finished on this connection.
  void write_done(net::Connection& connection);

  void handle_api_versions(const RequestPtr& request);
  void handle_api_versions_unsupported(const RequestPtr& request);
  void handle_metadata(const RequestPtr& request);
  // The Metadata answer, creating the unknown topics it may create (auto.create.topics.enable).
  protocol::MetadataResponse metadata(const protocol::MetadataRequest& body, std::int16_t version);
  // Whether a Metadata request may create the topics it names: the broker allows it and so does
  // the request (v4+ says so in allow_auto_topic_creation; earlier versions always may).
  bool may_auto_create(const protocol::MetadataRequest& body, std::int16_t version) const;
  void handle_produce(const RequestPtr& request);
  void handle_fetch(const RequestPtr& request);
  void handle_list_offsets(const RequestPtr& request);
  void handle_offset_for_leader_epoch(const RequestPtr& request);
  void handle_create_topics(const RequestPtr& request);
  // The work of CreateTopics / CreatePartitions, on the admin thread.
  protocol::CreateTopicsResponse create_topics(const protocol::CreateTopicsRequest& body);
  protocol::CreatePartitionsResponse create_partitions(const protocol::CreatePartitionsRequest& body);
  void handle_delete_topics(const RequestPtr& request);
  void handle_describe_cluster(const RequestPtr& request);
  void handle_find_coordinator(const RequestPtr& request);
  void handle_init_producer_id(const RequestPtr& request);
  void handle_join_group(const RequestPtr& request);
  void handle_sync_group(const RequestPtr& request);
  void handle_heartbeat(const RequestPtr& request);
  void handle_leave_group(const RequestPtr& request);
  void handle_offset_commit(const RequestPtr& request);
  void handle_offset_fetch(const RequestPtr& request);
  void handle_list_groups(const RequestPtr& request);
  void handle_describe_groups(const RequestPtr& request);
  void handle_delete_groups(const RequestPtr& request);
  void handle_offset_delete(const RequestPtr& request);
  void handle_describe_configs(const RequestPtr& request);
  void handle_alter_configs(const RequestPtr& request);
  void handle_incremental_alter_configs(const RequestPtr& request);
  void handle_create_partitions(const RequestPtr& request);
  void handle_delete_records(const RequestPtr& request);
  void handle_describe_log_dirs(const RequestPtr& request);

  // Config changes shared by AlterConfigs and IncrementalAlterConfigs (config_changes.cc): each
  // sets the full new config map of one resource, then runs `done(error, message)` on this network
  // thread once the partitions run with it.
  using ChangeDone = std::function<void(ErrorCode, std::string)>;
  // The cleaner's throttle and pace from the run-time broker configs over the properties file.
  void apply_dynamic_cleaner_configs();
  void change_topic_configs(const RequestPtr& request, const std::string& topic,
                            const std::map<std::string, std::string>& configs, bool validate_only, ChangeDone done);
  void change_broker_configs(const RequestPtr& request, const std::string& broker,
                             const std::map<std::string, std::string>& configs, bool validate_only, ChangeDone done);

  // Consumer groups (group_runtime.cc). A group lives on the I/O thread that owns its
  // __consumer_offsets partition; `work` runs there, and answers travel back with on_network().
  void with_coordinator(const std::string& group_id, std::function<void(GroupCoordinator&)> work);
  void on_network(const RequestPtr& request, std::function<void()> work);
  // Runs `work` once on every coordinator (each on its own I/O thread); returns how many.
  std::size_t on_every_coordinator(const std::function<void(GroupCoordinator&)>& work);
  Status open_consumer_offsets();
  Status load_consumer_offsets(const Partition& partition);
  // Appends the broker's own records to a partition. Owner I/O thread only. `done` runs on that
  // thread once the records are written and, in durable mode, synced (as a produce with acks=all);
  // with kafka_storage_error when either fails.
  void append_internal(Partition& partition, const std::vector<GroupEnvironment::Record>& records,
                       std::function<void(ErrorCode)> done);
  void schedule_offset_expiry(int io_thread);

  // Cold reads (fetch_handler.cc): when a response's file ranges are not in the page cache, a
  // fetch thread reads them in (readahead, then waits on the pages) and the network thread sends
  // the response after, so a catch-up reader never stalls the other connections on the disk.
  void respond_fetch(const RequestPtr& request, protocol::FetchResponse response);

  // Fetch purgatory (fetch_handler.cc), per network thread.
  bool try_complete_fetch(ParkedFetch& fetch, bool deadline_passed);
  void park_fetch(std::shared_ptr<ParkedFetch> fetch);
  void wake_fetches(int network_thread);
  void notify_fetch_waiters(Partition& partition);
  // Stopping: answers every fetch parked on this network thread now, with what there is.
  void answer_parked_fetches(int network_thread);

  // The host and port this broker advertises in Metadata and FindCoordinator.
  std::pair<std::string, std::int32_t> advertised_endpoint() const;
  Status write_checkpoints();
  // Metrics (broker_metrics.cc): starts the HTTP endpoint when metrics.listener is set, and
  // renders one scrape on the endpoint's thread.
  Status start_metrics();
  std::string render_metrics();

  // Admin work on the partitions' owner I/O threads (admin.cc). Each runs `done` on the calling
  // network thread once every partition of the topic is handled.
  void apply_topic_settings(const RequestPtr& request, std::shared_ptr<const Topic> topic, TopicSettings settings,
                            std::function<void()> done);
  void delete_topic_files(const RequestPtr& request, std::shared_ptr<const Topic> topic, std::function<void()> done);

  // Housekeeping on each I/O thread (maintenance.cc): flush.ms flushes, producer-id expiry, and
  // (on I/O thread 0) the periodic offset checkpoints, each on its own repeating timer.
  void schedule_maintenance(int io_thread);
  void run_flush_policy(int io_thread);
  void expire_producers(int io_thread);
  void enforce_retention(int io_thread);
  void checkpoint_periodically();

  Config config_;
  std::filesystem::path log_dir_;
  storage::MetaProperties meta_;
  std::unique_ptr<TopicRegistry> registry_;
  net::MemoryBudget memory_budget_;
  std::vector<std::unique_ptr<IoThread>> io_threads_;
  std::vector<std::unique_ptr<IoThread>> fetch_threads_;  // run only cold-read prefetches
  // Runs the requests that create many files (CreateTopics, CreatePartitions), one at a time, so
  // no network thread waits on the disk for them (10,000 partitions take ~20 s here). Left out of
  // event_loops(): its tasks are long by nature, and the service watchdog must not count them as
  // a stuck loop.
  std::unique_ptr<IoThread> admin_thread_;
  std::atomic<std::uint32_t> next_fetch_thread_{0};
  std::atomic<std::uint64_t> cold_reads_{0};
  std::vector<std::unique_ptr<net::NetworkThread>> network_threads_;
  struct NetworkState {
    std::list<std::shared_ptr<ParkedFetch>> parked;
    bool wake_posted = false;
    metrics::TopicCounters bytes_out;  // fetched record bytes by topic, counted by this thread
  };
  std::vector<std::unique_ptr<NetworkState>> network_states_;
  std::atomic<std::int64_t> next_producer_id_{0};
  class GroupRuntime;
  std::vector<std::unique_ptr<GroupRuntime>> group_runtimes_;  // one per I/O thread
  std::shared_ptr<const Topic> consumer_offsets_;
  bool started_ = false;
  std::atomic<bool> stopping_{false};  // a clean stop has begun: fetches are not parked
  std::atomic<bool> serving_{false};   // start() finished: the thread vectors are fixed (metrics)
  std::unique_ptr<storage::FileIo> injected_file_io_;  // storage.faults (tests)
  std::unique_ptr<LogCleaner> cleaner_;  // compaction (log_cleaner.h)
  // The Prometheus endpoint (broker_metrics.cc): started last, stopped first, so a scrape that
  // posts to the network and I/O threads always finds them running.
  std::unique_ptr<metrics::HttpServer> metrics_server_;
};

}  // namespace sluice::broker
