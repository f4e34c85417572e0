#include "gotit/bench/compare.hpp"

#include <sys/utsname.h>

#include <filesystem>
#include <functional>
#include <fmt/format.h>
#include <iostream>
#include <thread>

#include "gotit/bench/driver.hpp"
#include "gotit/bench/socket.hpp"
#include "gotit/bench/compare_output.hpp"
#include "gotit/bench/compare_servers.hpp"
#include "gotit/common/net.hpp"
#include "gotit/bench/server_process.hpp"
#include "gotit/bench/sweep.hpp"

namespace gotit {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kStopGrace = std::chrono::seconds(3);
// The sweep's load: enough connections and depth that a fast server is
// offered its highest rates, few enough that they need no idle-style caps.
constexpr int kSweepConns = 10;
constexpr int kSweepDepth = 16;

std::string machine_description() {
  utsname names{};
  std::string system = ::uname(&names) == 0 ? fmt::format("{} {} {}", names.sysname, names.release, names.machine)
                                            : std::string("unknown system");
  return fmt::format("{} cores, {}, client and server on the same machine over loopback",
                     std::thread::hardware_concurrency(), system);
}

std::string summarize_errors(const RunResult& r) {
  std::string out;
  for (std::size_t i = 0; i < kErrorKinds; ++i) {
    if (r.errors[i] == 0) continue;
    if (!out.empty()) out += "; ";
    out += fmt::format("{} x{} ({})", to_string(static_cast<ErrorKind>(i)), r.errors[i], r.first_error[i]);
  }
  if (r.missing_replies > 0) out += fmt::format("; {} of {} requests unanswered", r.missing_replies, r.requests_sent);
  if (r.replies_in_window == 0) {
    out += fmt::format("{}no reply in the measured window ({} requests sent)", out.empty() ? "" : "; ", r.requests_sent);
  }
  return out;
}

RunOptions scenario_options(const CompareOptions& options, const ServerSpec& spec, int idle, int conns, int depth) {
  RunOptions run;
  run.idle = idle;
  run.conns = conns;
  run.depth = depth;
  run.duration_s = options.duration_s;
  run.warmup_s = options.warmup_s;
  run.timeout_s = options.timeout_s;
  // Long enough for a SYN dropped by a full accept queue to be retried (1 s, then 3 s).
  run.connect_timeout_s = std::max(options.timeout_s, 5.0);
  run.request = spec.request;
  run.expect = spec.expect;
  run.reply = spec.reply;
  run.reply_delim = spec.reply_delim;
  run.progress = options.progress;
  return run;
}

void add_note(CompareRun& run, const std::string& note) {
  if (!note.empty()) run.note += (run.note.empty() ? "" : "; ") + note;
}

void record(CompareRun& run, RunResult result) {
  run.result = std::move(result);
  run.status = run.result.clean() ? RunStatus::ok : RunStatus::errors;
  run.note = summarize_errors(run.result);
}

// Starts the server fresh (a stalled iterative server or a peak RSS must not
// leak into the next scenario), lets `measure` run the bench against it
// (filling `runs`), stops the server. What goes wrong is noted on every run.
void with_server(const CompareOptions& options, const ServerSpec& spec, const std::string& log_name,
                 std::vector<CompareRun>& runs, const std::function<void(RunOptions&)>& measure,
                 const RunOptions& base) {
  const std::string log = fmt::format("{}/logs/{}-{}.log", options.out_dir, spec.name, log_name);
  try {
    std::uint16_t port = spec.announces_port ? 0 : pick_free_port();
    std::vector<std::string> args = spec.args;
    for (auto& arg : args) {
      if (arg == "{port}") arg = std::to_string(port);
    }
    ServerProcess server(spec.program, args, log, spec.announces_port);
    if (spec.announces_port) {
      port = server.wait_for_port(kStartTimeout);
    } else {
      server.wait_until_connectable(port, kStartTimeout);
    }
    RunOptions bench = base;
    bench.port = port;
    bench.server_pid = server.pid();
    try {
      measure(bench);
    } catch (const BenchError& error) {
      runs.back().status = RunStatus::failed;
      runs.back().note = error.what();
    }
    std::string ended;
    if (const auto status = server.poll_exit()) ended = "the server ended during the run: " + describe_wait_status(*status);
    const std::string stopped = server.stop(kStopGrace);
    for (CompareRun& run : runs) {
      add_note(run, ended);
      add_note(run, stopped.empty() ? "" : "stop: " + stopped);
    }
  } catch (const std::exception& error) {
    runs.back().status = RunStatus::failed;
    runs.back().note = error.what();
  }
}

CompareRun run_scenario(const CompareOptions& options, const ServerSpec& spec, CompareRun run) {
  std::vector<CompareRun> runs{run};
  with_server(options, spec, fmt::format("idle{}-conns{}-depth{}", run.idle, run.conns, run.depth), runs,
              [&](RunOptions& bench) { record(runs.back(), run_bench(bench)); },
              scenario_options(options, spec, run.idle, run.conns, run.depth));
  return runs.back();
}

// The connection rate: --churn-clients clients, a connection per request.
CompareRun run_churn(const CompareOptions& options, const ServerSpec& spec) {
  std::vector<CompareRun> runs{CompareRun{spec.name, 0, options.churn_clients, 1, RunStatus::failed, "", {}}};
  runs.back().scenario = "churn";
  RunOptions base = scenario_options(options, spec, 0, options.churn_clients, 1);
  base.new_connection_per_request = true;
  with_server(options, spec, "churn", runs, [&](RunOptions& bench) { record(runs.back(), run_bench(bench)); },
              base);
  return runs.back();
}

// Latency against offered load: the sweep's steps, one run each, on one
// server; it stops where the server stops keeping up.
std::vector<CompareRun> run_sweep_steps(const CompareOptions& options, const ServerSpec& spec) {
  std::vector<CompareRun> runs{CompareRun{spec.name, 0, kSweepConns, kSweepDepth, RunStatus::failed, "", {}}};
  runs.back().scenario = "sweep";
  runs.back().offered = options.sweep_from;
  const SweepOptions sweep{options.sweep_from, options.sweep_to, options.sweep_steps, kCompareTargetP99Us};
  with_server(options, spec, "sweep", runs, [&](RunOptions& bench) {
    const SweepResult result = run_sweep(bench, sweep, {});
    runs.clear();
    for (const SweepStep& step : result.steps) {
      CompareRun run{spec.name, 0, kSweepConns, kSweepDepth, RunStatus::ok, "", {}};
      run.scenario = "sweep";
      run.offered = step.offered;
      record(run, step.result);
      if (!step.kept_up) add_note(run, fmt::format("not kept up: {:.0f}/s achieved", step.result.throughput()));
      runs.push_back(std::move(run));
    }
  }, scenario_options(options, spec, 0, kSweepConns, kSweepDepth));
  return runs;
}

// Skipped on purpose, or nullopt: run it.
std::optional<std::string> skip_reason(const ServerSpec& spec, int idle, int conns, std::uint64_t limit) {
  if (idle > spec.max_idle) return fmt::format("{} idle: {}", idle, spec.cap_reason);
  const std::uint64_t needed = descriptors_needed(idle, conns);
  if (needed > limit) {
    return fmt::format("needs {} open files, the limit is {} (ulimit -n)", needed, limit);
  }
  return std::nullopt;
}

}  // namespace

int run_compare(const CompareOptions& options, const std::string& command_line) {
  const std::vector<ServerSpec> specs = make_server_specs(options);
  std::error_code failure;
  std::filesystem::create_directories(options.out_dir + "/logs", failure);
  if (failure) throw BenchError(fmt::format("cannot create {}/logs: {}", options.out_dir, failure.message()));
  const std::uint64_t limit = raise_file_limit();

  CompareReport report;
  report.machine = machine_description();
  const std::string churn = options.churn_clients == 0
                                ? std::string("off")
                                : fmt::format("{} clients, a connection per request", options.churn_clients);
  const std::string sweep = options.sweep_steps == 0
                                ? std::string("off")
                                : fmt::format("{} connections x depth {}, open loop at {} rates from {} to {} "
                                              "requests/s, knee at p99 <= {} us",
                                              kSweepConns, kSweepDepth, options.sweep_steps, options.sweep_from,
                                              options.sweep_to, kCompareTargetP99Us);
  report.settings = fmt::format("{} s measured after {} s warm-up per scenario, replies missing after {} s; "
                                "requests 'hello\\n' to gotit servers, 'version\\r\\n' to memcached, "
                                "'PING\\r\\n' to redis; a fresh server per scenario; connection rate: {}; sweep: {}",
                                options.duration_s, options.warmup_s, options.timeout_s, churn, sweep);
  report.command = command_line;
  std::cout << "gotit-bench compare: " << report.machine << "\n" << report.settings << "\n" << std::flush;

  int measured = 0;
  for (const ServerSpec& spec : specs) {
    if (!spec.unavailable.empty()) {
      CompareRun run{spec.name, 0, 0, 0, RunStatus::skipped, spec.unavailable, {}};
      std::cout << format_run_line(run) << "\n" << std::flush;
      report.runs.push_back(run);
      continue;
    }
    for (const int idle : options.idle) {
      for (const int conns : options.conns) {
        for (const int depth : options.depth) {
          CompareRun run{spec.name, idle, conns, depth, RunStatus::skipped, "", {}};
          if (const auto why = skip_reason(spec, idle, conns, limit)) {
            run.note = *why;
          } else {
            run = run_scenario(options, spec, run);
            measured += run.status == RunStatus::failed ? 0 : 1;
          }
          std::cout << format_run_line(run) << "\n" << std::flush;
          report.runs.push_back(std::move(run));
        }
      }
    }
    if (options.churn_clients > 0) {
      CompareRun run = run_churn(options, spec);
      measured += run.status == RunStatus::failed ? 0 : 1;
      std::cout << format_run_line(run) << "\n" << std::flush;
      report.runs.push_back(std::move(run));
    }
    if (options.sweep_steps > 0) {
      for (CompareRun& run : run_sweep_steps(options, spec)) {
        measured += run.status == RunStatus::failed ? 0 : 1;
        std::cout << format_run_line(run) << "\n" << std::flush;
        report.runs.push_back(std::move(run));
      }
    }
  }
  for (const std::string& line : write_compare_results(options.out_dir, report)) std::cout << line << "\n";
  if (measured == 0) {
    std::cerr << "gotit-bench: error: no scenario could run (see the notes above)\n";
    return 1;
  }
  return 0;
}

}  // namespace gotit
