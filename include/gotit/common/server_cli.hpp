// The command line both servers share, so that gotit-reactor and
// gotit-blocking take the same options and answer bad ones the same way.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "gotit/common/net.hpp"
#include "gotit/common/protocol.hpp"

namespace gotit {

struct ServerOptions {
  ListenOptions listen;
  ReplyMode reply = ReplyMode::gotit;
  int verbose = 0;  // number of -v flags
  bool trace = false;  // --trace: a line per connection event (common/trace.hpp)
  // The whole graceful stop is bounded by this: connections still open when
  // it passes are cut (protocol.hpp, kStopPassBytes).
  std::chrono::seconds shutdown_timeout{kDefaultShutdownTimeout};
};

// Raw option text, converted after parsing so every bad value gets one
// uniform message ("port must be 0..65535, got '99999'").
struct ServerOptionText {
  std::string positional_port;
  std::string port;
  std::string backlog;
  std::string tcp_keepalive;
  std::string reply = "gotit";
  std::string shutdown_timeout;
};

// Adds --port/PORT, --bind, --backlog, --tcp-keepalive, --reply, --shutdown-timeout,
// -v, --trace and --version to `app`.
void add_server_options(CLI::App& app, ServerOptions& options, ServerOptionText& text);

// Checks and converts the text gathered by add_server_options. Throws UsageError.
void finish_server_options(const ServerOptionText& text, ServerOptions& options);

// Parses argv. Returns an exit code when the program should stop now:
// 0 after --help or --version, 2 after a usage error (printed as
// "PROGRAM: error: ..."), which includes an option given an empty value
// unless its name (as "--message") is in `may_be_empty`; nullopt when the
// program should run.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      std::initializer_list<std::string_view> may_be_empty = {});

// What parse_command_line prints for a CLI11 error: CLI11's own words,
// except for the two mistakes people make most, which it words in its own
// terms ("Could not convert: --conns = abc", "--port: At Most 1 required but
// received 2"); those are said as gotit's other usage errors are.
std::string describe_parse_error(const CLI::App& app, const CLI::ParseError& failure);

// Runs a tool's body and maps what escapes it to an exit code, the same in
// every program: a UsageError exits 2, any other exception 1, each printed
// as "PROGRAM: error: MESSAGE".
int run_tool(const CLI::App& app, const std::function<int()>& body);

// Prints "PROGRAM: error: MESSAGE" to stderr.
void print_error(const CLI::App& app, std::string_view message);

// The line tests and scripts read to learn the port: "listening on [::]:PORT".
// Printed to stdout and flushed.
void announce_listening(int listening_fd);

}  // namespace gotit
