// refuse_new_handshakes, against the kernel: a new SYN is dropped, what is
// connected goes on, and the client whose SYN was dropped is refused once
// the listener closes -- never reset.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "catch.hpp"
#include "gotit/common/net.hpp"
#include "gotit/common/refuse_handshakes.hpp"

using namespace std::chrono_literals;

namespace {

// Starts a non-blocking connect to ADDRESS:port (IPv4 or IPv6 text).
gotit::UniqueFd start_connect(const char* address, std::uint16_t port) {
  sockaddr_storage target{};
  socklen_t length = 0;
  int family = AF_INET6;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&target);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&target);
  if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
    family = AF_INET;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
  } else {
    REQUIRE(inet_pton(AF_INET6, address, &v6->sin6_addr) == 1);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
  }
  gotit::UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  const int result = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&target), length);
  REQUIRE((result == 0 || errno == EINPROGRESS));
  return fd;
}

// Waits up to `limit` for the connect to end; returns its SO_ERROR, or -1
// while it is still under way.
int connect_outcome(int fd, std::chrono::milliseconds limit) {
  pollfd waiting{fd, POLLOUT, 0};
  if (::poll(&waiting, 1, static_cast<int>(limit.count())) == 0) return -1;
  int error = 0;
  socklen_t size = sizeof error;
  REQUIRE(getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0);
  return error;
}

}  // namespace

TEST_CASE("a listener that refuses new handshakes keeps its connections, then refuses without a reset") {
  const char* address = GENERATE("127.0.0.1", "::1");
  INFO(address);
  gotit::ListenOptions options;
  options.port = 0;
  options.nonblocking = true;
  auto listener = gotit::listen_tcp(options);
  const auto port = gotit::local_port(listener.get());

  auto before = start_connect(address, port);
  REQUIRE(connect_outcome(before.get(), 2s) == 0);
  gotit::UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(accepted);

  gotit::refuse_new_handshakes(listener.get());

  auto after = start_connect(address, port);
  CHECK(connect_outcome(after.get(), 300ms) == -1);  // its SYN was dropped: no SYN-ACK came
  const int taken = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
  const int accept_error = errno;
  CHECK(taken == -1);
  CHECK(accept_error == EAGAIN);

  // The connection accepted before goes on both ways (it inherited the
  // filter, which passes everything but a lone SYN).
  gotit::write_all(before.get(), "hello\n");
  char bytes[16] = {};
  pollfd readable{accepted.get(), POLLIN, 0};
  REQUIRE(::poll(&readable, 1, 2000) == 1);
  CHECK(::read(accepted.get(), bytes, sizeof bytes) == 6);
  gotit::write_all(accepted.get(), "Got it!\n");
  readable = {before.get(), POLLIN, 0};
  REQUIRE(::poll(&readable, 1, 2000) == 1);
  CHECK(::read(before.get(), bytes, sizeof bytes) == 8);

  // Once the listener is gone, the dropped client's next SYN (about 1 s
  // after the first) is answered with "refused".
  listener.reset();
  CHECK(connect_outcome(after.get(), 5s) == ECONNREFUSED);
}
