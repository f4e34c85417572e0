// A measuring instrument, not a fourth server: the least a single-threaded
// epoll server must do to speak gotit's protocol, so that the reactor's CPU
// per connection has a floor to be compared with (scripts/bench-conn-cpu.sh).
// Built, never installed.
//
//   raw-epoll-server [PORT]    (0 or nothing: a free port, printed)
//
// What it does, system call by system call, for one connect/request/close:
// accept4 (non-blocking, until EAGAIN, as evconnlistener does), epoll_ctl
// ADD, recv the request, send the replies, recv 0 at EOF, epoll_ctl DEL,
// close. That is the reactor's sequence too: the comparison is of the user
// space around the same system calls.
//
// What it leaves out: no timeouts, no backpressure (a send that the kernel
// does not take whole closes the connection), no stop. The per-connection
// state is one counter in a table indexed by descriptor: no allocation per
// connection -- the floor, on purpose.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kMaxContent = 255;  // DESIGN.md: at most 255 bytes a line
constexpr char kReply[] = "Got it!\n";
constexpr char kTooLong[] = "Error: message longer than 255 bytes\n";

[[noreturn]] void die(const char* call) {
  std::fprintf(stderr, "raw-epoll-server: %s: %s\n", call, std::strerror(errno));
  std::exit(1);
}

// Bytes of the current, unfinished line, per descriptor. -1: not open.
std::vector<int> partial;

int listen_on(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) die("setsockopt");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) die("bind");
  if (listen(fd, 4096) != 0) die("listen");
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) die("getsockname");
  std::printf("listening on 127.0.0.1:%d\n", ntohs(address.sin_port));
  std::fflush(stdout);
  return fd;
}

// As libevent does before close(): delete from the epoll set explicitly
// (close alone would do it), so both servers make the same system calls.
void close_connection(int epoll, int fd) {
  if (epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr) != 0) die("epoll_ctl DEL");
  if (close(fd) != 0) die("close");
  partial[static_cast<std::size_t>(fd)] = -1;
}

// Sends all of `out` in one call or closes: false if closed.
bool send_or_close(int epoll, int fd, const std::string& out) {
  if (out.empty()) return true;
  const ssize_t sent = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  if (sent == static_cast<ssize_t>(out.size())) return true;
  close_connection(epoll, fd);
  return false;
}

// The socket is readable: one recv (level-triggered, so what is left is
// reported again), a reply per '\n', the error and close for a long line.
void serve(int epoll, int fd, std::string& out) {
  char buffer[4096];
  const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  int& pending = partial[static_cast<std::size_t>(fd)];
  out.clear();
  if (n <= 0) {  // EOF (or an error): the unfinished line is one last message
    if (pending > 0) out += kReply;
    if (n == 0 && !out.empty()) (void)send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    return close_connection(epoll, fd);
  }
  for (ssize_t i = 0; i < n; ++i) {
    if (buffer[i] == '\n') {
      out += kReply;
      pending = 0;
    } else if (static_cast<std::size_t>(++pending) > kMaxContent) {
      out += kTooLong;
      if (send_or_close(epoll, fd, out)) close_connection(epoll, fd);
      return;
    }
  }
  send_or_close(epoll, fd, out);
}

void accept_all(int epoll, int listener) {
  for (;;) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR) return;
      die("accept4");
    }
    if (static_cast<std::size_t>(fd) >= partial.size()) partial.resize(2 * fd + 1, -1);
    partial[static_cast<std::size_t>(fd)] = 0;
    epoll_event event{};
    event.events = EPOLLIN;  // level-triggered, like libevent's default
    event.data.fd = fd;
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) die("epoll_ctl ADD");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int listener = listen_on(argc > 1 ? std::atoi(argv[1]) : 0);
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) die("epoll_create1");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listener;
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event) != 0) die("epoll_ctl ADD");
  std::string out;  // replies of one read, reused: no allocation per request
  out.reserve(64 * 1024);
  epoll_event ready[64];
  for (;;) {
    const int n = epoll_wait(epoll, ready, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const int fd = ready[i].data.fd;
      if (fd == listener) {
        accept_all(epoll, listener);
      } else if (partial[static_cast<std::size_t>(fd)] >= 0) {
        serve(epoll, fd, out);
      }
    }
  }
}
