#include "gotit/reactor/server.hpp"

#include <event2/util.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/select.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "gotit/common/log.hpp"
#include "gotit/common/refuse_handshakes.hpp"
#include "gotit/common/start_up.hpp"
#include "gotit/reactor/bufferevent_read_event.hpp"

namespace gotit {
namespace {

// After EMFILE/ENFILE the listener sleeps this long before trying again.
constexpr timeval kAcceptRetry{0, 100'000};

EventConfigPtr make_config(Backend backend) {
  EventConfigPtr config(event_config_new());
  if (!config) throw SystemError("event_config_new", ENOMEM);
  // The backend is chosen here, not by EVENT_NO* environment variables.
  event_config_set_flag(config.get(), EVENT_BASE_FLAG_IGNORE_ENV);
  if (backend == Backend::automatic) return config;
  require_backend(backend);
  const std::string_view wanted = to_string(backend);
  for (const char** method = event_get_supported_methods(); *method; ++method) {
    if (wanted != *method && event_config_avoid_method(config.get(), *method) != 0) {
      throw SystemError("event_config_avoid_method", ENOMEM);
    }
  }
  return config;
}

}  // namespace

void require_backend(Backend backend) {
  if (backend == Backend::automatic) return;
  const std::string_view wanted = to_string(backend);
  std::string names;
  for (const char** method = event_get_supported_methods(); *method; ++method) {
    if (wanted == *method) return;
    names += names.empty() ? *method : fmt::format(", {}", *method);
  }
  throw UsageError(fmt::format("backend {} is not available here (available: {})", wanted, names));
}

// --- set-up -----------------------------------------------------------------

std::uint64_t select_connection_cap(const ServerCapacity& capacity) {
  return FD_SETSIZE - capacity.reserved;
}

ReactorServer::ReactorServer(const ReactorOptions& options, ReactorStats* counters)
    : options_(options), context_(counters != nullptr ? *counters : own_stats_) {
  const ServerCapacity capacity = prepare_server_process("gotit-reactor");
  build_loop();
  size_capacity(capacity);
  kernel_migrates_queue_ = options_.close_listener_when_full &&
                           read_sysctl("net/ipv4/tcp_migrate_req") == 1;
  start_listening();
  add_internal_events();
  if (options_.agent_port) {
    ListenOptions where = options_.server.listen;
    where.port = *options_.agent_port;
    agent_.emplace(base_.get(), where, max_conns_);
  }
}

// Teardown order, written once: sessions first (each frees its
// bufferevent, which lives on the base), then the listener (closing the
// listening socket), then the timer, signal and pipe events (which restores
// the old signal handlers), then the base itself; the self-pipe last.
ReactorServer::~ReactorServer() {
  context_.sessions.clear();
  context_.spare.clear();
  listener_.reset();
  resume_accepting_.reset();
  full_check_.reset();
  stop_timer_.reset();
  stats_timer_.reset();
  stop_event_.reset();
  sigint_.reset();
  sigterm_.reset();
  sigusr1_.reset();
  grace_timer_.reset();
  first_requests_timer_.reset();
  agent_.reset();
  base_.reset();
  stop_read_.reset();
  stop_write_.reset();
}

void ReactorServer::build_loop() {
  const EventConfigPtr config = make_config(options_.backend);
  base_.reset(event_base_new_with_config(config.get()));
  if (!base_) throw SystemError("event_base_new_with_config", errno ? errno : ENOMEM);
  select_backend_ = backend() == "select";
  context_.base = base_.get();
  context_.reply = options_.server.reply;
  context_.output_high_water = options_.output_high_water;
  context_.idle_timeout = options_.idle_timeout;
  context_.write_timeout = options_.write_timeout;
  context_.reader = options_.reader;
  context_.trace = options_.server.trace;
  std::string fallback;
  if (context_.reader == Reader::direct && !direct_reader_tested(fallback)) {
    context_.reader = Reader::bufferevent;
    fallback = fmt::format(" (not direct: {})", fallback);
  }
  context_.replies.reserve(64 * 1024);
  log::info("backend {}, reader {}{}", backend(), to_string(context_.reader), fallback);
}

void ReactorServer::size_capacity(const ServerCapacity& capacity) {
  const std::uint64_t fits = capacity.connections;
  max_conns_ = options_.max_conns ? options_.max_conns : fits;
  if (options_.max_conns > fits) {
    log::info("--max-conns {} is more than the file limit {} allows (about {}): "
              "accept will pause on EMFILE", options_.max_conns, capacity.file_limit, fits);
  }
  if (select_backend_) {
    const std::uint64_t select_cap = select_connection_cap(capacity);
    if (max_conns_ > select_cap) {
      max_conns_ = select_cap;
      log::info("select watches descriptors below FD_SETSIZE ({}) only: "
                "connections capped at {}", FD_SETSIZE, max_conns_);
    }
  }
  if (max_conns_ != fits) log::info("up to {}", log::count(max_conns_, "connection"));
}

void ReactorServer::start_listening() {
  ListenOptions listen = options_.server.listen;
  listen.nonblocking = true;  // the listener accepts until EAGAIN
  UniqueFd fd = listen_tcp(listen);
  // The kernel silently trims listen()'s backlog to net.core.somaxconn.
  const long somaxconn = read_sysctl("net/core/somaxconn");
  if (somaxconn > 0 && somaxconn < listen.backlog) {
    log::info("backlog {} is capped by net.core.somaxconn = {}", listen.backlog, somaxconn);
  }
  // Backlog 0 tells libevent the socket is already listening (listen_tcp
  // used our backlog; libevent's -1 would mean 128). No LEV_OPT_DEFERRED_ACCEPT:
  // idle peers never send, and they must be accepted all the same.
  listener_.reset(evconnlistener_new(
      base_.get(), on_accept, this,
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 0, fd.get()));
  if (!listener_) throw SystemError("evconnlistener_new", errno ? errno : ENOMEM);
  listening_fd_ = fd.release();  // the listener closes it now
  evconnlistener_set_error_cb(listener_.get(), on_accept_error);
}

void ReactorServer::add_internal_events() {
  auto add = [this](EventPtr& slot, event* created, const timeval* every, const char* what) {
    slot.reset(created);
    if (!slot || event_add(slot.get(), every) != 0) throw SystemError(what, ENOMEM);
  };
  resume_accepting_.reset(evtimer_new(base_.get(), on_resume_accepting, this));
  if (!resume_accepting_) throw SystemError("evtimer_new", ENOMEM);
  stop_timer_.reset(evtimer_new(base_.get(), on_stop_timeout, this));
  if (!stop_timer_) throw SystemError("evtimer_new", ENOMEM);
  full_check_.reset(evtimer_new(base_.get(), on_full_check, this));
  if (!full_check_) throw SystemError("evtimer_new", ENOMEM);
  first_requests_timer_.reset(evtimer_new(base_.get(), on_first_requests_due, this));
  if (!first_requests_timer_) throw SystemError("evtimer_new", ENOMEM);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) throw SystemError("pipe2", errno);
  stop_read_.reset(pipe_fds[0]);
  stop_write_.reset(pipe_fds[1]);
  add(stop_event_, event_new(base_.get(), stop_read_.get(), EV_READ | EV_PERSIST,
                             on_stop_requested, this), nullptr, "event_add stop pipe");
  if (options_.stats_interval.count() > 0) {
    const timeval every{static_cast<time_t>(options_.stats_interval.count()), 0};
    add(stats_timer_, event_new(base_.get(), -1, EV_PERSIST, on_stats_tick, this), &every,
        "event_add stats timer");
  }
  if (options_.handle_signals) {
    add(sigint_, evsignal_new(base_.get(), SIGINT, on_signal, this), nullptr, "evsignal SIGINT");
    add(sigterm_, evsignal_new(base_.get(), SIGTERM, on_signal, this), nullptr, "evsignal SIGTERM");
    add(sigusr1_, evsignal_new(base_.get(), SIGUSR1, on_signal, this), nullptr, "evsignal SIGUSR1");
  }
}

std::string_view ReactorServer::backend() const { return event_base_get_method(base_.get()); }

// --- running and stopping -----------------------------------------------------

bool ReactorServer::run() {
  if (event_base_dispatch(base_.get()) < 0) throw SystemError("event_base_dispatch", errno);
  return !stopped_at_once_;
}

void ReactorServer::request_stop() {
  // write() is async-signal-safe. EAGAIN means a request is already waiting
  // in the pipe, which is as good as this one.
  const char byte = 's';
  while (::write(stop_write_.get(), &byte, 1) < 0 && errno == EINTR) {
  }
}

// Graceful stop: shut the door on new clients and take those still queued
// (accept_queued), give the newest connections time for the request they
// are sending (kFirstRequestGrace), then close the listener and have every
// connection answer what it has, flush, FIN and wait for the peer's EOF
// (Session::begin_shutdown); the loop exits when the last connection is
// freed (ServingContext::release). --shutdown-timeout, counted from here,
// bounds it all: then the stop timer cuts whoever is left (a peer that never
// reads, or never closes).
void ReactorServer::stop(std::string_view why) {
  if (!grace_begun_ && options_.stop_grace.count() > 0) return begin_grace(why);
  if (agent_) agent_->begin_drain();
  if (context_.stopping || awaiting_first_requests()) {
    log::info("{} again: stopping at once, {} connections not flushed", why,
              context_.stats.open.get());
    stopped_at_once_ = true;
    event_base_loopbreak(base_.get());
    return;
  }
  log::info("{}: stopping; flushing {}", why, log::count(context_.stats.open.get(), "connection"));
  const timeval bound{static_cast<time_t>(options_.server.shutdown_timeout.count()), 0};
  if (evtimer_add(stop_timer_.get(), &bound) != 0) {
    log::error("evtimer_add: the stop has no bound; a second signal ends it");
  }
  if (listener_) refuse_new_handshakes(listening_fd_);
  accept_queued();
  // One timer for the server, not one per connection: until the newest is
  // kFirstRequestGrace old, every connection is served as usual. The
  // listener stays open meanwhile, so handshakes already under way complete.
  const auto wait = std::chrono::ceil<std::chrono::microseconds>(last_accept_ + kFirstRequestGrace -
                                                                 std::chrono::steady_clock::now());
  if (wait.count() > 0 && options_.server.shutdown_timeout.count() > 0) {
    const timeval due{0, static_cast<suseconds_t>(wait.count())};
    if (evtimer_add(first_requests_timer_.get(), &due) == 0) return;
  }
  shut_down_sessions();
}

void ReactorServer::on_first_requests_due(evutil_socket_t, short, void* self) noexcept {
  auto& server = *static_cast<ReactorServer*>(self);
  server.accept_queued();  // handshakes that completed meanwhile
  server.shut_down_sessions();
}

void ReactorServer::shut_down_sessions() {
  context_.stopping = true;
  listener_.reset();
  event_del(resume_accepting_.get());
  event_del(full_check_.get());
  for (auto it = context_.sessions.begin(); it != context_.sessions.end();) {
    Session& session = *it++;  // step first: begin_shutdown may free it
    session.begin_shutdown();
  }
  if (context_.sessions.empty()) event_base_loopexit(base_.get(), nullptr);
}

// libevent accepts until EAGAIN each time the listener is readable, but
// clients may have connected since this loop pass began: take them as any
// other (the stop then answers them with the rest) rather than let close()
// reset them (kMaxQueuedAtStop); stop() has shut the door on new ones
// first (refuse_handshakes.hpp). A full worker's listener may close meanwhile.
void ReactorServer::accept_queued() {
  for (int taken = 0; listener_ && taken < kMaxQueuedAtStop; ++taken) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const int fd = ::accept4(listening_fd_, reinterpret_cast<sockaddr*>(&address), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        log::error("stopping: accept: {}; the clients still queued are reset", std::strerror(errno));
      }
      return;
    }
    accept_one(fd, reinterpret_cast<const sockaddr*>(&address), static_cast<int>(length));
  }
}

// --shutdown-timeout passed: cut every connection still open. The last
// release ends the loop.
void ReactorServer::on_stop_timeout(evutil_socket_t, short, void* self) noexcept {
  auto& context = static_cast<ReactorServer*>(self)->context_;
  log::info("shutdown timeout: cutting {} connections", context.stats.open.get());
  for (auto it = context.sessions.begin(); it != context.sessions.end();) {
    Session& session = *it++;  // step first: cut frees it
    session.cut();
  }
}

// --stop-grace: the agent says "drain" at once, but the listener stays open
// for the grace, so a client the balancer sends before it has read "drain"
// is still served. Then the ordinary graceful stop. A second stop request
// during the grace ends it early; a third stops at once.
void ReactorServer::begin_grace(std::string_view why) {
  grace_begun_ = true;
  if (agent_) agent_->begin_drain();
  const timeval grace{static_cast<time_t>(options_.stop_grace.count()), 0};
  grace_timer_.reset(evtimer_new(base_.get(), on_grace_over, this));
  if (!grace_timer_ || evtimer_add(grace_timer_.get(), &grace) != 0) {
    log::error("{}: cannot start the stop grace timer; stopping now", why);
    return stop(why);
  }
  log::info("{}: draining; still accepting for {} s ({} open)", why,
            options_.stop_grace.count(), context_.stats.open.get());
}

void ReactorServer::on_grace_over(evutil_socket_t, short, void* self) noexcept {
  auto& server = *static_cast<ReactorServer*>(self);
  if (!server.context_.stopping) server.stop("stop grace over");
}

// A signal, delivered by libevent through its internal pipe as an ordinary
// event, so this runs in the loop like any callback, not in a signal handler.
void ReactorServer::on_signal(evutil_socket_t signal, short, void* self) noexcept {
  auto& server = *static_cast<ReactorServer*>(self);
  if (signal == SIGUSR1) {
    log::info("{}", format_stats(server.stats()));
    return;
  }
  server.stop(signal == SIGINT ? "SIGINT" : "SIGTERM");
}

// EV_READ on the self-pipe: request_stop() wrote to it. Empty the pipe, or
// it would stay readable and call us again on every loop turn.
void ReactorServer::on_stop_requested(evutil_socket_t fd, short, void* self) noexcept {
  char bytes[64];
  ssize_t n;
  int requests = 0;
  while ((n = ::read(fd, bytes, sizeof bytes)) > 0 || (n < 0 && errno == EINTR)) {
    requests += n > 0 ? static_cast<int>(n) : 0;
  }
  auto& server = *static_cast<ReactorServer*>(self);
  for (int i = 0; i < requests && !server.stopped_at_once_; ++i) server.stop("stop requested");
}

void ReactorServer::on_stats_tick(evutil_socket_t, short, void* self) noexcept {
  static_cast<ReactorServer*>(self)->print_stats_line();
}

// Runs only on the stats timer, which exists only when the interval is > 0.
void ReactorServer::print_stats_line() {
  const ReactorStats& s = context_.stats;
  const auto seconds = static_cast<double>(options_.stats_interval.count());
  const RateBase now{s.accepted.get(), s.messages.get(), s.bytes_in.get(), s.bytes_out.get()};
  log::info("stats: {} open, {:.0f} accepts/s, {:.0f} messages/s, {:.0f} bytes in/s, "
            "{:.0f} bytes out/s, {} reaped by keepalive", s.open.get(),
            static_cast<double>(now.accepted - last_tick_.accepted) / seconds,
            static_cast<double>(now.messages - last_tick_.messages) / seconds,
            static_cast<double>(now.bytes_in - last_tick_.bytes_in) / seconds,
            static_cast<double>(now.bytes_out - last_tick_.bytes_out) / seconds,
            s.peers_reaped.get());
  last_tick_ = now;
}

// --- accepting --------------------------------------------------------------

// EV_READ on the listening socket: libevent has called accept4() in a loop
// (until EAGAIN) and calls us once per new socket, already non-blocking and
// close-on-exec. The descriptor is ours now: returning without taking it
// into service or closing it would leak it.
void ReactorServer::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* address,
                              int length, void* self) noexcept {
  static_cast<ReactorServer*>(self)->accept_one(fd, address, length);
}

void ReactorServer::accept_one(int fd, const sockaddr* address, int length) {
  last_accept_ = std::chrono::steady_clock::now();
  if (pause_logged_) {
    log::info("accepting again ({} open)", context_.stats.open.get());
    pause_logged_ = false;
  }
  const bool full = context_.stats.open.get() >= max_conns_ && !note_full();
  if (full || (select_backend_ && fd >= FD_SETSIZE)) return reject_full(fd);
  // Checked first: log::at evaluates its arguments even when it prints
  // nothing, and format_address allocates, once per accept.
  if (log::enabled(log::Level::connection)) {
    log::at(log::Level::connection, "accepted {} on fd {}",
            format_address(address, static_cast<socklen_t>(length)), fd);
  }
  if (context_.trace) context_.trace_accept(fd, address, length);
  if (!context_.adopt(fd)) {
    log::error("bufferevent_socket_new: out of memory; dropping a connection");
    evutil_closesocket(fd);
  }
}

// Over --max-conns: say so and close. A new socket's send buffer is empty,
// so one non-blocking send takes the whole line or the peer is gone already.
void ReactorServer::reject_full(int fd) {
  context_.stats.rejected_full.add();
  if (::send(fd, kServerFullReply.data(), kServerFullReply.size(),
             MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    log::at(log::Level::connection, "fd {}: send: {}", fd, std::strerror(errno));
  }
  // close() with the peer's request unread would send RST, which can destroy
  // the line before the peer reads it. So FIN after the line, then drop what
  // has arrived. A request that arrives only after the close still meets a
  // reset: lingering for it (as a session does) would take a descriptor the
  // full server does not have to spare.
  if (::shutdown(fd, SHUT_WR) == 0) {
    char unread[256];
    while (::recv(fd, unread, sizeof unread, MSG_DONTWAIT) > 0) {
    }
  }
  if (::close(fd) != 0) log::error("close fd {}: {}", fd, std::strerror(errno));
  log::at(log::Level::connection, "server full ({} open): turned a peer away",
          context_.stats.open.get());
}

// accept() failed with something other than EAGAIN, EINTR or ECONNABORTED
// (which libevent handles itself). With EMFILE or ENFILE the peer stays in
// the kernel's queue, so the listening socket stays readable: if we returned
// with the listener enabled, the loop would call accept() again at once and
// fail again -- a busy loop at 100% CPU. So pause the listener and try again
// after a short sleep, whatever the error (none of them is fixed by retrying
// at once).
void ReactorServer::on_accept_error(evconnlistener*, void* self) noexcept {
  const int error = EVUTIL_SOCKET_ERROR();  // before anything can overwrite it
  static_cast<ReactorServer*>(self)->pause_accepting(error);
}

void ReactorServer::pause_accepting(int error) {
  context_.stats.accept_pauses.add();
  if (evconnlistener_disable(listener_.get()) != 0 ||
      evtimer_add(resume_accepting_.get(), &kAcceptRetry) != 0) {
    log::error("cannot pause the listener after accept: {}", std::strerror(error));
    return;
  }
  if (!pause_logged_) {  // once per episode, not once per retry
    log::error("accept: {}; pausing the listener, retrying every {} ms ({} open)",
               std::strerror(error), kAcceptRetry.tv_usec / 1000, context_.stats.open.get());
    pause_logged_ = true;
  }
}

// The retry timer expired: listen again. If the descriptors are still all
// in use, accept fails once more and on_accept_error pauses us again.
void ReactorServer::on_resume_accepting(evutil_socket_t, short, void* self) noexcept {
  auto& server = *static_cast<ReactorServer*>(self);
  if (server.listener_ && evconnlistener_enable(server.listener_.get()) != 0) {
    log::error("evconnlistener_enable failed; retrying");
    evtimer_add(server.resume_accepting_.get(), &kAcceptRetry);
  }
}

}  // namespace gotit
