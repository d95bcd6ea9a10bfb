// Drives a Connection over a socketpair with a test handler: frames that arrive in pieces are
// reassembled, responses completed out of order leave in request order, file ranges go out with
// sendfile, and an oversized frame closes the connection.
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

struct Handler : RequestHandler {
  std::vector<std::pair<std::shared_ptr<Connection>, std::vector<std::byte>>> requests;
  std::vector<MemoryBudget::Reservation> held;
  void on_request(const std::shared_ptr<Connection>& connection, RequestFrame frame) override {
    requests.emplace_back(connection, std::move(frame.bytes));
    held.push_back(std::move(frame.reservation));
  }
};

struct Fixture {
  io::EventLoop loop;
  Handler handler;
  MemoryBudget budget;
  int client = -1;
  std::shared_ptr<Connection> connection;
  std::thread thread;
  std::atomic<bool> started{false};

  explicit Fixture(ConnectionLimits limits = {}, std::uint64_t budget_bytes = 1 << 30) : budget(budget_bytes) {
    int fds[2];
    SLUICE_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    client = fds[0];
    int flags = 0;
    (void)flags;
    thread = std::thread([this, fds, limits] {
      SLUICE_ASSERT(loop.init(io::LoopConfig{}).is_ok());
      connection = std::make_shared<Connection>(loop, fds[1], handler, limits, budget, 1, 0);
      connection->start();
      started.store(true);
      loop.run();
      connection.reset();
    });
    while (!started.load()) std::this_thread::yield();
  }
  ~Fixture() {
    loop.stop();
    thread.join();
    close(client);
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
  std::string read_client(std::size_t bytes) {
    std::string out;
    for (int i = 0; i < 5000 && out.size() < bytes; ++i) {
      char buffer[65536];
      ssize_t got = recv(client, buffer, std::min(sizeof buffer, bytes - out.size()), 0);
      if (got > 0) out.append(buffer, static_cast<std::size_t>(got));
      else if (got == 0) break;
      else usleep(1000);
    }
    return out;
  }
};

std::string frame(const std::string& body) {
  std::string out(4, '\0');
  store_be32(out.data(), static_cast<std::uint32_t>(body.size()));
  return out + body;
}

bool wait_until(const std::function<bool()>& predicate) {
  for (int i = 0; i < 5000; ++i) {
    if (predicate()) return true;
    usleep(1000);
  }
  return false;
}

TEST(Connection, ReassemblesFramesSentInPieces) {
  Fixture fixture;
  std::string bytes = frame("ABCDEFGHIJ") + frame(std::string(200000, 'x')) + frame("12345678");
  for (std::size_t at = 0; at < bytes.size();) {
    std::size_t piece = std::min<std::size_t>(at < 20 ? 3 : 50000, bytes.size() - at);
    ssize_t sent = send(fixture.client, bytes.data() + at, piece, 0);
    if (sent > 0) at += static_cast<std::size_t>(sent);
    else usleep(1000);
  }
  ASSERT_TRUE(wait_until([&] { return fixture.request_count() == 3; }));
  fixture.on_loop([&] {
    auto& requests = fixture.handler.requests;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(requests[0].second.data()), requests[0].second.size()), "ABCDEFGHIJ");
    EXPECT_EQ(requests[1].second.size(), 200000u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(requests[2].second.data()), requests[2].second.size()), "12345678");
  });
}

TEST(Connection, ResponsesLeaveInRequestOrderWithFileRanges) {
  Fixture fixture;
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

TEST(Connection, OversizedFrameCloses) {
  ConnectionLimits limits;
  limits.request_bytes_max = 1000;
  Fixture fixture(limits);
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

TEST(Connection, SpentBudgetStopsReadingUntilBytesComeBack) {
  // A budget smaller than one frame: once a frame is held, nothing more is read until the
  // handler drops the frame's reservation.
  Fixture fixture({}, 100);
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
}

}  // namespace
}  // namespace sluice::net
