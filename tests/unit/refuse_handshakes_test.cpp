// refuse_new_handshakes, against the kernel: a new SYN is dropped, what is
// connected goes on, and the client whose SYN was dropped is refused once
// the listener closes -- never reset.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include "catch.hpp"
#include "gotit/bench/socket.hpp"
#include "gotit/common/net.hpp"
#include "gotit/common/refuse_handshakes.hpp"

using namespace std::chrono_literals;

namespace {

// Starts a non-blocking connect to ADDRESS:port, as the bench does.
gotit::UniqueFd start_connect(const char* address, std::uint16_t port) {
  gotit::ConnectStart start = gotit::start_connect(gotit::resolve_target(address, port), nullptr);
  REQUIRE(start.fd);
  return std::move(start.fd);
}

// Waits up to `limit` for the connect to end; returns its SO_ERROR, or -1
// while it is still under way.
int connect_outcome(int fd, std::chrono::milliseconds limit) {
  pollfd waiting{fd, POLLOUT, 0};
  if (::poll(&waiting, 1, static_cast<int>(limit.count())) == 0) return -1;
  return gotit::connect_result(fd);
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
