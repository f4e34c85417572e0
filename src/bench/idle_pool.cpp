#include "gotit/bench/idle_pool.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace gotit {

IdlePool::IdlePool(BenchContext& context, int target)
    : context_(context), target_(target), slots_(static_cast<std::size_t>(target)) {
  for (Slot& slot : slots_) slot.pool = this;
}

void IdlePool::start() {
  while (next_ < target_ && next_ - finished_ < kMaxConnecting) start_next();
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
  if (!start.in_progress) {
    connected(slot);
    return;
  }
  slot.event = make_event(context_.base.get(), slot.fd.get(), EV_WRITE, on_connect, &slot);
  add_event(slot.event.get(), context_.connect_timeout);
}

// Writability (or the timeout) after a non-blocking connect: SO_ERROR says
// whether the handshake finished.
void IdlePool::on_connect(evutil_socket_t fd, short what, void* argument) {
  Slot& slot = *static_cast<Slot*>(argument);
  const int error = (what & EV_TIMEOUT) ? ETIMEDOUT : connect_result(fd);
  if (error != 0) {
    slot.pool->failed(slot, error);
  } else {
    slot.pool->connected(slot);
  }
  slot.pool->start();  // keep kMaxConnecting in flight
}

void IdlePool::connected(Slot& slot) {
  context_.result.connect_time.record(nanoseconds(Clock::now() - slot.started));
  ++opened_;
  ++held_;
  ++finished_;
  // Held connections wait only for the server to close them (or write).
  slot.event = make_event(context_.base.get(), slot.fd.get(), EV_READ, on_readable, &slot);
  add_event(slot.event.get());
}

void IdlePool::failed(Slot& slot, int error_number) {
  context_.result.add_error(connect_error_kind(error_number),
                            fmt::format("idle connect {}: {}", context_.target.text,
                                        std::strerror(error_number)));
  slot.event.reset();
  slot.fd.reset();
  ++finished_;
}

// Readability on a held connection: the server closed it, reset it, or sent
// something unasked (e.g. "Error: server full"). Any of them loses it.
void IdlePool::on_readable(evutil_socket_t fd, short, void* argument) {
  Slot& slot = *static_cast<Slot*>(argument);
  IdlePool& pool = *slot.pool;
  std::vector<char>& buffer = pool.context_.read_buffer;
  const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    add_event(slot.event.get());
    return;
  }
  std::string example = n > 0   ? fmt::format("an idle connection got \"{}\"",
                                              escape(std::string_view(buffer.data(), std::min<std::size_t>(static_cast<std::size_t>(n), 80))))
                        : n == 0 ? std::string("the server closed an idle connection")
                                 : fmt::format("idle connection: recv: {}", std::strerror(errno));
  pool.context_.result.add_error(ErrorKind::idle_closed, example);
  slot.event.reset();
  slot.fd.reset();
  --pool.held_;
}

}  // namespace gotit
