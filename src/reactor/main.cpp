// gotit-reactor: the line server on one libevent loop.
// Parses the options, runs ReactorServer, prints the summary, maps errors
// to exit codes (2: usage, 1: failure or a stop cut short).
#include <CLI/CLI.hpp>

#include "gotit/common/log.hpp"
#include "gotit/reactor/options.hpp"
#include "gotit/reactor/server.hpp"
#include "gotit/reactor/workers.hpp"
#include "gotit/common/server_cli.hpp"

namespace {

constexpr const char* kDescription =
    "gotit-reactor: a TCP line server that holds thousands of peers on one thread\n"
    "(one libevent loop). Every line (at most 255 bytes) gets \"Got it!\" (or\n"
    "itself, with --reply echo).\n"
    "SIGINT/SIGTERM: stop accepting, answer what has arrived, FIN after the last\n"
    "reply, wait for the peers to close (at most --shutdown-timeout), exit 0 with a\n"
    "summary; a second signal cuts the stop short (exit 1). SIGUSR1 prints the\n"
    "counters. With --workers the master forwards these signals to every worker,\n"
    "restarts a worker that dies, and prints totals.\n"
    "Exit codes: 0 stopped cleanly, 1 runtime error or a stop cut short, 2 usage error.";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "gotit-reactor"};
  gotit::ReactorOptions options;
  gotit::ReactorOptionText text;
  gotit::add_reactor_options(app, options, text);
  if (const auto code = gotit::parse_command_line(app, argc, argv)) return *code;
  return gotit::run_tool(app, [&] {
    gotit::finish_reactor_options(text, options);
    gotit::log::set_verbosity(options.server.verbose);
    if (options.stop_grace.count() > 0 && !options.agent_port) {
      gotit::log::info("note: --stop-grace without --agent-port: a stop keeps accepting for {} s, but no "
                       "agent tells a load balancer to stop sending clients meanwhile",
                       options.stop_grace.count());
    }
    if (options.workers != 1) return gotit::run_master(options);
    gotit::ReactorServer server(options);
    gotit::announce_listening(server.listening_fd());
    const bool graceful = server.run();
    gotit::log::info("stopped: {}", gotit::format_stats(server.stats()));
    return graceful ? 0 : 1;
  });
}
