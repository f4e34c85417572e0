// gotit-reactor: the line server on one libevent loop.
// Parses the options, runs ReactorServer, prints the summary, maps errors
// to exit codes (2: usage, 1: failure or a stop cut short).
#include <CLI/CLI.hpp>

#include "gotit/common/log.hpp"
#include "gotit/reactor/options.hpp"
#include "gotit/reactor/server.hpp"
#include "gotit/reactor/workers.hpp"
#include "gotit/common/server_cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"gotit-reactor: answers every line with \"Got it!\", thousands of peers on one thread",
               "gotit-reactor"};
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
