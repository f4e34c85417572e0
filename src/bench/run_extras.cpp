// The options `run` and `compare` gained for the measurements beyond one closed or open
// loop: the connection rate, a time series, the latency spectrum. Kept
// apart from options.cpp so each stays one screen of wiring.
#include <fmt/format.h>

#include "gotit/bench/options.hpp"
#include "gotit/bench/socket.hpp"
#include "gotit/common/net.hpp"

namespace gotit {

void add_run_extras(CLI::App& app, RunOptions& options) {
  app.add_flag("--new-connection-per-request", options.new_connection_per_request,
               fmt::format("Connection rate: each of --conns clients loops connect, send one request, read "
                           "the reply, close; reports connections/s and connect+reply latency. To a server "
                           "on 127.x.x.x without --source-addrs it connects from {} (give --source-addrs "
                           "127.0.0.1 to use one address)",
                           kLoopbackSources));
  app.add_flag("--close-rst", options.close_rst,
               "With --new-connection-per-request: close with RST (SO_LINGER 0) instead of FIN, so no "
               "TIME_WAIT is left behind");
  app.add_option("--interval", options.interval_s,
                 "Print a line (and add a JSON record) every SECONDS of the load: requests/s, p99, "
                 "errors, open connections (default 0: none)")->type_name("SECONDS");
  app.add_option("--hdr-out", options.hdr_path,
                 "Write the latency spectrum of the window to FILE in HdrHistogram's text format "
                 "(.hgrm), values in microseconds")->type_name("FILE");
}

void finish_run_extras(RunOptions& options) {
  if (!(options.interval_s == 0 || (options.interval_s >= 0.05 && options.interval_s <= 3600))) {
    throw UsageError(fmt::format("--interval must be 0 or 0.05..3600 seconds, got {}", options.interval_s));
  }
  if (options.close_rst && !options.new_connection_per_request) {
    throw UsageError("--close-rst needs --new-connection-per-request");
  }
  if (!options.new_connection_per_request) return;
  // One request per connection: a second in flight would have nowhere to go.
  if (options.depth != 1) throw UsageError("--new-connection-per-request sends one request: --depth must be 1");
  if (options.rate > 0) throw UsageError("--new-connection-per-request is a closed loop: no --rate");
  if (options.sequence_tags) throw UsageError("--new-connection-per-request: one request, nothing to order");
}

}  // namespace gotit

namespace gotit {

void add_compare_extras(CLI::App& app, CompareOptions& options) {
  app.add_option("--churn-clients", options.churn_clients,
                 "Connection-rate scenario: clients looping connect, request, reply, close (default 8; 0: skip)")->type_name("N");
  app.add_option("--sweep-from", options.sweep_from, "Sweep: first offered rate, requests/s (default 5000)")->type_name("REQUESTS/S");
  app.add_option("--sweep-to", options.sweep_to, "Sweep: last offered rate, requests/s (default 320000)")->type_name("REQUESTS/S");
  app.add_option("--sweep-steps", options.sweep_steps, "Sweep: rates, geometric (default 4; 0: skip)")->type_name("N");
  app.add_flag("--full", options.full,
               "The long version: 2 s measured after 0.5 s warm-up per scenario, and a sweep of 9 rates "
               "from 2500 to 640000 requests/s (overrides --duration, --warmup and the sweep rates)");
}

void finish_compare_extras(CompareOptions& options) {
  if (options.full) {
    options.duration_s = 2.0;
    options.warmup_s = 0.5;
    options.sweep_from = 2500;
    options.sweep_to = 640000;
    options.sweep_steps = 9;
  }
  if (options.churn_clients < 0 || options.churn_clients > 1000) {
    throw UsageError(fmt::format("--churn-clients must be 0..1000, got {}", options.churn_clients));
  }
  if (options.sweep_steps < 0 || options.sweep_steps > 30) {
    throw UsageError(fmt::format("--sweep-steps must be 0..30, got {}", options.sweep_steps));
  }
  if (!(options.sweep_from > 0 && options.sweep_to >= options.sweep_from && options.sweep_to <= 1e9)) {
    throw UsageError(fmt::format("--sweep-from and --sweep-to must be rates with 0 < from <= to, got {} and {}",
                                 options.sweep_from, options.sweep_to));
  }
}

}  // namespace gotit
