// Produce: validate each partition's batch on the network thread (CRC, sizes, counts; never
// decompressing), hand the appends to the partitions' I/O threads, answer when all are done.
// The one exception to "never decompressing", as in Kafka: a batch for a compacted topic is read
// on its I/O thread to refuse records without a key (they could never be compacted).
#include <map>
#include <optional>

#include "base/clock.h"
#include "broker/respond.h"
#include "metrics/cells.h"
#include "protocol/compression.h"
#include "protocol/produce.h"
#include "protocol/record_batch.h"
#include "protocol/records.h"

namespace sluice::broker {
namespace {

struct AppendItem {
  std::shared_ptr<Partition> partition;
  std::span<std::byte> batch;
  protocol::ProduceResponse::Partition* out;
};

struct ProduceJob {
  RequestPtr request;
  protocol::ProduceRequest body;
  protocol::ProduceResponse response;
  int io_threads_pending = 0;
  bool any_error = false;
};

void set_error(protocol::ProduceResponse::Partition& out, ErrorCode error, std::string message = {}) {
  out.error_code = static_cast<std::int16_t>(error);
  out.base_offset = -1;
  if (!message.empty()) out.error_message = std::move(message);
}

// Kafka's rule for compacted topics: every record needs a key. Reads (and decompresses) the batch.
bool every_record_has_a_key(std::span<const std::byte> batch) {
  const RecordBatchHeader header = parse_record_batch_header(batch.data());
  std::span<const std::byte> area = batch.subspan(record_batch_header_bytes);
  std::vector<std::byte> decompressed;
  if (header.compression() != 0) {
    auto records = decompress_records(header.compression(), area, decompressed_records_bytes_max);
    if (!records.is_ok()) return false;
    decompressed = std::move(records).value();
    area = decompressed;
  }
  bool keyed = true;
  bool parsed = protocol::parse_records(area, header.record_count, [&keyed](const protocol::RecordView& record) {
    keyed = keyed && record.key.has_value();
  });
  return parsed && keyed;
}

// Runs on the partition's I/O thread. Returns the offset the answer must wait to be durable
// below (acks=all in durable mode), or nullopt to answer now.
std::optional<std::int64_t> append_one(AppendItem& item, storage::Flusher& flusher, std::function<void()> on_high_watermark) {
  Partition& partition = *item.partition;
  if (partition.deleted.load(std::memory_order_acquire)) {
    set_error(*item.out, ErrorCode::unknown_topic_or_partition);
    return std::nullopt;
  }
  // Idempotent producers: a retried batch is answered with its original offset and not written
  // again; a stale epoch or a sequence gap is refused (Kafka's ProducerStateManager).
  storage::ProducerStateTable& producers = partition.log->producer_state();
  storage::ProducerCheck check = producers.check(parse_record_batch_header(item.batch.data()));
  if (check.error != ErrorCode::none) {
    set_error(*item.out, check.error);
    return std::nullopt;
  }
  if (check.duplicate_base_offset.has_value()) {
    item.out->base_offset = *check.duplicate_base_offset;
    item.out->log_start_offset = partition.log->log_start_offset();
    // The original may still be on its way to the disk: the retry's answer waits for it too.
    return partition.log->log_end_offset();
  }
  if (partition.settings.cleanup_compact && !every_record_has_a_key(item.batch)) {
    set_error(*item.out, ErrorCode::invalid_record,
              "Compacted topic cannot accept message without key in topic partition " + partition.topic + "-" +
                  std::to_string(partition.index) + ".");
    return std::nullopt;
  }
  std::int64_t now = wall_ms();
  if (partition.settings.log_append_time) {
    set_log_append_time(item.batch.data(), item.batch.size(), now);
    item.out->log_append_time_ms = now;
  }
  auto appended = append_and_commit(partition, flusher, item.batch, now, std::move(on_high_watermark));
  if (!appended.is_ok()) {
    set_error(*item.out, ErrorCode::kafka_storage_error);
    return std::nullopt;
  }
  producers.update(parse_record_batch_header(item.batch.data()));  // the batch now holds its offset
  partition.bytes_in.add(item.batch.size());
  partition.records_in.add(static_cast<std::uint64_t>(appended.value().last_offset - appended.value().base_offset + 1));
  item.out->base_offset = appended.value().base_offset;
  item.out->log_start_offset = appended.value().log_start_offset;
  return appended.value().last_offset + 1;
}

// The checks Kafka makes before an append, for one partition. Returns none and sets *partition
// when the batch may be appended; otherwise the error for this partition.
ErrorCode check_partition(const protocol::ProduceRequest& body, std::int16_t version, const Topic* topic,
                          const protocol::ProduceRequest::Partition& data, std::shared_ptr<Partition>* partition,
                          std::string* message) {
  if (version < protocol::ProduceRequest::version_served_min) return ErrorCode::unsupported_version;
  if (body.acks != 0 && body.acks != 1 && body.acks != -1) return ErrorCode::invalid_required_acks;
  if (body.transactional_id.has_value()) {
    *message = "transactions are not supported yet";
    return ErrorCode::transactional_id_authorization_failed;
  }
  if (topic == nullptr || data.index < 0 || static_cast<std::size_t>(data.index) >= topic->partitions.size())
    return ErrorCode::unknown_topic_or_partition;
  *partition = topic->partitions[static_cast<std::size_t>(data.index)];
  if (data.records.is_null) {
    *message = "null records";
    return ErrorCode::invalid_record;
  }
  BatchesInfo info;
  ErrorCode error = validate_record_batches(data.records.bytes, BatchLimits{(*partition)->message_bytes_max.load(std::memory_order_relaxed)}, &info);
  if (error != ErrorCode::none) return error;
  // zstd arrived with Produce v7 (KIP-110); codecs past zstd do not exist.
  if (info.compression == static_cast<int>(Compression::zstd) && version < 7) return ErrorCode::unsupported_compression_type;
  if (info.compression > static_cast<int>(Compression::zstd)) return ErrorCode::unsupported_compression_type;
  if (info.header.is_transactional() || info.header.is_control()) {
    *message = "transactional batches are not supported yet";
    return ErrorCode::invalid_record;
  }
  return ErrorCode::none;
}

}  // namespace

void Broker::handle_produce(const RequestPtr& request) {
  auto job = std::make_shared<ProduceJob>();
  job->request = request;
  if (!decode_body(*request, job->body)) return;
  if (job->body.acks != 0) reserve(*request);
  // Validate every partition and build the response skeleton; pointers into it stay valid
  // because nothing is added to it afterwards.
  auto& response = job->response;
  response.topics.reserve(job->body.topics.size());
  std::map<int, std::vector<AppendItem>> by_thread;
  for (auto& topic_data : job->body.topics) {
    auto& topic_out = response.topics.emplace_back();
    topic_out.name = topic_data.name;
    topic_out.partitions.resize(topic_data.partitions.size());
    auto topic = registry_->find(topic_data.name);
    for (std::size_t i = 0; i < topic_data.partitions.size(); ++i) {
      auto& data = topic_data.partitions[i];
      auto& out = topic_out.partitions[i];
      out.index = data.index;
      std::shared_ptr<Partition> partition;
      std::string message;
      ErrorCode error = check_partition(job->body, request->header.api_version, topic.get(), data, &partition, &message);
      if (error != ErrorCode::none) {
        set_error(out, error, std::move(message));
        continue;
      }
      by_thread[partition->io_thread].push_back(AppendItem{partition, data.records.bytes, &out});
    }
  }
  auto finish = [this](const std::shared_ptr<ProduceJob>& done) {
    auto& cells = metrics::local();
    for (const auto& topic_out : done->response.topics)
      for (const auto& out : topic_out.partitions)
        if (out.error_code != 0) {
          done->any_error = true;
          cells.produce_errors[static_cast<std::size_t>(metrics::error_code_slot(out.error_code))].add(1);
        }
    if (done->body.acks == 0) {
      // No response can carry an error for acks=0: close the connection, as Kafka does.
      if (done->any_error) done->request->connection->close("acks=0 produce failed");
      return;
    }
    respond(*done->request, done->response);
  };
  if (by_thread.empty()) return finish(job);
  job->io_threads_pending = static_cast<int>(by_thread.size());
  ++request->connection->writes_inflight;
  io::EventLoop& network_loop = request->connection->loop();
  for (auto& [thread, items] : by_thread) {
    IoThread& io_thread = *io_threads_[static_cast<std::size_t>(thread)];
    io_thread.loop().post([this, job, items = std::move(items), &network_loop, finish, &io_thread]() mutable {
      // This thread's part is done when every item is appended and, for acks=all in durable
      // mode, durable; the last one to finish tells the network thread.
      auto waiting = std::make_shared<std::size_t>(1);
      auto one_done = [this, job, waiting, &network_loop, finish] {
        if (--*waiting > 0) return;
        network_loop.post([this, job, finish] {
          if (--job->io_threads_pending > 0) return;
          finish(job);
          write_done(*job->request->connection);
        });
      };
      storage::Flusher& flusher = io_thread.flusher();
      const bool acks_all = job->body.acks == -1;
      for (auto& item : items) {
        auto partition = item.partition;
        auto wait_below = append_one(item, flusher, [this, partition] { notify_fetch_waiters(*partition); });
        if (!acks_all || !wait_below) continue;
        ++*waiting;
        wait_durable(*partition, flusher, *wait_below, [out = item.out, one_done](const Status& status) {
          if (!status.is_ok()) set_error(*out, ErrorCode::kafka_storage_error);
          one_done();
        });
      }
      one_done();
    });
  }
}

}  // namespace sluice::broker
