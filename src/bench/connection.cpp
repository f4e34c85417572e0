#include "gotit/bench/connection.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace gotit {

namespace {
constexpr auto kRetryDelay = std::chrono::milliseconds(100);
}

BenchConnection::BenchConnection(BenchContext& context, int index)
    : context_(context),
      index_(index),
      checker_(context.reply),
      sent_(static_cast<std::size_t>(context.options.depth)) {
  timer_ = make_event(context_.base.get(), -1, 0, on_timer, this);
}

void BenchConnection::connect() {
  state_ = State::connecting;
  connect_started_ = Clock::now();
  ConnectStart start = start_connect(context_.target, context_.next_source());
  if (start.error != 0) {
    fail(connect_error_kind(start.error),
         fmt::format("connect {}: {}", context_.target.text, std::strerror(start.error)));
    return;
  }
  fd_ = std::move(start.fd);
  if (!start.in_progress) {
    connected();
    return;
  }
  write_event_ = make_event(context_.base.get(), fd_.get(), EV_WRITE, on_connect, this);
  add_event(write_event_.get(), context_.connect_timeout);
}

// Writability (or the timeout) after a non-blocking connect.
void BenchConnection::on_connect(evutil_socket_t fd, short what, void* argument) {
  auto& self = *static_cast<BenchConnection*>(argument);
  const int error = (what & EV_TIMEOUT) ? ETIMEDOUT : connect_result(fd);
  if (error != 0) {
    self.fail(connect_error_kind(error),
              fmt::format("connect {}: {}", self.context_.target.text, std::strerror(error)));
  } else {
    self.connected();
  }
}

void BenchConnection::connected() {
  context_.result.connect_time.record(nanoseconds(Clock::now() - connect_started_));
  set_nodelay(fd_.get());
  state_ = State::running;
  checker_ = ReplyChecker(context_.reply);
  head_ = in_flight_ = unsent_bytes_ = batch_offset_ = outbox_sent_ = 0;
  outbox_.clear();
  next_sequence_ = 0;
  read_event_ = make_event(context_.base.get(), fd_.get(), EV_READ | EV_PERSIST, on_readable, this);
  add_event(read_event_.get());
  write_event_ = make_event(context_.base.get(), fd_.get(), EV_WRITE, on_writable, this);
  if (context_.sending) start_load();  // a reconnect during the load
}

void BenchConnection::start_load() {
  if (state_ != State::running) return;
  const Clock::time_point now = Clock::now();
  if (context_.options.new_connection_per_request) {
    send_requests(1, connect_started_, now);  // timed from the connect
    return;
  }
  if (context_.options.rate <= 0) {
    send_requests(sent_.size(), now, now);
    return;
  }
  // Open loop: each connection sends every conns/rate seconds, the
  // connections staggered evenly across one interval.
  const double seconds = context_.options.conns / context_.options.rate;
  interval_ = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  next_due_ = now + interval_ * index_ / context_.options.conns;
  send_due(now);
}

void BenchConnection::send_requests(std::size_t count, Clock::time_point scheduled,
                                    Clock::time_point now) {
  if (in_flight_ == 0 && count > 0) last_progress_ = now;
  for (std::size_t i = 0; i < count; ++i) {
    sent_[(head_ + in_flight_) % sent_.size()] = scheduled;
    ++in_flight_;
  }
  context_.result.requests_sent += count;
  const std::string& request = context_.options.request;
  if (context_.options.sequence_tags) {
    for (std::size_t i = 0; i < count; ++i) {
      outbox_ += request;
      write_sequence_tag(next_sequence_++, outbox_.data() + outbox_.size() - request.size());
    }
  }
  unsent_bytes_ += count * request.size();
  flush();
}

// Sends every request whose time has come, as long as `depth` allows; the
// rest wait (keeping their due time) until replies make room.
void BenchConnection::send_due(Clock::time_point now) {
  if (!context_.sending || state_ != State::running) return;
  while (next_due_ <= now && in_flight_ < sent_.size()) {
    send_requests(1, next_due_, now);
    if (state_ != State::running) return;
    next_due_ += interval_;
  }
  if (in_flight_ < sent_.size()) add_event(timer_.get(), next_due_ - now);
}

void BenchConnection::flush() {
  const std::size_t request_size = context_.options.request.size();
  while (unsent_bytes_ > 0) {
    // batch holds depth+1 requests: unsent_bytes_ <= depth requests always
    // fit after an offset inside the first one.
    const char* from = context_.options.sequence_tags ? outbox_.data() + outbox_sent_
                                                     : context_.batch.data() + batch_offset_;
    const ssize_t n = ::send(fd_.get(), from, unsent_bytes_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        add_event(write_event_.get());  // the socket buffer is full: wait
        return;
      }
      const int error = errno;
      fail(error == EPIPE || error == ECONNRESET ? ErrorKind::reset_by_server : ErrorKind::io_error,
           fmt::format("send: {}", std::strerror(error)));
      return;
    }
    unsent_bytes_ -= static_cast<std::size_t>(n);
    batch_offset_ = (batch_offset_ + static_cast<std::size_t>(n)) % request_size;
    outbox_sent_ += static_cast<std::size_t>(n);
  }
  if (context_.options.sequence_tags) {  // all sent: empty it, keep its capacity
    outbox_.clear();
    outbox_sent_ = 0;
  }
}

void BenchConnection::on_writable(evutil_socket_t, short, void* argument) {
  static_cast<BenchConnection*>(argument)->flush();
}

void BenchConnection::on_timer(evutil_socket_t, short, void* argument) {
  auto& self = *static_cast<BenchConnection*>(argument);
  if (self.state_ == State::retry_wait) {
    self.connect();
  } else {
    self.send_due(Clock::now());
  }
}

// Readability: replies (or EOF). Read once per wake-up, 64 KiB at most, so
// one busy connection cannot starve the others; level-triggered events
// bring us back for the rest.
void BenchConnection::on_readable(evutil_socket_t, short, void* argument) {
  static_cast<BenchConnection*>(argument)->read_available();
}

void BenchConnection::read_available() {
  std::vector<char>& buffer = context_.read_buffer;
  const ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    const int error = errno;
    fail(error == ECONNRESET ? ErrorKind::reset_by_server : ErrorKind::io_error,
         fmt::format("recv: {}", std::strerror(error)));
    return;
  }
  if (n == 0) {
    if (!context_.sending && in_flight_ == 0 && !checker_.mid_reply()) {
      close_socket();
      state_ = State::closed;
      return;
    }
    fail(ErrorKind::closed_by_server,
         fmt::format("the server closed a connection with {} requests in flight", in_flight_));
    return;
  }
  const Clock::time_point now = Clock::now();
  last_progress_ = now;
  const ReplyChecker::Result checked = checker_.feed({buffer.data(), static_cast<std::size_t>(n)});
  if (checked.replies > in_flight_) {
    fail(ErrorKind::wrong_reply, fmt::format("{} replies arrived for {} requests in flight",
                                             checked.replies, in_flight_));
    return;
  }
  on_replies(checked.replies, now);
  if (!checked.ok && state_ == State::running) {
    fail(ErrorKind::wrong_reply, checker_.failure());
    return;
  }
  if (context_.options.new_connection_per_request && checked.replies > 0) next_connection();
}

// Connection rate: the one reply has come; close and (while the load runs)
// connect again at once. With --close-rst, SO_LINGER 0 makes close() send
// RST: no FIN handshake, no TIME_WAIT left on our side.
void BenchConnection::next_connection() {
  if (context_.options.close_rst) {
    const linger abort{1, 0};
    // Reported, not thrown: this runs inside a libevent callback.
    if (setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort) != 0) {
      fail(ErrorKind::io_error, fmt::format("setsockopt SO_LINGER: {}", std::strerror(errno)));
      return;
    }
  }
  close_socket();
  state_ = State::closed;
  if (context_.sending) connect();
}

void BenchConnection::on_replies(std::size_t count, Clock::time_point now) {
  if (count == 0) return;
  RunResult& result = context_.result;
  const bool received_in_window = now >= context_.window_start && now < context_.window_end;
  for (std::size_t i = 0; i < count; ++i) {
    const Clock::time_point sent = sent_[head_];
    head_ = (head_ + 1) % sent_.size();
    if (sent >= context_.window_start && sent < context_.window_end) {
      result.latency.record(nanoseconds(now - sent));
    }
    context_.interval_latency.record(nanoseconds(now - sent));
  }
  in_flight_ -= count;
  result.replies += count;
  if (received_in_window) result.replies_in_window += count;
  if (!context_.sending || context_.options.new_connection_per_request) return;
  if (context_.options.rate <= 0) {
    send_requests(count, now, now);  // closed loop: one new request per reply
  } else {
    send_due(now);
  }
}

void BenchConnection::count_overdue(Clock::time_point window_end) {
  if (context_.options.rate <= 0 || context_.options.new_connection_per_request) return;
  if (state_ != State::running) return;
  RunResult& result = context_.result;
  // Bounded: a schedule never runs more than the window's length ahead of
  // the sends it could make, so this is at most rate x duration / conns.
  for (Clock::time_point due = std::max(next_due_, context_.window_start); due < window_end;
       due += interval_) {
    ++result.overdue_unsent;
    result.latency.record(nanoseconds(window_end - due));
  }
}

void BenchConnection::check_stalled(Clock::time_point now) {
  if (state_ != State::running || in_flight_ == 0 || now - last_progress_ < context_.timeout) return;
  fail(ErrorKind::reply_timeout,
       fmt::format("no reply for {} s with {} requests in flight", context_.options.timeout_s,
                   in_flight_));
}

void BenchConnection::fail(ErrorKind kind, std::string example) {
  context_.result.add_error(kind, example);
  context_.result.missing_replies += in_flight_;
  in_flight_ = 0;
  close_socket();
  if (context_.sending) {
    state_ = State::retry_wait;
    add_event(timer_.get(), kRetryDelay);
  } else {
    state_ = State::closed;
  }
}

void BenchConnection::finish() {
  if (state_ == State::running && in_flight_ > 0) {
    context_.result.add_error(ErrorKind::reply_timeout,
                              fmt::format("{} requests still unanswered at the end", in_flight_));
    context_.result.missing_replies += in_flight_;
    in_flight_ = 0;
  }
  timer_.reset();
  close_socket();
  state_ = State::closed;
}

void BenchConnection::close_socket() {
  // Events first: libevent must forget the descriptor before it is closed.
  read_event_.reset();
  write_event_.reset();
  fd_.reset();
}

}  // namespace gotit
