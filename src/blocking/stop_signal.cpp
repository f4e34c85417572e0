#include "stop_signal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>

namespace gotit::blocking {
namespace {

// The handler's only state: where to write, and how many stops were asked
// for. Lock-free, so safe in a handler.
std::atomic<int> stop_write_fd{-1};
std::atomic<int> stop_requests{0};
std::atomic<long long> first_stop_ns{0};  // CLOCK_MONOTONIC; 0: no stop yet
// Off in a forked child: a Ctrl-C reaches it and the parent forwards another
// stop; the child's own stop is bounded by --shutdown-timeout anyway.
std::atomic<bool> second_stops_at_once{true};
static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<long long>::is_always_lock_free);

extern "C" void on_stop_signal(int signal) {
  if (stop_requests.fetch_add(1) > 0 && second_stops_at_once.load()) {
    // The second one: stop at once, as the signal's default action does
    // (both calls are async-signal-safe).
    ::signal(signal, SIG_DFL);
    ::raise(signal);
    return;
  }
  const int saved_errno = errno;  // the interrupted code may be about to read errno
  // clock_gettime is async-signal-safe; steady_clock is CLOCK_MONOTONIC.
  timespec now{};
  long long unset = 0;
  if (::clock_gettime(CLOCK_MONOTONIC, &now) == 0) {
    first_stop_ns.compare_exchange_strong(unset, now.tv_sec * 1'000'000'000LL + now.tv_nsec);
  }
  const int fd = stop_write_fd.load();
  // Non-blocking: a second Ctrl-C on a full pipe must not hang the handler.
  if (fd >= 0 && ::write(fd, "!", 1) < 0) {
  }
  errno = saved_errno;
}

void set_handler(int signal, void (*handler)(int)) {
  struct sigaction action{};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: blocking calls return EINTR, and every wait in the server
  // is a poll() that also watches the pipe, so nothing misses the stop.
  if (sigaction(signal, &action, nullptr) != 0) throw SystemError("sigaction", errno);
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

StopSignal::StopSignal() {
  open_pipe();
  set_handler(SIGINT, on_stop_signal);
  set_handler(SIGTERM, on_stop_signal);
}

StopSignal::~StopSignal() {
  struct sigaction action{};
  action.sa_handler = SIG_DFL;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  stop_write_fd.store(-1);
}

void StopSignal::open_pipe() {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) throw SystemError("pipe2", errno);
  read_end_.reset(ends[0]);
  write_end_.reset(ends[1]);
  stop_write_fd.store(ends[1]);
}

void StopSignal::renew_after_fork() {
  second_stops_at_once.store(false);
  first_stop_ns.store(0);
  open_pipe();
}

std::chrono::steady_clock::time_point StopSignal::requested_at() const {
  const long long ns = first_stop_ns.load();
  if (ns == 0) return std::chrono::steady_clock::now();
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
}

bool StopSignal::requested() const {
  pollfd waiting{fd(), POLLIN, 0};
  return ::poll(&waiting, 1, 0) > 0;
}

BlockStopSignals::BlockStopSignals() {
  const sigset_t set = stop_signals();
  const int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (rc != 0) throw SystemError("pthread_sigmask", rc);
}

BlockStopSignals::~BlockStopSignals() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace gotit::blocking
