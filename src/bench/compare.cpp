#include "gotit/bench/compare.hpp"

#include <sys/utsname.h>

#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <thread>

#include "gotit/bench/driver.hpp"
#include "gotit/bench/socket.hpp"
#include "gotit/bench/compare_output.hpp"
#include "gotit/bench/compare_servers.hpp"
#include "gotit/common/net.hpp"
#include "gotit/bench/server_process.hpp"

namespace gotit {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kStopGrace = std::chrono::seconds(3);

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

// Starts the server fresh (a stalled iterative server or a peak RSS must not
// leak into the next scenario), runs the bench, stops the server.
CompareRun run_scenario(const CompareOptions& options, const ServerSpec& spec, CompareRun run) {
  const std::string log = fmt::format("{}/logs/{}-idle{}-conns{}-depth{}.log", options.out_dir, spec.name,
                                      run.idle, run.conns, run.depth);
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
    RunOptions bench = scenario_options(options, spec, run.idle, run.conns, run.depth);
    bench.port = port;
    bench.server_pid = server.pid();
    try {
      run.result = run_bench(bench);
      run.status = run.result.clean() ? RunStatus::ok : RunStatus::errors;
      run.note = summarize_errors(run.result);
    } catch (const BenchError& error) {
      run.status = RunStatus::failed;
      run.note = error.what();
    }
    if (const auto status = server.poll_exit()) {
      run.note += (run.note.empty() ? "" : "; ") + ("the server ended during the run: " + describe_wait_status(*status));
    }
    const std::string stopped = server.stop(kStopGrace);
    if (!stopped.empty()) run.note += (run.note.empty() ? "" : "; ") + ("stop: " + stopped);
  } catch (const std::exception& error) {
    run.status = RunStatus::failed;
    run.note = error.what();
  }
  return run;
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
  report.settings = fmt::format("{} s measured after {} s warm-up per scenario, replies missing after {} s; "
                                "requests 'hello\\n' to gotit servers, 'version\\r\\n' to memcached, "
                                "'PING\\r\\n' to redis; a fresh server per scenario",
                                options.duration_s, options.warmup_s, options.timeout_s);
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
  }
  for (const std::string& line : write_compare_results(options.out_dir, report)) std::cout << line << "\n";
  if (measured == 0) {
    std::cerr << "gotit-bench: error: no scenario could run (see the notes above)\n";
    return 1;
  }
  return 0;
}

}  // namespace gotit
