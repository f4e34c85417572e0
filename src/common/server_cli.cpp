#include "gotit/common/server_cli.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <utility>

#include "gotit/common/protocol.hpp"
#include "gotit/version.hpp"

namespace gotit {

void add_server_options(CLI::App& app, ServerOptions& options, ServerOptionText& text) {
  app.add_option("port", text.positional_port, "Port to listen on, as in the tutorial (default 3000)")->type_name("PORT");
  app.add_option("-p,--port", text.port, "Port to listen on; 0 picks a free port and prints it (default 3000)")->type_name("PORT");
  app.add_option("-b,--bind", options.listen.bind_host,
                 "Address to listen on (default: every address, IPv6 and IPv4)")->type_name("ADDRESS");
  app.add_option("--backlog", text.backlog,
                 fmt::format("Length of the kernel's accept queue (default {})", options.listen.backlog))->type_name("N");
  const KeepaliveTimers timers = keepalive_timers(options.listen.tcp_keepalive);
  app.add_option("--tcp-keepalive", text.tcp_keepalive,
                 fmt::format("Reap peers that vanish without FIN or RST: probe a peer silent "
                             "for SECONDS every SECONDS/30 (1..10 s), drop it after 2..6 "
                             "unanswered probes; 0: off (default {}: {} s x {}, reaped {} s "
                             "after its last word)",
                             timers.idle.count(), timers.interval.count(), timers.count,
                             timers.user_timeout.count() / 1000))->type_name("SECONDS");
  app.add_option("--reply", text.reply, "Reply mode: gotit (\"Got it!\" to every line) or echo (default gotit)")->type_name("MODE");
  app.add_option("--shutdown-timeout", text.shutdown_timeout,
                 fmt::format("At SIGINT/SIGTERM: answer what has arrived (a connection younger than "
                             "{:g} s gets until then for its first request), FIN, wait up to SECONDS "
                             "for peers to close, then cut the rest (default {})",
                             std::chrono::duration<double>(kFirstRequestGrace).count(),
                             options.shutdown_timeout.count()))->type_name("SECONDS");
  app.add_flag("-v,--verbose", options.verbose,
               "Log more: -v connection events, -vv every message too (\"Here is the message: ...\")");
  app.add_flag("--trace", options.trace,
               "One line per connection event on stderr, for watching one or two connections: "
               "what woke the server, what each read/recv and send returned, each framed message, each state "
               "change (\"trace #1 fd 7 recv 3 bytes\"); off by default");
  app.set_version_flag("--version", kVersion);
}

void finish_server_options(const ServerOptionText& text, ServerOptions& options) {
  if (!text.positional_port.empty()) parse_port(text.positional_port);  // a stray word: say it is no port
  if (!text.positional_port.empty() && !text.port.empty() &&
      text.positional_port != text.port) {
    throw UsageError(fmt::format("two different ports given: '{}' and --port '{}'",
                                 text.positional_port, text.port));
  }
  const std::string& port = text.port.empty() ? text.positional_port : text.port;
  if (!port.empty()) options.listen.port = parse_port(port);
  if (!text.backlog.empty()) {
    options.listen.backlog = static_cast<int>(parse_count("backlog", text.backlog, 1, 1 << 20));
  }
  if (!text.tcp_keepalive.empty()) {
    options.listen.tcp_keepalive = std::chrono::seconds(
        parse_count("tcp-keepalive", text.tcp_keepalive, 0, kMaxTcpKeepalive));
  }
  const auto reply = parse_reply_mode(text.reply);
  if (!reply) {
    throw UsageError(fmt::format("reply must be gotit or echo, got '{}'", text.reply));
  }
  options.reply = *reply;
  if (!text.shutdown_timeout.empty()) {
    options.shutdown_timeout = std::chrono::seconds(
        parse_count("shutdown-timeout", text.shutdown_timeout, 0, 24 * 60 * 60));
  }
}

void print_error(const CLI::App& app, std::string_view message) {
  fmt::print(stderr, "{}: error: {}\n", app.get_name(), message);
}

int run_tool(const CLI::App& app, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& error) {
    print_error(app, error.what());
    return 2;
  } catch (const std::exception& error) {
    print_error(app, error.what());
    return 1;
  }
}

namespace {

// The programs keep most option values as text and read an empty one as
// "not given", so "--port ''" would silently mean the default.
void reject_empty_values(const CLI::App& app, std::initializer_list<std::string_view> may_be_empty) {
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_type_size_max() == 0) continue;  // a flag
    const std::string name = option->get_name();
    if (std::find(may_be_empty.begin(), may_be_empty.end(), name) != may_be_empty.end()) continue;
    for (const std::string& value : option->results()) {
      if (value.empty()) throw UsageError(fmt::format("{} needs a value, got an empty one", name));
    }
  }
  for (const CLI::App* subcommand : app.get_subcommands()) reject_empty_values(*subcommand, may_be_empty);
}

// The option `name` in `app` or any of its subcommands (an empty filter
// lists them all, parsed or not).
const CLI::Option* find_option(const CLI::App& app, const std::string& name) {
  if (const CLI::Option* option = app.get_option_no_throw(name)) return option;
  for (const CLI::App* subcommand : app.get_subcommands({})) {
    if (const CLI::Option* option = find_option(*subcommand, name)) return option;
  }
  return nullptr;
}

// Splits "HEAD<separator>TAIL" when the text starts with `head` (or any
// HEAD when `head` is empty) and contains the separator.
std::optional<std::pair<std::string, std::string>> split_message(std::string_view text, std::string_view head,
                                                                 std::string_view separator) {
  if (!text.starts_with(head)) return std::nullopt;
  text.remove_prefix(head.size());
  const auto at = text.find(separator);
  if (at == std::string_view::npos) return std::nullopt;
  return std::pair{std::string(text.substr(0, at)), std::string(text.substr(at + separator.size()))};
}

// A subcommand's options are in its own help ("gotit-bench run --help").
void point_to_help(const CLI::App& app) {
  const auto chosen = app.get_subcommands();
  const std::string command =
      chosen.empty() ? app.get_name() : fmt::format("{} {}", app.get_name(), chosen.front()->get_name());
  fmt::print(stderr, "Run '{} --help' for usage.\n", command);
}

}  // namespace

std::string describe_parse_error(const CLI::App& app, const CLI::ParseError& failure) {
  const std::string_view message = failure.what();
  if (dynamic_cast<const CLI::ConversionError*>(&failure) != nullptr) {
    if (const auto parts = split_message(message, "Could not convert: ", " = ")) {
      const auto& [name, value] = *parts;
      const CLI::Option* option = find_option(app, name);
      const std::string kind = option == nullptr ? "" : option->get_type_name();
      const bool whole = kind == "N" || kind == "PID";
      return fmt::format("{} takes {} ({}), got '{}'", name, whole ? "a whole number" : "a number",
                         kind.empty() ? "see --help" : kind, value);
    }
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&failure) != nullptr) {
    if (const auto parts = split_message(message, "", ": At Most 1 required but received ")) {
      return fmt::format("{} was given {} times; give it once", parts->first, parts->second);
    }
    constexpr std::string_view kMissing = " missing";  // "--port: 1 required PORT missing"
    if (const auto parts = split_message(message, "", ": 1 required "); parts && parts->second.ends_with(kMissing)) {
      const std::string_view kind = std::string_view(parts->second).substr(0, parts->second.size() - kMissing.size());
      return fmt::format("{} needs a value{}", parts->first, kind.empty() ? "" : fmt::format(" ({})", kind));
    }
  }
  return std::string(message);
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      std::initializer_list<std::string_view> may_be_empty) {
  try {
    app.parse(argc, argv);
    reject_empty_values(app, may_be_empty);
  } catch (const CLI::CallForVersion&) {
    std::cout << app.get_name() << ' ' << kVersion << '\n';
    return 0;
  } catch (const CLI::CallForAllHelp&) {  // --help-all: every subcommand's options too
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::Success&) {  // --help
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& failure) {
    print_error(app, describe_parse_error(app, failure));
    point_to_help(app);
    return 2;
  } catch (const UsageError& error) {
    print_error(app, error.what());
    point_to_help(app);
    return 2;
  }
  return std::nullopt;
}

void announce_listening(int listening_fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(listening_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw SystemError("getsockname", errno);
  }
  fmt::print("listening on {}\n",
             format_address(reinterpret_cast<sockaddr*>(&address), length));
  std::fflush(stdout);
}

}  // namespace gotit
