// Checks that listen_tcp's socket buffer sizes reach the connections it accepts
// (socket.send.buffer.bytes / socket.receive.buffer.bytes), and that the default leaves them to
// the kernel.
#include "base/listen.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sluice {
namespace {

// SO_SNDBUF and SO_RCVBUF of a connection accepted on a listener made with `options`.
std::pair<int, int> accepted_buffers(const ListenOptions& options) {
  auto listener = listen_tcp("127.0.0.1", 0, options);
  EXPECT_TRUE(listener.is_ok()) << listener.status().to_string();
  if (!listener.is_ok()) return {-1, -1};
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(local_port(listener.value()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  int accepted = ::accept4(listener.value(), nullptr, nullptr, SOCK_CLOEXEC);
  EXPECT_GE(accepted, 0);
  int send = -1, receive = -1;
  socklen_t length = sizeof send;
  ::getsockopt(accepted, SOL_SOCKET, SO_SNDBUF, &send, &length);
  length = sizeof receive;
  ::getsockopt(accepted, SOL_SOCKET, SO_RCVBUF, &receive, &length);
  ::close(accepted);
  ::close(client);
  ::close(listener.value());
  return {send, receive};
}

TEST(ListenTcp, AcceptedConnectionsInheritTheConfiguredBufferSizes) {
  ListenOptions options;
  options.send_buffer_bytes = 40960;
  options.receive_buffer_bytes = 61440;
  auto [send, receive] = accepted_buffers(options);
  // Linux doubles the value asked for (the bookkeeping overhead it adds).
  EXPECT_EQ(send, 2 * 40960);
  EXPECT_EQ(receive, 2 * 61440);
}

TEST(ListenTcp, WithoutSizesTheKernelChoosesThem) {
  auto [send, receive] = accepted_buffers(ListenOptions{});
  EXPECT_GT(send, 0);
  EXPECT_GT(receive, 0);
  EXPECT_NE(send, 2 * 40960);
  EXPECT_NE(receive, 2 * 61440);
}

}  // namespace
}  // namespace sluice
