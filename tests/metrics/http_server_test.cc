// The scrape server on loopback with raw sockets: GET /metrics gets the rendered text with a
// Content-Length; other paths 404, other methods 405, garbage 400, an oversized head 431; a
// connection that sends nothing is closed after idle_ms; connections past connections_max are
// closed at once while the others are still served; stop() returns while clients are connected.
#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

namespace sluice::metrics {
namespace {

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  timeval timeout{20, 0};  // a bound on every read, not a timing assertion
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  return fd;
}

// Sends `request` and reads until the server closes; "" if the read timed out.
std::string exchange(std::uint16_t port, const std::string& request) {
  int fd = connect_to(port);
  EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string reply;
  char buffer[4096];
  for (;;) {
    ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    reply.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return reply;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerConfig config) {
    config.host = "127.0.0.1";
    config.port = 0;
    server_ = std::make_unique<HttpServer>(config, [this] {
      renders_.fetch_add(1);
      return std::string("# HELP sluice_up Up.\n# TYPE sluice_up gauge\nsluice_up 1\n");
    });
    ASSERT_TRUE(server_->start().is_ok());
    ASSERT_NE(server_->bound_port(), 0);
  }
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> renders_{0};
};

TEST_F(HttpServerTest, ServesMetricsAndRefusesEverythingElse) {
  start({});
  const std::uint16_t port = server_->bound_port();
  std::string ok = exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << ok;
  const std::string body = "# HELP sluice_up Up.\n# TYPE sluice_up gauge\nsluice_up 1\n";
  EXPECT_NE(ok.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos) << ok;
  EXPECT_EQ(ok.substr(ok.size() - body.size()), body);
  EXPECT_EQ(exchange(port, "GET /metrics?name=x HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(exchange(port, "GET /other HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(exchange(port, "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(exchange(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(exchange(port, "hello\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(renders_.load(), 2);  // only the two good scrapes rendered
}

TEST_F(HttpServerTest, OversizedRequestGets431) {
  HttpServerConfig config;
  config.request_bytes_max = 256;
  start(config);
  std::string request = "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(1000, 'a') + "\r\n\r\n";
  EXPECT_EQ(exchange(server_->bound_port(), request).rfind("HTTP/1.1 431", 0), 0u);
  EXPECT_EQ(renders_.load(), 0);
}

TEST_F(HttpServerTest, IdleConnectionIsClosed) {
  HttpServerConfig config;
  config.idle_ms = 100;
  start(config);
  int fd = connect_to(server_->bound_port());
  ::send(fd, "GET /met", 8, MSG_NOSIGNAL);  // never finishes the head
  char byte;
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0);  // closed by the server (a timeout would give -1)
  ::close(fd);
}

TEST_F(HttpServerTest, ConnectionsPastTheLimitAreClosedOthersServed) {
  HttpServerConfig config;
  config.connections_max = 2;
  start(config);
  const std::uint16_t port = server_->bound_port();
  int first = connect_to(port), second = connect_to(port);
  // The server accepts in its own time: keep opening until one is closed at once (bounded).
  bool refused = false;
  std::vector<int> extra;
  for (int i = 0; i < 20 && !refused; ++i) {
    int fd = connect_to(port);
    extra.push_back(fd);
    timeval quick{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &quick, sizeof quick);
    char byte;
    refused = ::recv(fd, &byte, 1, 0) == 0;
  }
  EXPECT_TRUE(refused);
  const std::string request = "GET /metrics HTTP/1.1\r\n\r\n";
  ::send(first, request.data(), request.size(), MSG_NOSIGNAL);
  char buffer[64];
  ssize_t got = ::recv(first, buffer, sizeof buffer, 0);
  ASSERT_GT(got, 12);
  EXPECT_EQ(std::string(buffer, 12), "HTTP/1.1 200");
  for (int fd : extra) ::close(fd);
  ::close(first);
  ::close(second);
}

TEST_F(HttpServerTest, StopReturnsWithClientsConnected) {
  start({});
  int fd = connect_to(server_->bound_port());
  server_->stop();
  server_->stop();  // twice is fine
  char byte;
  EXPECT_LE(::recv(fd, &byte, 1, 0), 0);
  ::close(fd);
}

TEST(HttpServer, PortInUseIsAnError) {
  HttpServer first({"127.0.0.1", 0}, [] { return std::string(); });
  ASSERT_TRUE(first.start().is_ok());
  HttpServer second({"127.0.0.1", first.bound_port()}, [] { return std::string(); });
  EXPECT_FALSE(second.start().is_ok());
}

TEST(ClassifyRequest, MethodsAndPaths) {
  EXPECT_EQ(classify_request("GET /metrics HTTP/1.1\r\n"), 200);
  EXPECT_EQ(classify_request("GET /metrics?a=b HTTP/1.1\r\n"), 200);
  EXPECT_EQ(classify_request("GET /metricsx HTTP/1.1\r\n"), 404);
  EXPECT_EQ(classify_request("HEAD /metrics HTTP/1.1\r\n"), 405);
  EXPECT_EQ(classify_request("GET metrics HTTP/1.1\r\n"), 400);
  EXPECT_EQ(classify_request("GET /metrics FTP/1\r\n"), 400);
  EXPECT_EQ(classify_request("GET\r\n"), 400);
}

}  // namespace
}  // namespace sluice::metrics
