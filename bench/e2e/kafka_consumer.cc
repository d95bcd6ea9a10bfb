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

// Walks the whole batches of one partition's records; returns the offset after the last one.
std::int64_t walk_batches(std::span<const std::byte> records, std::int64_t fetch_offset, bool counting,
                          const ConsumerConfig& config, std::int64_t received_ns, ConsumerResult* result) {
  std::int64_t next = fetch_offset;
  std::size_t position = 0;
  while (records.size() - position >= record_batch_header_bytes) {
    RecordBatchHeader header = parse_record_batch_header(records.data() + position);
    auto bytes = static_cast<std::size_t>(header.batch_bytes());
    if (header.batch_length <= 0 || bytes > records.size() - position) break;  // a cut tail
    std::span<const std::byte> batch = records.subspan(position, bytes);
    position += bytes;
    if (header.last_offset() < next) continue;  // before the fetch offset
    if (config.check_crc && compute_record_batch_crc(batch.data(), batch.size()) != header.crc) result->crc_errors++;
    std::int64_t first = std::max(header.base_offset, next);
    auto records_in = static_cast<std::uint64_t>(header.last_offset() - first + 1);
    next = header.last_offset() + 1;
    if (!counting) continue;
    result->records += records_in;
    result->batches += 1;
    result->batch_bytes += bytes;
    result->last_batch_ns = received_ns;
    std::int64_t stamp_ns;
    if (read_stamp(batch, &stamp_ns)) result->e2e_latency.record(received_ns - stamp_ns, records_in);
  }
  return next;
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
  FrameReader reader(static_cast<std::size_t>(config.max_bytes) + (16 << 20), 1 << 20);
  reader.preallocate();  // before the start: its first touch is not the broker's time
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
    std::span<std::byte> response_bytes = reader.next(fd);
    std::int64_t received = now_ns();
    bool counting = received >= config.measure_start_ns && received < config.measure_end_ns;
    protocol::Reader r(response_bytes.data(), response_bytes.size());
    if (r.get_i32() != correlation_id) fail("fetch response for another correlation id");
    protocol::FetchResponse response;
    if (!protocol::decode(r, response, fetch_version)) fail("fetch response does not parse");
    result->fetches++;
    std::uint64_t before = result->batches;
    for (const auto& topic : response.responses) {
      for (const auto& partition : topic.partitions) {
        if (partition.error_code != 0) {
          result->errors++;
          if (result->first_error == 0) result->first_error = partition.error_code;
          continue;
        }
        for (PartitionState& state : states) {
          if (state.partition != partition.partition_index) continue;
          state.offset = walk_batches(partition.records.bytes, state.offset, counting, config, received, result);
        }
      }
    }
    if (result->batches == before) result->empty_fetches++;
  }
  close(fd);
}

}  // namespace sluice::perf
