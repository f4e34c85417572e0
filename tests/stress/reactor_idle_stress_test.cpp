// Stress (meson test --suite stress): 10,000 idle connections, held by a
// separate process, while an active client keeps getting its replies.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "catch.hpp"
#include "gotit/bench/proc_stats.hpp"
#include "support/client.hpp"
#include "support/eventually.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::test::ChildProcess;
using gotit::test::TestClient;
using gotit::test::eventually;
using gotit::test::repeat;

constexpr int kIdle = 10'000;

// A forked process that opens `count` connections to 127.0.0.1:port, reports
// how many it holds on a pipe, and keeps them until it is killed (by PID, in
// the destructor). The child uses only async-signal-safe calls.
class IdleHolder {
 public:
  IdleHolder(std::uint16_t port, int count) {
    int report[2];
    REQUIRE(pipe(report) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) hold(report[1], port, count);  // never returns
    ::close(report[1]);
    report_ = report[0];
  }
  ~IdleHolder() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::close(report_);
  }
  IdleHolder(const IdleHolder&) = delete;
  IdleHolder& operator=(const IdleHolder&) = delete;

  // How many connections the child holds, once it has opened them all (or
  // failed); -1 if it says nothing within `timeout`.
  int wait_ready(std::chrono::milliseconds timeout) {
    pollfd waiting{report_, POLLIN, 0};
    if (::poll(&waiting, 1, static_cast<int>(timeout.count())) <= 0) return -1;
    int held = -1;
    return ::read(report_, &held, sizeof held) == sizeof held ? held : -1;
  }

 private:
  [[noreturn]] static void hold(int report, std::uint16_t port, int count) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      limit.rlim_cur = limit.rlim_max;
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int held = 0;
    for (; held < count; ++held) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) break;
      if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) break;
    }
    if (::write(report, &held, sizeof held) != sizeof held) _exit(1);
    for (;;) ::pause();
  }

  pid_t pid_ = -1;
  int report_ = -1;
};

long rss_kib(pid_t pid) {
  return static_cast<long>(gotit::sample_process_tree(pid).value().rss_bytes / 1024);
}

}  // namespace

TEST_CASE("10,000 idle connections from another process; an active client is still answered") {
  ChildProcess server(GOTIT_GOTIT_REACTOR_BIN, {"--port", "0", "--bind", "127.0.0.1"});
  const auto port = server.wait_for_port();
  TestClient active(port);
  active.send("warm up\n");
  REQUIRE(active.read_line() == "Got it!\n");
  const long rss_before = rss_kib(server.pid());

  IdleHolder idle(port, kIdle);
  REQUIRE(idle.wait_ready(120s) == kIdle);
  // The server has taken them all into service (open = idle + active).
  const std::string expected = "open " + std::to_string(kIdle + 1) + ",";
  REQUIRE(eventually([&] {
    server.send_signal(SIGUSR1);
    std::this_thread::sleep_for(100ms);
    return server.stderr_text().find(expected) != std::string::npos;
  }, 60s));
  const long rss_after = rss_kib(server.pid());
  const double bytes_per_connection = static_cast<double>(rss_after - rss_before) * 1024 / kIdle;
  WARN("server RSS " << rss_before << " KiB -> " << rss_after << " KiB with " << kIdle
                     << " idle connections: " << bytes_per_connection << " bytes each");
#ifndef __SANITIZE_ADDRESS__  // ASan's shadow memory and redzones inflate RSS
  CHECK(bytes_per_connection < 1.5 * 1024);
#endif

  // Ping-pong and a pipeline, all answered while the idle peers are held.
  int answered = 0;
  for (int i = 0; i < 2000; ++i) {
    active.send("hello\n");
    answered += active.read_line() == "Got it!\n";
  }
  CHECK(answered == 2000);
  active.send(repeat("hello\n", 10'000));
  CHECK(active.read_lines(10'000) == std::vector<std::string>(10'000, "Got it!\n"));

  // A graceful stop closes all 10,001 and exits 0.
  server.send_signal(SIGTERM);
  const auto status = server.wait(60s);
  REQUIRE(status);
  CHECK(status->code == 0);
  CHECK(server.stderr_text().find("peak connections " + std::to_string(kIdle + 1)) !=
        std::string::npos);
}
