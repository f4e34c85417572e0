#include "gotit/bench/idle_pool.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace gotit {

IdlePool::IdlePool(BenchContext& context, int target)
    : context_(context), target_(target), slots_(static_cast<std::size_t>(target)), end_(target) {
  for (Slot& slot : slots_) slot.pool = this;
}

void IdlePool::start() {
  while (next_ < end_ && next_ - finished_ < kMaxConnecting) start_next();
}

void IdlePool::start_next() {
  Slot& slot = slots_[static_cast<std::size_t>(next_++)];
  slot.started = Clock::now();
  ConnectStart start = start_connect(context_.target, context_.next_source());
  if (start.error != 0) {
    failed(slot, start.error);
    return;
  }
  slot.fd = std::move(start.fd);
  // One registration, edge-triggered, for the slot's whole life: the first
  // edge says the handshake ended (writable, or an error), later ones that
  // the server wrote or closed. Level-triggered writability would fire for
  // as long as the connection is idle, and trading it for readability once
  // connected cost two epoll_ctl calls per connection, two of the eight
  // system calls each took (docs/benchmarks.md, section 7).
  slot.event = make_event(context_.base.get(), slot.fd.get(), EV_READ | EV_WRITE | EV_ET | EV_PERSIST,
                          on_event, &slot);
  add_event(slot.event.get(), context_.connect_timeout);
  if (!start.in_progress) connected(slot);
}

void IdlePool::on_event(evutil_socket_t fd, short what, void* argument) {
  Slot& slot = *static_cast<Slot*>(argument);
  IdlePool& pool = *slot.pool;
  if (!slot.connected) {
    // Writable alone means connected: a handshake that failed also reports
    // an error or a hang-up, which libevent passes on as EV_READ|EV_WRITE,
    // and then SO_ERROR says why. (The timeout runs only until connected.)
    const int error = (what & EV_TIMEOUT) ? ETIMEDOUT : (what & EV_READ) ? connect_result(fd) : 0;
    if (error != 0) {
      pool.failed(slot, error);
    } else {
      pool.connected(slot);
    }
    pool.start();  // keep kMaxConnecting in flight
    if (!slot.connected) return;
  }
  if (what & EV_READ) pool.read_unasked(slot);
}

void IdlePool::connected(Slot& slot) {
  context_.result.connect_time.record(nanoseconds(Clock::now() - slot.started));
  slot.connected = true;
  ++opened_;
  ++held_;
  ++finished_;
  timeouts_in_a_row_ = 0;
  event_remove_timer(slot.event.get());  // held connections wait without one
}

void IdlePool::failed(Slot& slot, int error_number) {
  context_.result.add_error(connect_error_kind(error_number),
                            fmt::format("idle connect {}: {}", context_.target.text,
                                        std::strerror(error_number)));
  slot.event.reset();
  slot.fd.reset();
  ++finished_;
  if (error_number == ETIMEDOUT && ++timeouts_in_a_row_ == kTimeoutsInARowToGiveUp && next_ < end_) give_up();
}

// A server that stopped accepting (paused at its file limit, or full)
// leaves its accept queues full, and the kernel drops SYNs to them: every
// connect from here on waits out --connect-timeout, kMaxConnecting at a
// time. So stop here: the connects in flight still end, the rest are
// counted as failed and not tried.
void IdlePool::give_up() {
  const int untried = end_ - next_;
  end_ = next_;
  context_.result.idle_gave_up = fmt::format(
      "idle: {} connects in a row timed out (--connect-timeout {:g} s): the server takes no more "
      "connections; {} opened so far, {} of {} not tried",
      timeouts_in_a_row_, context_.options.connect_timeout_s, opened_, untried, target_);
}

// Readability on a held connection: the server closed it, reset it, or sent
// something unasked (e.g. "Error: server full"). Any of them loses it.
void IdlePool::read_unasked(Slot& slot) {
  std::vector<char>& buffer = context_.read_buffer;
  ssize_t n;
  do {
    n = ::recv(slot.fd.get(), buffer.data(), buffer.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;  // nothing after all: a later edge will say
  std::string example = n > 0   ? fmt::format("an idle connection got \"{}\"",
                                              escape(std::string_view(buffer.data(), std::min<std::size_t>(static_cast<std::size_t>(n), 80))))
                        : n == 0 ? std::string("the server closed an idle connection")
                                 : fmt::format("idle connection: recv: {}", std::strerror(errno));
  context_.result.add_error(ErrorKind::idle_closed, example);
  slot.event.reset();
  slot.fd.reset();
  --held_;
}

}  // namespace gotit
