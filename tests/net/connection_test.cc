// Drives Connections over socketpairs with a test handler, on both read paths: multishot recv
// with the loop's provided buffers, and the single-shot fallback (a loop configured without
// buffers). Frames that arrive in pieces, one byte at a time, many to a send, or larger than a
// provided buffer are reassembled; responses completed out of order leave in request order; file
// ranges go out with sendfile; an oversized frame closes; the budget and requests_inflight_max
// stop reading until answers come back; an empty ring (-ENOBUFS) loses nothing; a closed
// connection is freed; an idle connection holds no read buffer.
#include "net/connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "base/endian.h"
#include "protocol/header.h"

namespace sluice::net {
namespace {

// Records each request; optionally reserves a response slot for it (so it counts as in flight)
// and answers it at once with its own bytes.
struct Handler : RequestHandler {
  bool reserve = false;
  bool answer = false;
  std::vector<std::pair<std::shared_ptr<Connection>, std::vector<std::byte>>> requests;
  std::vector<std::uint64_t> slots;
  std::vector<MemoryBudget::Reservation> held;
  void on_request(const std::shared_ptr<Connection>& connection, RequestFrame frame) override {
    if (reserve || answer) slots.push_back(connection->reserve_response());
    if (answer) connection->complete_response(slots.back(), echo(frame.bytes));
    requests.emplace_back(connection, std::move(frame.bytes));
    held.push_back(std::move(frame.reservation));
  }
  static protocol::Writer echo(const std::vector<std::byte>& bytes) {
    protocol::Writer response;
    response.put_i32(static_cast<std::int32_t>(bytes.size()));
    response.put_bytes(bytes.data(), bytes.size());
    return response;
  }
};

// A loop with provided buffers (small ones, so ordinary frames span several) or without.
io::LoopConfig loop_config(bool multishot, std::uint32_t buffer_count = 8, std::uint32_t buffer_bytes = 4096) {
  io::LoopConfig config;
  config.recv_buffer_count = multishot ? buffer_count : 0;
  config.recv_buffer_bytes = buffer_bytes;
  return config;
}

struct Fixture {
  io::EventLoop loop;
  Handler handler;
  MemoryBudget budget;
  std::vector<int> clients;
  std::vector<std::shared_ptr<Connection>> connections;
  int client = -1;
  std::shared_ptr<Connection> connection;
  std::thread thread;
  std::atomic<bool> started{false};

  explicit Fixture(const io::LoopConfig& config, ConnectionLimits limits = {}, std::uint64_t budget_bytes = 1 << 30,
                   int connection_count = 1)
      : budget(budget_bytes) {
    std::vector<int> server_fds;
    for (int i = 0; i < connection_count; ++i) {
      int fds[2];
      SLUICE_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
      clients.push_back(fds[0]);
      server_fds.push_back(fds[1]);
    }
    client = clients[0];
    thread = std::thread([this, config, server_fds, limits] {
      SLUICE_ASSERT(loop.init(config).is_ok());
      for (std::size_t i = 0; i < server_fds.size(); ++i) {
        connections.push_back(std::make_shared<Connection>(loop, server_fds[i], handler, limits, budget, i + 1, 0));
        connections.back()->start();
      }
      connection = connections[0];
      started.store(true);
      loop.run();
      connection.reset();
      connections.clear();
    });
    while (!started.load()) std::this_thread::yield();
  }
  ~Fixture() {
    loop.stop();
    thread.join();
    for (int fd : clients) close(fd);
  }
  // Runs f on the loop thread and waits for it.
  template <class F>
  void on_loop(F f) {
    std::atomic<bool> done{false};
    loop.post([&] {
      f();
      done.store(true);
    });
    while (!done.load()) std::this_thread::yield();
  }
  std::size_t request_count() {
    std::size_t count = 0;
    on_loop([&] { count = handler.requests.size(); });
    return count;
  }
  std::string request(std::size_t index) {
    std::string out;
    on_loop([&] {
      auto& bytes = handler.requests.at(index).second;
      out.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    });
    return out;
  }
  bool multishot() {
    bool multishot = false;
    on_loop([&] { multishot = connection->recv_multishot(); });
    return multishot;
  }
  std::string read_client(std::size_t bytes, int fd = -1) {
    if (fd < 0) fd = client;
    std::string out;
    for (int i = 0; i < 5000 && out.size() < bytes; ++i) {
      char buffer[65536];
      ssize_t got = recv(fd, buffer, std::min(sizeof buffer, bytes - out.size()), 0);
      if (got > 0) out.append(buffer, static_cast<std::size_t>(got));
      else if (got == 0) break;
      else usleep(1000);
    }
    return out;
  }
  // Sends all of `bytes` in sends of at most `piece` bytes.
  void send_client(const std::string& bytes, std::size_t piece, int fd = -1) {
    if (fd < 0) fd = client;
    for (std::size_t at = 0, tries = 0; at < bytes.size() && tries < 10000000; ++tries) {
      ssize_t sent = send(fd, bytes.data() + at, std::min(piece, bytes.size() - at), 0);
      if (sent > 0) at += static_cast<std::size_t>(sent);
      else usleep(100);
    }
  }
};

std::string frame(const std::string& body) {
  std::string out(4, '\0');
  store_be32(out.data(), static_cast<std::uint32_t>(body.size()));
  return out + body;
}

bool wait_until(const std::function<bool()>& predicate) {
  for (int i = 0; i < 10000; ++i) {
    if (predicate()) return true;
    usleep(1000);
  }
  return false;
}

// Every test runs on both read paths: true = multishot recv with provided buffers.
class ConnectionTest : public ::testing::TestWithParam<bool> {
 protected:
  io::LoopConfig config() const { return loop_config(GetParam()); }
  // Skips the multishot variant when the kernel refused the buffer ring (it then fell back).
  void require_path(Fixture& fixture) {
    if (GetParam() && !fixture.multishot()) GTEST_SKIP() << "kernel refused a provided-buffer ring";
    EXPECT_EQ(fixture.multishot(), GetParam());
  }
};

INSTANTIATE_TEST_SUITE_P(Paths, ConnectionTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Multishot") : std::string("SingleShot");
                         });

TEST_P(ConnectionTest, ReassemblesFramesSentInPieces) {
  Fixture fixture(config());
  require_path(fixture);
  std::string bytes = frame("ABCDEFGHIJ") + frame(std::string(200000, 'x')) + frame("12345678");
  fixture.send_client(bytes.substr(0, 20), 3);
  fixture.send_client(bytes.substr(20), 50000);
  ASSERT_TRUE(wait_until([&] { return fixture.request_count() == 3; }));
  EXPECT_EQ(fixture.request(0), "ABCDEFGHIJ");
  EXPECT_EQ(fixture.request(1), std::string(200000, 'x'));
  EXPECT_EQ(fixture.request(2), "12345678");
}

TEST_P(ConnectionTest, FramesSentOneByteAtATime) {
  // Every byte may arrive in its own chunk, so the size prefix itself is split.
  Fixture fixture(config());
  require_path(fixture);
  std::string first = "header-and-body-" + std::string(5000, 'p');
  std::string bytes = frame("01234567") + frame(first) + frame("abcdefghij");
  fixture.send_client(bytes, 1);
  ASSERT_TRUE(wait_until([&] { return fixture.request_count() == 3; }));
  EXPECT_EQ(fixture.request(0), "01234567");
  EXPECT_EQ(fixture.request(1), first);
  EXPECT_EQ(fixture.request(2), "abcdefghij");
}

TEST_P(ConnectionTest, ManyFramesInOneSend) {
  // 2000 frames of varying size in one stream: each chunk holds many whole frames and cuts one.
  Fixture fixture(config());
  require_path(fixture);
  std::string bytes;
  std::vector<std::string> bodies;
  for (int i = 0; i < 2000; ++i) {
    bodies.push_back("request-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 97), 'z'));
    bytes += frame(bodies.back());
  }
  fixture.send_client(bytes, bytes.size());
  ASSERT_TRUE(wait_until([&] { return fixture.request_count() == bodies.size(); }));
  for (std::size_t i = 0; i < bodies.size(); ++i) ASSERT_EQ(fixture.request(i), bodies[i]) << "frame " << i;
}

TEST_P(ConnectionTest, FrameLargerThanAProvidedBuffer) {
  // 1 MiB spans 256 of the test loop's 4 KiB buffers (and 16 of the fallback's 64 KiB reads).
  Fixture fixture(config());
  require_path(fixture);
  std::string body(1 << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 23);
  fixture.send_client(frame(body) + frame("after-big"), 1 << 20);
  ASSERT_TRUE(wait_until([&] { return fixture.request_count() == 2; }));
  EXPECT_TRUE(fixture.request(0) == body);
  EXPECT_EQ(fixture.request(1), "after-big");
}

TEST_P(ConnectionTest, IdleConnectionHoldsNoReadBuffer) {
  // After a request is answered, a multishot connection keeps no read buffer at all (the
  // fallback keeps its 64 KiB recv buffer); its recv stays armed either way.
  Fixture fixture(config());
  require_path(fixture);
  fixture.on_loop([&] { fixture.handler.answer = true; });
  std::string request = frame(std::string(30000, 'q'));  // larger than a buffer: assembled
  fixture.send_client(request, request.size());
  EXPECT_EQ(fixture.read_client(request.size()), request);
  std::size_t held = 1;
  bool armed = false;
  ASSERT_TRUE(wait_until([&] {
    fixture.on_loop([&] {
      held = fixture.connection->read_buffer_bytes();
      armed = fixture.connection->recv_armed();
    });
    return armed;
  }));
  EXPECT_EQ(held, GetParam() ? 0u : 65536u);
  if (GetParam()) {
    std::uint64_t outstanding = 1;
    fixture.on_loop([&] { outstanding = fixture.loop.recv_buffers()->outstanding(); });
    EXPECT_EQ(outstanding, 0u);
  }
}

TEST_P(ConnectionTest, ResponsesLeaveInRequestOrderWithFileRanges) {
  Fixture fixture(config());
  require_path(fixture);
  char path[] = "/tmp/sluice-connection-XXXXXX";
  int file = mkstemp(path);
  ASSERT_GE(file, 0);
  unlink(path);
  std::string content(300000, 'f');
  ASSERT_EQ(write(file, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  std::uint64_t first = 0, second = 0;
  fixture.on_loop([&] {
    first = fixture.connection->reserve_response();
    second = fixture.connection->reserve_response();
    protocol::Writer late;
    late.put_bytes("BB", 2);
    fixture.connection->complete_response(second, std::move(late));
  });
  // Nothing may leave before the first response is complete.
  usleep(20000);
  char probe;
  EXPECT_EQ(recv(fixture.client, &probe, 1, MSG_PEEK), -1);
  fixture.on_loop([&] {
    protocol::Writer early;
    early.put_bytes("A[", 2);
    early.add_file(file, 100, 250000, nullptr);
    early.put_bytes("]", 1);
    fixture.connection->complete_response(first, std::move(early));
  });
  std::string got = fixture.read_client(2 + 250000 + 1 + 2);
  ASSERT_EQ(got.size(), 250005u);
  EXPECT_EQ(got.substr(0, 2), "A[");
  EXPECT_EQ(got.substr(2, 250000), content.substr(100, 250000));
  EXPECT_EQ(got.substr(250002), "]BB");
  close(file);
}

// File ranges larger than the socket takes at once leave whole and in order by every transfer:
// sendfile in calls of file_chunk_bytes, splice through a pipe that a full socket leaves half
// drained, or (fetch.transfer=copy) pread into a staging buffer that a full socket leaves half
// sent. Patterned bytes, so a lost or repeated piece shows.
TEST_P(ConnectionTest, FileRangesLeaveWholeByEveryTransfer) {
  char path[] = "/tmp/sluice-connection-XXXXXX";
  int file = mkstemp(path);
  ASSERT_GE(file, 0);
  unlink(path);
  std::string content(3 << 20, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + (i * 7 + i / 4093) % 26);
  ASSERT_EQ(write(file, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  for (FileTransfer transfer :
       {FileTransfer::kSendfile, FileTransfer::kSplice, FileTransfer::kUringSplice, FileTransfer::kCopy}) {
    SCOPED_TRACE(static_cast<int>(transfer));
    ConnectionLimits limits;
    limits.file_transfer = transfer;
    limits.file_chunk_bytes = 40000;  // not a divisor of anything below
    Fixture fixture(config(), limits);
    require_path(fixture);
    fixture.on_loop([&] {
      protocol::Writer response;
      response.put_bytes("<", 1);
      response.add_file(file, 5, 2000000, nullptr);
      response.put_bytes("|", 1);
      response.add_file(file, 2500000, 500001, nullptr);
      response.put_bytes(">", 1);
      fixture.connection->complete_response(fixture.connection->reserve_response(), std::move(response));
    });
    // Read slowly at first, so the socket fills and sends stop part way.
    std::string got = fixture.read_client(1000);
    usleep(50000);
    got += fixture.read_client(2000000 + 500001 + 3 - got.size());
    ASSERT_EQ(got.size(), 2500004u);
    EXPECT_EQ(got[0], '<');
    EXPECT_TRUE(got.compare(1, 2000000, content, 5, 2000000) == 0);
    EXPECT_EQ(got[2000001], '|');
    EXPECT_TRUE(got.compare(2000002, 500001, content, 2500000, 500001) == 0);
    EXPECT_EQ(got.back(), '>');
  }
  close(file);
}

// A connection that closes while its pipe still holds part of a file range does not hand that
// pipe to the next connection of the thread: the next one's range arrives exact, with none of
// the first one's bytes in front.
TEST_P(ConnectionTest, SpliceCloseWithFullPipeLeaksNothingToTheNextConnection) {
  char path[] = "/tmp/sluice-connection-XXXXXX";
  int file = mkstemp(path);
  ASSERT_GE(file, 0);
  unlink(path);
  std::string content(4 << 20, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + (i * 11 + i / 4099) % 26);
  ASSERT_EQ(write(file, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  for (FileTransfer transfer : {FileTransfer::kSplice, FileTransfer::kUringSplice}) {
    SCOPED_TRACE(static_cast<int>(transfer));
    ConnectionLimits limits;
    limits.file_transfer = transfer;
    limits.file_chunk_bytes = 256 << 10;
    Fixture fixture(config(), limits, 1 << 30, 2);
    require_path(fixture);
    auto send_range = [&](std::size_t index, std::uint64_t position, std::uint64_t bytes) {
      fixture.on_loop([&] {
        protocol::Writer response;
        response.add_file(file, position, bytes, nullptr);
        auto& connection = fixture.connections[index];
        connection->complete_response(connection->reserve_response(), std::move(response));
      });
    };
    // The first client reads nothing, so its socket fills and the pipe keeps what did not fit.
    send_range(0, 0, 3 << 20);
    usleep(50000);
    fixture.on_loop([&] { fixture.connections[0]->close("test"); });
    send_range(1, 1000, 1 << 20);
    std::string got = fixture.read_client(1 << 20, fixture.clients[1]);
    ASSERT_EQ(got.size(), static_cast<std::size_t>(1 << 20));
    EXPECT_TRUE(got.compare(0, got.size(), content, 1000, got.size()) == 0);
  }
  close(file);
}

TEST_P(ConnectionTest, OversizedFrameCloses) {
  ConnectionLimits limits;
  limits.request_bytes_max = 1000;
  Fixture fixture(config(), limits);
  require_path(fixture);
  std::string header(4, '\0');
  store_be32(header.data(), 5000);
  ASSERT_EQ(send(fixture.client, header.data(), 4, 0), 4);
  std::string rest = fixture.read_client(1);
  EXPECT_TRUE(rest.empty());  // closed: recv returned 0
  bool closed = false;
  fixture.on_loop([&] { closed = fixture.connection->closed(); });
  EXPECT_TRUE(closed);
  EXPECT_EQ(fixture.request_count(), 0u);
}

TEST_P(ConnectionTest, UndersizedFrameClosesAfterEarlierFrames) {
  // A bad size prefix after good frames in the same chunk: the good ones are handed over, then
  // the connection closes.
  Fixture fixture(config());
  require_path(fixture);
  std::string bad(4, '\0');
  store_be32(bad.data(), 3);
  fixture.send_client(frame("good-one") + frame("good-two") + bad + "xxx", 64);
  std::string rest = fixture.read_client(1);
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(fixture.request_count(), 2u);
}

TEST_P(ConnectionTest, SpentBudgetStopsReadingUntilBytesComeBack) {
  // A budget smaller than one frame: once a frame is held, nothing more is read until the
  // handler drops the frame's reservation.
  Fixture fixture(config(), {}, 100);
  require_path(fixture);
  std::string first = frame(std::string(200, 'a'));
  ASSERT_EQ(send(fixture.client, first.data(), first.size(), 0), static_cast<ssize_t>(first.size()));
  ASSERT_TRUE(wait_until([&] { return fixture.request_count() == 1; }));
  EXPECT_TRUE(fixture.budget.exhausted());
  std::string second = frame(std::string(10, 'b'));
  ASSERT_EQ(send(fixture.client, second.data(), second.size(), 0), static_cast<ssize_t>(second.size()));
  usleep(50000);
  EXPECT_EQ(fixture.request_count(), 1u);  // held back while the budget is spent
  fixture.on_loop([&] { fixture.handler.held.clear(); });
  ASSERT_TRUE(wait_until([&] { return fixture.request_count() == 2; }));
  EXPECT_EQ(fixture.request(1), std::string(10, 'b'));
}

TEST_P(ConnectionTest, InflightLimitPausesAndResumesReading) {
  // requests_inflight_max = 1 and a handler that answers only when told: the second request
  // waits (the multishot recv is cancelled, so nothing is armed) until the first is answered,
  // then every later request still arrives, in order, each after the previous answer.
  ConnectionLimits limits;
  limits.requests_inflight_max = 1;
  Fixture fixture(config(), limits);
  require_path(fixture);
  fixture.on_loop([&] { fixture.handler.reserve = true; });
  fixture.send_client(frame("request-0"), 64);
  ASSERT_TRUE(wait_until([&] { return fixture.request_count() == 1; }));
  for (int i = 1; i < 5; ++i) {
    fixture.send_client(frame("request-" + std::to_string(i)), 64);
    bool armed = true;
    ASSERT_TRUE(wait_until([&] {
      fixture.on_loop([&] { armed = fixture.connection->recv_armed(); });
      return !armed;
    }));
    usleep(20000);
    EXPECT_EQ(fixture.request_count(), static_cast<std::size_t>(i));  // held back
    fixture.on_loop([&] {
      auto& handler = fixture.handler;
      fixture.connection->complete_response(handler.slots.back(), Handler::echo(handler.requests.back().second));
    });
    std::string answer = fixture.read_client(4 + 9);
    EXPECT_EQ(answer.substr(4), "request-" + std::to_string(i - 1));
    ASSERT_TRUE(wait_until([&] { return fixture.request_count() == static_cast<std::size_t>(i + 1); }));
    EXPECT_EQ(fixture.request(static_cast<std::size_t>(i)), "request-" + std::to_string(i));
  }
}

TEST_P(ConnectionTest, StopReadingIgnoresLaterRequests) {
  // After stop_reading (shutdown), requests already read are kept and later ones are not taken.
  Fixture fixture(config());
  require_path(fixture);
  fixture.send_client(frame("before-stop"), 64);
  ASSERT_TRUE(wait_until([&] { return fixture.request_count() == 1; }));
  fixture.on_loop([&] { fixture.connection->stop_reading(); });
  fixture.send_client(frame("after-stop"), 64);
  usleep(50000);
  EXPECT_EQ(fixture.request_count(), 1u);
  bool armed = true;
  ASSERT_TRUE(wait_until([&] {
    fixture.on_loop([&] { armed = fixture.connection->recv_armed() && fixture.connection->recv_multishot(); });
    return !armed;
  }));
}

TEST_P(ConnectionTest, CloseWhileRecvArmedFreesTheConnection) {
  // The armed recv holds the Connection; closing ends the recv and its last completion lets go,
  // so the Connection is destroyed (and under LSan nothing leaks) while the loop still runs.
  Fixture fixture(config());
  require_path(fixture);
  std::weak_ptr<Connection> weak;
  fixture.on_loop([&] {
    weak = fixture.connection;
    EXPECT_TRUE(fixture.connection->recv_armed());
    fixture.connection->close("test");
    fixture.connection.reset();
    fixture.connections.clear();
  });
  ASSERT_TRUE(wait_until([&] {
    bool expired = false;
    fixture.on_loop([&] { expired = weak.expired(); });
    return expired;
  }));
  if (GetParam()) {
    std::uint64_t outstanding = 1;
    fixture.on_loop([&] { outstanding = fixture.loop.recv_buffers()->outstanding(); });
    EXPECT_EQ(outstanding, 0u);
  }
}

TEST(ConnectionRing, EmptyRingLosesNoRequest) {
  // 32 connections share a ring of 2 buffers. The loop is held busy while every client sends
  // its request, so when it next runs all 32 sockets are readable and at most 2 recvs find a
  // buffer: the others end with -ENOBUFS, re-arm on the next turn, and every request is still
  // answered.
  constexpr int kConnections = 32;
  Fixture fixture(loop_config(true, 2, 4096), {}, 1 << 30, kConnections);
  if (!fixture.multishot()) GTEST_SKIP() << "kernel refused a provided-buffer ring";
  fixture.on_loop([&] { fixture.handler.answer = true; });
  std::atomic<bool> release{false};
  std::atomic<bool> holding{false};
  fixture.loop.post([&] {
    holding.store(true);
    while (!release.load()) std::this_thread::yield();
  });
  while (!holding.load()) std::this_thread::yield();
  std::vector<std::string> requests;
  for (int i = 0; i < kConnections; ++i) {
    requests.push_back(frame("client-" + std::to_string(i) + std::string(100, 'r')));
    fixture.send_client(requests.back(), requests.back().size(), fixture.clients[static_cast<std::size_t>(i)]);
  }
  release.store(true);
  for (int i = 0; i < kConnections; ++i) {
    EXPECT_EQ(fixture.read_client(requests[static_cast<std::size_t>(i)].size(), fixture.clients[static_cast<std::size_t>(i)]),
              requests[static_cast<std::size_t>(i)]) << "client " << i;
  }
  std::uint64_t exhausted = 0, outstanding = 1;
  fixture.on_loop([&] {
    exhausted = fixture.loop.recv_buffers()->exhausted_count();
    outstanding = fixture.loop.recv_buffers()->outstanding();
  });
  EXPECT_GT(exhausted, 0u);
  EXPECT_EQ(outstanding, 0u);
}

}  // namespace
}  // namespace sluice::net
