// gotit-reactor's server: one thread, one libevent event_base.
//
// An evconnlistener accepts; every peer becomes a Session (a bufferevent
// plus the shared Replier, session.hpp); signals and timers are events
// on the same loop, so nothing ever runs concurrently with anything else.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <event2/listener.h>

#include "gotit/common/event_handles.hpp"
#include "gotit/common/net.hpp"
#include "gotit/common/start_up.hpp"
#include "gotit/reactor/agent.hpp"
#include "gotit/reactor/session.hpp"
#include "gotit/reactor/options.hpp"
#include "gotit/reactor/stats.hpp"

namespace gotit {

// select() takes bit sets of FD_SETSIZE bits, and glibc aborts on an fd past
// them: with --backend select every descriptor, the reserve included, stays
// below FD_SETSIZE. This is how many peers that leaves.
std::uint64_t select_connection_cap(const ServerCapacity& capacity);

// Throws UsageError naming the backends libevent has here when `backend`
// is not one of them. The master checks before it starts any worker.
void require_backend(Backend backend);

// Owns the event_base and everything registered on it: the listener (and
// the listening socket), the signal and timer events, the self-pipe behind
// request_stop(), and -- through ServingContext -- every connection.
// Loop thread only, except request_stop() and stats(), which any thread
// (or a signal handler, for request_stop) may call.
class ReactorServer {
 public:
  // Ignores SIGPIPE, raises the file limit (prepare_server_process), builds
  // the loop on the chosen backend, picks the reader and starts listening.
  // Logs the backend, the reader in effect and the capacity.
  // Counts into `counters` if given (a worker: its slot in the master's
  // shared memory, read live from there), else into its own.
  // Throws UsageError (bad backend, bad address) or SystemError.
  explicit ReactorServer(const ReactorOptions& options, ReactorStats* counters = nullptr);
  ~ReactorServer();
  ReactorServer(const ReactorServer&) = delete;
  ReactorServer& operator=(const ReactorServer&) = delete;

  // Serves until a stop finishes. Returns true after a graceful stop (every
  // reply flushed), false when a second stop request cut it short.
  bool run();
  // Starts a graceful stop, like SIGTERM; a second call stops at once.
  // Safe from any thread and from a signal handler.
  void request_stop();

  const ReactorStats& stats() const { return context_.stats; }
  int listening_fd() const { return listening_fd_; }
  std::uint16_t port() const { return local_port(listening_fd_); }
  std::string_view backend() const;  // the method libevent really uses
  std::size_t max_conns() const { return max_conns_; }
  // The reader in effect: --reader, or bufferevent where direct is untested.
  Reader reader() const { return context_.reader; }
  const AgentPort* agent() const { return agent_ ? &*agent_ : nullptr; }  // null without --agent-port

 private:
  static void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* address,
                        int length, void* self) noexcept;
  static void on_accept_error(evconnlistener*, void* self) noexcept;
  static void on_resume_accepting(evutil_socket_t, short, void* self) noexcept;
  static void on_signal(evutil_socket_t signal, short, void* self) noexcept;
  static void on_stop_requested(evutil_socket_t fd, short, void* self) noexcept;
  static void on_stats_tick(evutil_socket_t, short, void* self) noexcept;
  static void on_stop_timeout(evutil_socket_t, short, void* self) noexcept;
  static void on_grace_over(evutil_socket_t, short, void* self) noexcept;
  static void on_first_requests_due(evutil_socket_t, short, void* self) noexcept;

  void build_loop();
  void size_capacity(const ServerCapacity& capacity);
  void start_listening();
  void add_internal_events();
  void accept_one(int fd, const sockaddr* address, int length);
  void reject_full(int fd);
  void pause_accepting(int error);
  void stop(std::string_view why);
  void accept_queued();
  void shut_down_sessions();
  bool awaiting_first_requests() const { return evtimer_pending(first_requests_timer_.get(), nullptr) != 0; }
  // Worker mode (full_listener.cpp).
  static void on_full_check(evutil_socket_t, short, void* self) noexcept;
  bool note_full();
  void close_full_listener();
  void check_room();
  void begin_grace(std::string_view why);
  void print_stats_line();

  ReactorOptions options_;
  std::size_t max_conns_ = 0;
  bool select_backend_ = false;    // fds must stay below FD_SETSIZE
  int listening_fd_ = -1;          // owned by listener_
  bool pause_logged_ = false;      // this EMFILE episode has been reported
  bool stopped_at_once_ = false;   // a second stop request broke the loop
  bool kernel_migrates_queue_ = false;  // worker mode, net.ipv4.tcp_migrate_req = 1
  bool grace_begun_ = false;       // a stop signal started --stop-grace
  // A stop waits for requests on their way (kFirstRequestGrace) while
  // first_requests_timer_ is pending. One clock read per accept, none per message.
  std::chrono::steady_clock::time_point last_accept_{};
  struct RateBase {                // counters at the last stats line
    std::uint64_t accepted = 0, messages = 0, bytes_in = 0, bytes_out = 0;
  } last_tick_;

  UniqueFd stop_read_, stop_write_;  // the self-pipe behind request_stop()
  EventBasePtr base_;
  ListenerPtr listener_;
  EventPtr resume_accepting_;        // re-enables the listener after EMFILE
  EventPtr stats_timer_;
  EventPtr full_check_;              // worker mode: closes/reopens the listener
  EventPtr stop_timer_;              // --shutdown-timeout: cuts what a stop left open
  EventPtr stop_event_;
  EventPtr sigint_, sigterm_, sigusr1_;
  EventPtr grace_timer_;             // ends --stop-grace
  EventPtr first_requests_timer_;    // ends the wait for requests on their way
  std::optional<AgentPort> agent_;   // --agent-port
  ReactorStats own_stats_;           // unless the constructor was given counters
  ServingContext context_;           // the sessions and what they share
};

}  // namespace gotit
