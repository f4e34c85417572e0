// gotit-client HOST PORT: the sockets tutorial's client, done right. Parses
// the command line, picks interactive or pipelined mode, maps failures to
// the exit codes listed in kExitCodes.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "gotit/client/modes.hpp"
#include "gotit/common/server_cli.hpp"  // parse_command_line, print_error: shared by every tool
#include "gotit/version.hpp"

namespace {

constexpr const char* kDescription =
    "gotit-client: sends lines to a gotit server and prints its replies.\n"
    "On a terminal it prompts for each message, and says at once when the server\n"
    "closes the connection (a stop) while it waits for you; from a pipe it sends one\n"
    "request per line (pipelined) and prints one reply per line. Lines longer than\n"
    "255 bytes are refused before sending (the server would close the connection).";

constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0  every request was answered\n"
    "  1  other error (including a line longer than 255 bytes)\n"
    "  2  usage error\n"
    "  3  unknown host (or no name resolver reachable)\n"
    "  4  connection refused\n"
    "  5  server closed the connection early (fewer replies than requests), or was\n"
    "     full: it said \"Error: server full\" and closed\n"
    "  6  timeout (connecting, or waiting for a reply)";

struct ClientOptions {
  std::string host;
  std::string port;
  std::optional<std::string> message;
  std::string count;
  std::string timeout = "10";
};

std::chrono::milliseconds parse_timeout(const std::string& text) {
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(seconds) || seconds <= 0 || seconds > 86400) {
    throw gotit::UsageError(fmt::format("timeout must be 0 < SECONDS <= 86400, got '{}'", text));
  }
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

int talk(const ClientOptions& options) {
  const auto port = static_cast<std::uint16_t>(gotit::parse_count("port", options.port, 1, 65535));
  const auto timeout = parse_timeout(options.timeout);
  long long count = 1;
  if (!options.count.empty()) {
    if (!options.message) throw gotit::UsageError("--count needs --message");
    count = gotit::parse_count("count", options.count, 1, 1'000'000'000);
  }
  if (options.message && options.message->find('\n') != std::string::npos) {
    throw gotit::UsageError("--message must be one line");
  }
  gotit::BlockingClient client(options.host, port, timeout);
  if (options.message) {
    long long left = count;
    gotit::run_pipelined(client, [&]() -> std::optional<std::string> {
      if (left == 0) return std::nullopt;
      --left;
      return *options.message;
    }, std::cout);
  } else if (isatty(STDIN_FILENO)) {
    gotit::run_interactive(client, std::cin, std::cout, std::cerr, STDIN_FILENO);
  } else {
    gotit::run_pipelined(client, []() -> std::optional<std::string> {
      std::string line;
      if (!std::getline(std::cin, line)) return std::nullopt;
      return line;
    }, std::cout);
  }
  std::cout.flush();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);  // replies go out in big writes, not one per line
  // Untied: in pipelined mode one thread reads stdin while another prints
  // replies, and a tied std::cin would flush std::cout from the wrong thread.
  // The interactive prompt flushes explicitly instead.
  std::cin.tie(nullptr);
  CLI::App app(kDescription, "gotit-client");
  app.footer(kExitCodes);
  ClientOptions options;
  app.add_option("host", options.host, "Server name or address (localhost, ::1, 127.0.0.1...)")->type_name("HOST")->required();
  app.add_option("port", options.port, "Server port")->type_name("PORT")->required();
  app.add_option("-m,--message", options.message, "Send this message instead of reading stdin")->type_name("TEXT");
  app.add_option("-n,--count", options.count, "With --message: send it N times, pipelined (default 1)")->type_name("N");
  app.add_option("-t,--timeout", options.timeout, "Seconds to wait to connect, and for each reply (default 10)")->type_name("SECONDS");
  app.set_version_flag("--version", gotit::kVersion);
  // An empty --message is the protocol's empty line, a message like any other.
  if (const auto code = gotit::parse_command_line(app, argc, argv, {"--message"})) return *code;
  try {
    return talk(options);
  } catch (const gotit::UsageError& error) {
    gotit::print_error(app, error.what());
    return 2;
  } catch (const gotit::ClientError& error) {
    std::cout.flush();  // the replies that did come, before the error
    gotit::print_error(app, error.what());
    return gotit::exit_code(error.kind());
  } catch (const std::exception& error) {
    std::cout.flush();
    gotit::print_error(app, error.what());
    return 1;
  }
}
