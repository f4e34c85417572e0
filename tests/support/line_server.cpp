#include "support/line_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace gotit::test {

namespace {

struct Client {
  UniqueFd fd;
  LineFramer framer;
  std::string out;  // replies not yet written
  bool closing = false;
  std::string held;  // Fault::reorder: a reply waiting for the next one
};

}  // namespace

LineServer::LineServer(LineServerOptions options) : options_(options) {
  ListenOptions listen;
  listen.bind_host = "127.0.0.1";
  listen.port = 0;
  listen.backlog = 1024;
  listen.nonblocking = true;
  listener_ = listen_tcp(listen);
  port_ = local_port(listener_.get());
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw SystemError("pipe2", errno);
  stop_read_.reset(fds[0]);
  stop_write_.reset(fds[1]);
  thread_ = std::thread([this] { serve(); });
}

LineServer::~LineServer() {
  stop_write_.reset();  // EOF on the pipe: the loop sees it within one poll
  thread_.join();
}

std::set<std::string> LineServer::peers() const {
  std::lock_guard lock(peers_mutex_);
  return peers_;
}

// Fault::slow_above_rate: counts messages per 50 ms; while the last full
// period ran faster than fault_at/s, each message first sleeps slow_us, so
// the server's capacity collapses above that rate: a knee at a known place.
void LineServer::pace(std::uint64_t number) {
  const auto now = std::chrono::steady_clock::now();
  constexpr auto kPeriod = std::chrono::milliseconds(50);
  if (now - period_start_ >= kPeriod) {
    const double seconds = std::chrono::duration<double>(now - period_start_).count();
    slow_ = static_cast<double>(number - period_first_) / seconds > static_cast<double>(options_.fault_at);
    period_start_ = now;
    period_first_ = number;
  }
  if (slow_) std::this_thread::sleep_for(std::chrono::microseconds(options_.slow_us));
}

void LineServer::serve() {
  std::vector<Client> clients;
  std::vector<pollfd> fds;
  char buffer[kReadBufferBytes];
  for (;;) {
    fds.clear();
    fds.push_back({stop_read_.get(), POLLIN, 0});
    fds.push_back({listener_.get(), static_cast<short>(options_.fault == Fault::stall ? 0 : POLLIN), 0});
    for (const Client& c : clients) {
      fds.push_back({c.fd.get(), static_cast<short>(c.out.empty() ? POLLIN : POLLIN | POLLOUT), 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) return;  // stop
    const std::size_t polled = clients.size();  // a client accepted below has no pollfd yet
    if (fds[1].revents & POLLIN) {
      sockaddr_in peer{};
      socklen_t length = sizeof peer;
      const int fd = ::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &length, SOCK_NONBLOCK);
      if (fd >= 0 && options_.fault == Fault::close_first && accepted_ < options_.fault_at) {
        ::close(fd);
        ++accepted_;
      } else if (fd >= 0) {
        clients.push_back(Client{UniqueFd(fd), {}, {}, false, {}});
        ++accepted_;
        char text[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
        std::lock_guard lock(peers_mutex_);
        peers_.insert(text);
      }
    }
    for (std::size_t i = 0; i < polled; ++i) {
      Client& c = clients[i];
      const short revents = fds[i + 2].revents;
      if (revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
        if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
          c.closing = true;
        } else if (n > 0) {
          c.framer.feed({buffer, static_cast<std::size_t>(n)}, [&](std::string_view message) {
            const std::uint64_t number = ++messages_;
            if (number == options_.fault_at && options_.fault == Fault::drop) return;
            if (number == options_.fault_at && options_.fault == Fault::corrupt) {
              c.out += "Got iX!\n";
              return;
            }
            if (number == options_.fault_at && (options_.fault == Fault::hang_up || options_.fault == Fault::reset)) {
              if (options_.fault == Fault::reset) {
                const linger abort{1, 0};
                ::setsockopt(c.fd.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
              }
              c.closing = true;
              return;
            }
            if (options_.fault == Fault::slow_above_rate) pace(number);
            if (number == options_.fault_at && options_.fault == Fault::reorder) {
              append_reply(options_.reply, message, c.held);
              return;
            }
            append_reply(options_.reply, message, c.out);
            c.out += c.held;
            c.held.clear();
          });
        }
      }
      if (!c.out.empty() && !c.closing) {
        const ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
        else if (n < 0 && errno != EAGAIN) c.closing = true;
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.closing; });
  }
}

}  // namespace gotit::test
