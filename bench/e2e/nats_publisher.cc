// nats-pub (see peers.h). The NATS client protocol is line based: the server greets with INFO, a
// client sends CONNECT, PUB <subject> [reply] <bytes>\r\n<payload>\r\n, SUB <subject> <sid>; the
// server delivers MSG <subject> <sid> [reply] <bytes>\r\n<payload>\r\n and PINGs (answered PONG).
// JetStream is driven through the same protocol: a request to $JS.API.STREAM.CREATE.<name>, and
// a PUB to a stream subject with a reply subject gets {"stream":..,"seq":..} (or an error) there.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "latency_histogram.h"
#include "peers.h"
#include "perf_io.h"
#include "perf_json.h"

namespace sluice::perf {
namespace {

// Reads server messages from a NATS connection, buffered.
class NatsReader {
 public:
  explicit NatsReader(int fd) : fd_(fd), buffer_(1 << 20) {}

  struct Message {
    std::string_view subject;
    std::string_view payload;
  };
  // The next MSG (answering PINGs, skipping INFO/PONG/+OK on the way); fails on -ERR.
  Message next_message() {
    for (;;) {
      std::string_view line = next_line();
      if (line.rfind("MSG ", 0) == 0) return read_payload(line);
      if (line == "PING") {
        send_all(fd_, "PONG\r\n", 6);
      } else if (line.rfind("-ERR", 0) == 0) {
        fail("nats: %.*s", static_cast<int>(line.size()), line.data());
      }
    }
  }
  // Skips lines until one equals `wanted`.
  void wait_line(std::string_view wanted) {
    for (;;) {
      std::string_view line = next_line();
      if (line == wanted) return;
      if (line.rfind("-ERR", 0) == 0) fail("nats: %.*s", static_cast<int>(line.size()), line.data());
    }
  }
  bool buffered() const { return end_ > begin_; }

 private:
  std::string_view next_line() {
    for (;;) {
      const char* start = buffer_.data() + begin_;
      auto* found = static_cast<const char*>(memmem(start, end_ - begin_, "\r\n", 2));
      if (found != nullptr) {
        std::string_view line(start, static_cast<std::size_t>(found - start));
        begin_ += line.size() + 2;
        return line;
      }
      fill();
    }
  }
  Message read_payload(std::string_view line) {
    // MSG <subject> <sid> [reply] <bytes>
    std::size_t first_space = 4;
    std::size_t subject_end = line.find(' ', first_space);
    std::size_t last_space = line.rfind(' ');
    std::size_t bytes = std::strtoul(std::string(line.substr(last_space + 1)).c_str(), nullptr, 10);
    subject_.assign(line.substr(first_space, subject_end - first_space));
    while (end_ - begin_ < bytes + 2) fill();
    payload_.assign(buffer_.data() + begin_, bytes);
    begin_ += bytes + 2;
    return Message{subject_, payload_};
  }
  void fill() {
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    ssize_t n = recv(fd_, buffer_.data() + end_, buffer_.size() - end_, 0);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) fail("nats recv: %s", n == 0 ? "closed by the server" : std::strerror(errno));
    end_ += static_cast<std::size_t>(n);
  }
  int fd_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::string subject_;
  std::string payload_;
};

void send_text(int fd, const std::string& text) { send_all(fd, text.data(), text.size()); }

void create_stream(int fd, NatsReader& reader, const std::string& stream, const std::string& subject) {
  std::string config = "{\"name\":\"" + stream + "\",\"subjects\":[\"" + subject +
                       "\"],\"storage\":\"file\",\"retention\":\"limits\",\"discard\":\"old\","
                       "\"max_bytes\":8589934592,\"num_replicas\":1}";
  send_text(fd, "SUB _perf.api 1\r\nPUB $JS.API.STREAM.CREATE." + stream + " _perf.api " +
                    std::to_string(config.size()) + "\r\n" + config + "\r\n");
  NatsReader::Message reply = reader.next_message();
  if (reply.payload.find("\"error\"") != std::string_view::npos &&
      reply.payload.find("already in use") == std::string_view::npos)
    fail("nats: stream create: %.*s", static_cast<int>(reply.payload.size()), reply.payload.data());
}

}  // namespace

int command_nats_pub(Options& options) {
  std::string address = options.get_string("server", "127.0.0.1:4222");
  std::string stream = options.get_string("stream", "perf");
  int record_bytes = static_cast<int>(options.get_int("record-bytes", 100));
  int window = static_cast<int>(options.get_int("window", 256));
  double warmup_s = options.get_double("warmup-s", 2);
  double duration_s = options.get_double("duration-s", 10);
  options.check_all_used();
  std::string host;
  int port;
  split_address(address, &host, &port);
  int fd = connect_tcp(host, port, 30000);
  NatsReader reader(fd);
  send_text(fd, "CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":false,\"headers\":false,\"protocol\":1}\r\nPING\r\n");
  reader.wait_line("PONG");
  std::string subject = stream + ".data";
  create_stream(fd, reader, stream, stream + ".>");
  send_text(fd, "SUB _perf.ack.* 2\r\nPING\r\n");
  reader.wait_line("PONG");

  std::string payload(static_cast<std::size_t>(record_bytes), 'n');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + (i * 7 + i / 13) % 16);
  const std::string size_text = " " + std::to_string(payload.size()) + "\r\n";
  std::vector<std::int64_t> sent_ns(static_cast<std::size_t>(window), 0);
  std::string out;
  out.reserve(static_cast<std::size_t>(window) * (payload.size() + 64));
  LatencyHistogram latency;
  std::uint64_t next_seq = 0, acked = 0, counted = 0, errors = 0;
  std::int64_t start = now_ns();
  std::int64_t measure_start = start + static_cast<std::int64_t>(warmup_s * 1e9);
  std::int64_t measure_end = measure_start + static_cast<std::int64_t>(duration_s * 1e9);
  std::int64_t cpu_start = 0, cpu_end = 0;
  bool measuring = false;
  for (;;) {
    std::int64_t now = now_ns();
    if (!measuring && now >= measure_start) {
      measuring = true;
      cpu_start = process_cpu_ns();
    }
    bool sending = now < measure_end;
    if (!sending && cpu_end == 0) cpu_end = process_cpu_ns();
    // Refill when half the window is acknowledged, so each write carries many PUBs.
    if (sending && next_seq - acked <= static_cast<std::uint64_t>(window) / 2) {
      out.clear();
      while (next_seq - acked < static_cast<std::uint64_t>(window)) {
        char number[24];
        out.append("PUB ").append(subject).append(" _perf.ack.");
        out.append(number, static_cast<std::size_t>(std::snprintf(number, sizeof number, "%llu", static_cast<unsigned long long>(next_seq))));
        out.append(size_text).append(payload).append("\r\n");
        sent_ns[next_seq % sent_ns.size()] = now;
        ++next_seq;
      }
      send_all(fd, out.data(), out.size());
    }
    if (acked == next_seq) {
      if (!sending) break;
      continue;
    }
    NatsReader::Message ack = reader.next_message();
    std::int64_t received = now_ns();
    std::size_t dot = ack.subject.rfind('.');
    std::uint64_t seq = std::strtoull(std::string(ack.subject.substr(dot + 1)).c_str(), nullptr, 10);
    ++acked;
    if (ack.payload.find("\"error\"") != std::string_view::npos) {
      ++errors;
      continue;
    }
    if (received >= measure_start && received < measure_end) {
      ++counted;
      latency.record(received - sent_ns[seq % sent_ns.size()]);
    }
  }
  close(fd);
  double cpu_s = static_cast<double>(cpu_end - cpu_start) / 1e9;
  Json json;
  json.begin_object().field("command", "nats-pub").field("record_bytes", record_bytes).field("window", window);
  json.field("records", counted).field("records_per_s", static_cast<double>(counted) / duration_s);
  json.field("mb_per_s", static_cast<double>(counted) * record_bytes / duration_s / 1e6);
  json.field("errors", errors);
  latency.write_json(json, "latency");
  json.key("client").begin_object().field("cpu_s", cpu_s).field("wall_s", duration_s);
  json.field("cpu_share", cpu_s / duration_s).end_object();
  json.end_object();
  std::printf("%s\n", json.text().c_str());
  return 0;
}

}  // namespace sluice::perf
