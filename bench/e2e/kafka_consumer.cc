#include "kafka_consumer.h"

#include <unistd.h>

#include "base/assert.h"
#include "base/endian.h"
#include "batch_maker.h"
#include "perf_io.h"
#include "perf_options.h"
#include "protocol/codec.h"
#include "protocol/fetch.h"
#include "protocol/record_batch.h"

namespace sluice::perf {
namespace {

constexpr std::int16_t fetch_version = 11;  // the newest non-flexible version: header v1
// The receive buffer: as the raw file->socket receiver's 1 MiB, plus room for a batch that
// straddles its end.
constexpr std::size_t stream_buffer_bytes = (1 << 20) + (256 << 10);

struct PartitionState {
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t end;  // -1: none
};

std::vector<std::byte> fetch_frame(const ConsumerConfig& config, const std::vector<PartitionState>& states,
                                   std::int32_t correlation_id) {
  protocol::FetchRequest request;
  request.max_wait_ms = config.max_wait_ms;
  request.min_bytes = config.min_bytes;
  request.max_bytes = config.max_bytes;
  request.topics.resize(1);
  request.topics[0].topic = config.topic;
  for (const PartitionState& state : states) {
    if (state.end >= 0 && state.offset >= state.end) continue;
    protocol::FetchRequest::Partition partition;
    partition.partition = state.partition;
    partition.fetch_offset = state.offset;
    partition.partition_max_bytes = config.partition_max_bytes;
    request.topics[0].partitions.push_back(partition);
  }
  protocol::Writer w;
  w.buffer().reserve(256 + config.topic.size() + 32 * states.size());
  w.put_i32(0);
  w.put_i16(1);  // api key: Fetch
  w.put_i16(fetch_version);
  w.put_i32(correlation_id);
  w.put_i16(11);
  w.put_bytes("sluice-perf", 11);
  protocol::encode(w, request, fetch_version);
  store_be32(w.buffer().data(), static_cast<std::uint32_t>(w.size() - 4));
  return std::move(w.buffer());
}

// One batch of a partition's records at `batch` (whole, already received at received_ns): counts it
// when it is at or after the fetch offset and inside the window. Returns the offset after it.
std::int64_t take_batch(std::span<const std::byte> batch, const RecordBatchHeader& header, std::int64_t next,
                        bool counting, const ConsumerConfig& config, std::int64_t received_ns, ConsumerResult* result) {
  if (header.last_offset() < next) return next;  // before the fetch offset
  if (config.check_crc && compute_record_batch_crc(batch.data(), batch.size()) != header.crc) result->crc_errors++;
  std::int64_t first = std::max(header.base_offset, next);
  auto records_in = static_cast<std::uint64_t>(header.last_offset() - first + 1);
  next = header.last_offset() + 1;
  if (!counting) return next;
  result->records += records_in;
  result->batches += 1;
  result->batch_bytes += batch.size();
  result->last_batch_ns = received_ns;
  std::int64_t stamp_ns;
  if (read_stamp(batch, &stamp_ns)) result->e2e_latency.record(received_ns - stamp_ns, records_in);
  return next;
}

// Reads one Fetch v11 response from the stream as it arrives, batch by batch, through the
// stream's reused buffer (never the whole response at once): the fixed fields are read one by one,
// each partition's records are walked by their batch headers, and a cut batch at the end of a
// partition's records is skipped. Each batch's arrival time is taken when it is whole. Fails the
// process when the response is not one Fetch v11 response of its size for this correlation id.
void read_fetch_response(StreamReader& stream, std::int32_t correlation_id, const ConsumerConfig& config,
                         std::vector<PartitionState>& states, ConsumerResult* result) {
  std::int32_t size = stream.get_i32();
  if (size < 4 || size > config.max_bytes + (16 << 20)) fail("fetch response of %d bytes", size);
  std::uint64_t frame_end = stream.position() + static_cast<std::uint64_t>(size);
  if (stream.get_i32() != correlation_id) fail("fetch response for another correlation id");
  stream.get_i32();  // throttle_time_ms
  std::int16_t error = stream.get_i16();
  if (error != 0) fail("fetch response error %d", error);
  stream.get_i32();  // session_id
  std::int32_t topics = stream.get_i32();
  for (std::int32_t t = 0; t < topics; ++t) {
    std::int16_t name_bytes = stream.get_i16();
    stream.skip(static_cast<std::uint64_t>(std::max<std::int16_t>(name_bytes, 0)));
    std::int32_t partitions = stream.get_i32();
    for (std::int32_t i = 0; i < partitions; ++i) {
      std::int32_t index = stream.get_i32();
      std::int16_t partition_error = stream.get_i16();
      stream.skip(3 * 8);  // high watermark, last stable offset, log start offset
      std::int32_t aborted = stream.get_i32();
      if (aborted > 0) stream.skip(static_cast<std::uint64_t>(aborted) * 16);
      stream.get_i32();  // preferred_read_replica
      std::int32_t records_bytes = stream.get_i32();
      auto left = static_cast<std::uint64_t>(std::max<std::int32_t>(records_bytes, 0));
      if (stream.position() + left > frame_end) fail("fetch response does not parse");
      PartitionState* state = nullptr;
      for (PartitionState& s : states)
        if (s.partition == index) state = &s;
      if (partition_error != 0 || state == nullptr) {
        if (partition_error != 0) {
          result->errors++;
          if (result->first_error == 0) result->first_error = partition_error;
        }
        stream.skip(left);
        continue;
      }
      while (left >= record_batch_header_bytes) {
        RecordBatchHeader header = parse_record_batch_header(stream.peek(record_batch_header_bytes));
        auto bytes = static_cast<std::uint64_t>(header.batch_bytes());
        if (header.batch_length <= 0 || bytes > left) break;  // a cut tail
        const std::byte* batch = stream.peek(static_cast<std::size_t>(bytes));
        std::int64_t received = now_ns();
        bool counting = received >= config.measure_start_ns && received < config.measure_end_ns;
        state->offset = take_batch({batch, static_cast<std::size_t>(bytes)}, header, state->offset, counting, config,
                                   received, result);
        stream.consume(static_cast<std::size_t>(bytes));
        left -= bytes;
      }
      stream.skip(left);
    }
  }
  if (stream.position() != frame_end) fail("fetch response does not parse");
}

}  // namespace

void run_consumer(const ConsumerConfig& config, ConsumerResult* result) {
  SLUICE_ASSERT(!config.partitions.empty());
  SLUICE_ASSERT(config.start_offsets.size() == config.partitions.size());
  pin_thread(config.cpu);
  std::vector<PartitionState> states;
  for (std::size_t i = 0; i < config.partitions.size(); ++i)
    states.push_back({config.partitions[i], config.start_offsets[i],
                      config.end_offsets.empty() ? -1 : config.end_offsets[i]});
  int fd = connect_tcp(config.host, config.port, config.timeout_ms);
  StreamReader stream(fd, stream_buffer_bytes);
  sleep_until_ns(config.start_ns);
  result->first_fetch_ns = now_ns();
  std::int32_t correlation_id = 0;
  for (;;) {
    bool all_done = !config.end_offsets.empty();
    for (const PartitionState& s : states) all_done = all_done && s.offset >= s.end;
    if (all_done) {
      result->reached_end = true;
      break;
    }
    if (now_ns() >= config.stop_ns) break;
    std::vector<std::byte> frame = fetch_frame(config, states, ++correlation_id);
    send_all(fd, frame.data(), frame.size());
    std::uint64_t before = result->batches;
    read_fetch_response(stream, correlation_id, config, states, result);
    result->fetches++;
    if (result->batches == before) result->empty_fetches++;
  }
  close(fd);
}

}  // namespace sluice::perf
