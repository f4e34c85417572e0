// gotit-blocking: the sockets tutorial's server, done right. Parses the
// command line, runs a BlockingServer, maps failures to exit codes:
// 0 stopped by SIGINT/SIGTERM, 1 runtime error (bind...), 2 usage error.
#include <fmt/format.h>

#include "gotit/blocking/server.hpp"
#include "gotit/common/log.hpp"
#include "gotit/common/start_up.hpp"

namespace {

constexpr const char* kDescription =
    "gotit-blocking: a TCP line server in the classic blocking style. Every line\n"
    "(at most 255 bytes) gets \"Got it!\" (or itself, with --reply echo).\n"
    "SIGINT/SIGTERM: stop accepting (the clients already queued are taken too),\n"
    "answer what was received, FIN after the last reply, wait for each client to\n"
    "close (at most --shutdown-timeout in all), exit 0 with a summary; a second\n"
    "signal kills the process at once, by that signal, with no summary.\n"
    "Exit codes: 0 stopped cleanly, 1 runtime error, 2 usage error.";

int serve(const gotit::BlockingOptions& options) {
  gotit::prepare_server_process("gotit-blocking");
  gotit::BlockingServer server(options);
  gotit::announce_listening(server.listening_fd());
  gotit::log::info("gotit-blocking: --model {}, --reply {}", to_string(options.model),
                   to_string(options.server.reply));
  const gotit::ServerTotals totals = server.run();
  gotit::log::info("gotit-blocking: {}", format_summary(totals));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "gotit-blocking");
  gotit::BlockingOptions options;
  gotit::ServerOptionText text;
  std::string model = "iterative";
  std::string write_timeout;
  gotit::add_server_options(app, options.server, text);
  app.add_option("--write-timeout", write_timeout,
                 fmt::format("Drop a client that does not take the replies to one read within "
                             "SECONDS (default {}, as gotit-reactor's)",
                             options.write_timeout.count()))->type_name("SECONDS");
  app.add_option("--model", model,
                 "iterative (one client at a time, as the tutorial: a peer that vanishes without a "
                 "word blocks everybody until --tcp-keepalive reaps it), threads (a thread per "
                 "connection) or fork (a process per connection); default iterative")->type_name("NAME");
  if (const auto code = gotit::parse_command_line(app, argc, argv)) return *code;
  return gotit::run_tool(app, [&] {
    gotit::finish_server_options(text, options.server);
    const auto parsed = gotit::parse_blocking_model(model);
    if (!parsed) {
      throw gotit::UsageError(fmt::format("model must be iterative, threads or fork, got '{}'", model));
    }
    options.model = *parsed;
    if (!write_timeout.empty()) {
      options.write_timeout =
          std::chrono::seconds(gotit::parse_count("write-timeout", write_timeout, 1, 24 * 60 * 60));
    }
    gotit::log::set_verbosity(options.server.verbose);
    return serve(options);
  });
}
