// The reactor's command line: the options every gotit server shares
// (server_cli.hpp) plus the ones only an event loop has -- which kernel
// interface waits for readiness, how many peers to hold, and the limits that
// keep one peer from costing the others.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gotit/common/protocol.hpp"
#include "gotit/common/server_cli.hpp"

namespace gotit {

// The readiness interface under libevent. `automatic` lets libevent choose
// (epoll on Linux, kqueue on the BSDs and macOS).
enum class Backend { automatic, epoll, kqueue, poll, select };

std::optional<Backend> parse_backend(std::string_view text);
std::string_view to_string(Backend backend);

// Who reads a peer's socket (session.hpp). `direct`: our own recv() on the
// bufferevent's read event, 2 system calls per request; only on libevent
// versions it was tested with (direct_reader_tested, ReactorServer::reader()). `bufferevent`: libevent's
// reader and the public API only, 3 system calls per request.
enum class Reader { bufferevent, direct };

std::optional<Reader> parse_reader(std::string_view text);
std::string_view to_string(Reader reader);

struct ReactorOptions {
  ServerOptions server;
  Backend backend = Backend::automatic;
  // 0: derived from the file limit at start-up (limit minus a reserve).
  std::size_t max_conns = 0;
  // 0: off. Holding idle peers is the point, so nobody is timed out by default.
  std::chrono::seconds idle_timeout{0};
  // A peer with replies queued that accepts none of them for this long is closed.
  std::chrono::seconds write_timeout{kSlowReaderTimeout};
  // Asked for; the one in effect may fall back (ReactorServer::reader()).
  Reader reader = Reader::direct;
  // Queued output above this stops reading from the peer until it halves.
  std::size_t output_high_water = 64 * 1024;
  // 0: off. Otherwise one line of stats on stderr this often.
  std::chrono::seconds stats_interval{0};
  // SIGINT/SIGTERM/SIGUSR1 through the loop. Off for servers embedded in a
  // test process, which stop them with ReactorServer::request_stop().
  bool handle_signals = true;
  // --workers: 1 serves in this process; N > 1 runs a master and N worker
  // processes on one port (workers.hpp); 0 means auto.
  std::size_t workers = 1;
  // Set by the master for its workers: close the listening socket while
  // --max-conns are open, so the kernel sends new peers to the other
  // workers, and listen again once there is room (full_listener.cpp).
  bool close_listener_when_full = false;
  // The load balancer's agent check (agent.hpp): off unless a port is given.
  std::optional<std::uint16_t> agent_port;
  // After the first stop signal: keep accepting this long while the agent
  // says "drain", then stop gracefully.
  std::chrono::seconds stop_grace{0};
};

struct ReactorOptionText {
  ServerOptionText server;
  std::string backend = "auto";
  std::string reader = "direct";
  std::string max_conns;
  std::string idle_timeout;
  std::string write_timeout;
  std::string output_high_water;
  std::string stats_interval;
  std::string agent_port;
  std::string stop_grace;
  std::string workers;
};

// Adds the shared server options and --backend, --reader, --max-conns, --idle-timeout,
// --write-timeout, --output-high-water, --stats-interval, --agent-port, --stop-grace,
// --workers.
void add_reactor_options(CLI::App& app, ReactorOptions& options, ReactorOptionText& text);

// Checks and converts what add_reactor_options gathered. Throws UsageError.
void finish_reactor_options(const ReactorOptionText& text, ReactorOptions& options);

}  // namespace gotit
