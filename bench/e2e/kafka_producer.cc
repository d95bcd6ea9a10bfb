#include "kafka_producer.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "base/assert.h"
#include "base/clock.h"
#include "base/endian.h"
#include "perf_io.h"
#include "perf_options.h"
#include "protocol/codec.h"
#include "protocol/produce.h"

namespace sluice::perf {
namespace {

constexpr std::int16_t produce_version = 8;  // the newest non-flexible version: header v1
constexpr char client_id[] = "sluice-perf";

// The bytes of a Produce v8 request up to the records, with the places patched per send.
struct RequestPrefix {
  std::vector<std::byte> bytes;
  std::size_t correlation_at = 0;
  std::size_t partition_at = 0;
  std::size_t records_length_at = 0;
};

RequestPrefix build_prefix(const std::string& topic, std::int16_t acks, int timeout_ms) {
  protocol::Writer w;
  // Reserving first also keeps GCC 12 from a false -Warray-bounds on the growing vector.
  w.buffer().reserve(128 + topic.size());
  RequestPrefix prefix;
  w.put_i32(0);  // frame size
  w.put_i16(0);  // api key: Produce
  w.put_i16(produce_version);
  prefix.correlation_at = w.size();
  w.put_i32(0);
  w.put_i16(static_cast<std::int16_t>(sizeof client_id - 1));
  w.put_bytes(client_id, sizeof client_id - 1);
  w.put_i16(-1);  // transactional id: null
  w.put_i16(acks);
  w.put_i32(timeout_ms);
  w.put_i32(1);  // one topic
  w.put_i16(static_cast<std::int16_t>(topic.size()));
  w.put_bytes(topic.data(), topic.size());
  w.put_i32(1);  // one partition
  prefix.partition_at = w.size();
  w.put_i32(0);
  prefix.records_length_at = w.size();
  w.put_i32(0);
  prefix.bytes = std::move(w.buffer());
  return prefix;
}

// Sends prefix + batch with one sendmsg where possible (the batch is not copied in user space).
void send_two(int fd, std::span<const std::byte> a, std::span<const std::byte> b) {
  iovec iov[2] = {{const_cast<std::byte*>(a.data()), a.size()}, {const_cast<std::byte*>(b.data()), b.size()}};
  std::size_t left = a.size() + b.size();
  int first = 0;
  while (left > 0) {
    msghdr message{};
    message.msg_iov = iov + first;
    message.msg_iovlen = static_cast<std::size_t>(2 - first);
    ssize_t n = sendmsg(fd, &message, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("send produce: %s", n == 0 ? "no progress" : std::strerror(errno));
    left -= static_cast<std::size_t>(n);
    auto sent = static_cast<std::size_t>(n);
    while (sent > 0 && first < 2) {
      std::size_t take = std::min(sent, iov[first].iov_len);
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + take;
      iov[first].iov_len -= take;
      sent -= take;
      if (iov[first].iov_len == 0) ++first;
    }
  }
}

struct InFlight {
  std::int32_t correlation_id;
  std::int64_t due_ns;
  std::uint64_t records;
  std::uint64_t payload_bytes;
  std::uint64_t batch_bytes;
};

// Decodes one Produce v8 response; returns the first non-zero partition error code (0 if none)
// and counts the partitions with errors.
std::int16_t response_error(std::span<std::byte> frame, std::int32_t expected_id, std::uint64_t* errors) {
  protocol::Reader reader(frame.data(), frame.size());
  std::int32_t correlation_id = reader.get_i32();
  if (correlation_id != expected_id) fail("produce response for correlation id %d, expected %d", correlation_id, expected_id);
  protocol::ProduceResponse response;
  if (!protocol::decode(reader, response, produce_version)) fail("produce response does not parse");
  std::int16_t first = 0;
  for (const auto& topic : response.topics)
    for (const auto& partition : topic.partitions)
      if (partition.error_code != 0) {
        ++*errors;
        if (first == 0) first = partition.error_code;
      }
  return first;
}

}  // namespace

void run_producer(const ProducerConfig& config, ProducerResult* result) {
  SLUICE_ASSERT(!config.partitions.empty());
  SLUICE_ASSERT(config.window >= 1);
  pin_thread(config.cpu);
  BatchShape shape = config.shape;
  shape.partitions = config.partition_count;
  BatchMaker maker(shape, config.seed);
  RequestPrefix prefix = build_prefix(config.topic, config.acks, config.timeout_ms);
  int fd = connect_tcp(config.host, config.port, config.timeout_ms);
  FrameReader reader(fd, 1 << 20);
  std::vector<InFlight> ring(static_cast<std::size_t>(config.window));
  std::size_t ring_head = 0, in_flight = 0;
  std::int32_t correlation_id = 0;
  std::size_t partition_cursor = 0;
  const std::int64_t interval_ns =
      config.batches_per_s > 0 ? static_cast<std::int64_t>(1e9 / config.batches_per_s) : 0;
  std::int64_t next_due_ns = config.start_ns;
  sleep_until_ns(config.start_ns);

  auto send_one = [&](std::int64_t due_ns) {
    std::int32_t partition = config.partitions[partition_cursor++ % config.partitions.size()];
    std::span<const std::byte> batch = maker.next(static_cast<std::uint32_t>(partition), due_ns, sluice::wall_ms());
    std::byte* p = prefix.bytes.data();
    ++correlation_id;
    store_be32(p, static_cast<std::uint32_t>(prefix.bytes.size() - 4 + batch.size()));
    store_be32(p + prefix.correlation_at, static_cast<std::uint32_t>(correlation_id));
    store_be32(p + prefix.partition_at, static_cast<std::uint32_t>(partition));
    store_be32(p + prefix.records_length_at, static_cast<std::uint32_t>(batch.size()));
    send_two(fd, prefix.bytes, batch);
    return InFlight{correlation_id, due_ns, static_cast<std::uint64_t>(shape.record_count), maker.payload_bytes(),
                    batch.size()};
  };
  auto count = [&](const InFlight& sent) {
    result->records += sent.records;
    result->batches += 1;
    result->payload_bytes += sent.payload_bytes;
    result->batch_bytes += sent.batch_bytes;
  };

  for (;;) {
    std::int64_t now = now_ns();
    bool sending = now < config.measure_end_ns;
    while (sending && in_flight < ring.size() && (interval_ns == 0 || next_due_ns <= now)) {
      std::int64_t due = interval_ns ? next_due_ns : now;
      if (interval_ns && now - due > 1000000) result->late_batches += 1;
      InFlight sent = send_one(due);
      next_due_ns += interval_ns;
      if (config.acks == 0) {
        if (now >= config.measure_start_ns) count(sent);
      } else {
        ring[(ring_head + in_flight) % ring.size()] = sent;
        ++in_flight;
      }
      now = now_ns();
      sending = now < config.measure_end_ns;
    }
    if (config.acks == 0 || in_flight == 0) {
      if (!sending) break;
      if (interval_ns) sleep_until_ns(std::min(next_due_ns, config.measure_end_ns));
      continue;
    }
    if (sending && interval_ns && in_flight < ring.size() && !reader.frame_buffered()) {
      // Wait for a response, but no longer than the next batch's due time.
      // ppoll's nanosecond timeout: a millisecond poll would round short waits to 0 and spin,
      // taking the CPU from a consumer thread on the same core.
      pollfd pfd{fd, POLLIN, 0};
      std::int64_t wait_ns = std::max<std::int64_t>(std::min(next_due_ns, config.measure_end_ns) - now, 0);
      timespec timeout{static_cast<time_t>(wait_ns / 1000000000), static_cast<long>(wait_ns % 1000000000)};
      if (ppoll(&pfd, 1, &timeout, nullptr) <= 0) continue;
    }
    std::span<std::byte> frame = reader.next();
    std::int64_t received = now_ns();
    const InFlight& sent = ring[ring_head];
    ring_head = (ring_head + 1) % ring.size();
    --in_flight;
    std::int16_t error = response_error(frame, sent.correlation_id, &result->errors);
    if (error != 0 && result->first_error == 0) result->first_error = error;
    if (error == 0 && received >= config.measure_start_ns && received < config.measure_end_ns) {
      count(sent);
      result->latency.record(received - sent.due_ns);
    }
  }
  close(fd);
}

}  // namespace sluice::perf
