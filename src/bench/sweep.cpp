#include "gotit/bench/sweep.hpp"

#include <cmath>
#include <fmt/format.h>
#include <iostream>

#include "gotit/bench/driver.hpp"
#include "gotit/bench/report.hpp"
#include "gotit/common/net.hpp"

namespace gotit {

std::vector<double> sweep_rates(const SweepOptions& sweep) {
  std::vector<double> rates;
  for (int i = 0; i < sweep.steps; ++i) {
    const double t = sweep.steps == 1 ? 0.0 : static_cast<double>(i) / (sweep.steps - 1);
    rates.push_back(sweep.from * std::pow(sweep.to / sweep.from, t));
  }
  return rates;
}

SweepResult run_sweep(const RunOptions& base, const SweepOptions& sweep,
                      const std::function<void(const SweepStep&)>& on_step) {
  SweepResult out;
  for (const double rate : sweep_rates(sweep)) {
    RunOptions options = base;
    options.rate = rate;
    SweepStep step;
    step.offered = rate;
    step.result = run_bench(options);
    const RunResult& r = step.result;
    step.kept_up = r.throughput() >= kKeepUpFraction * rate;
    step.meets_target = sweep.target_p99_us > 0 && r.clean() &&
                        us(r.latency.percentile(99)) <= sweep.target_p99_us;
    if (step.meets_target) out.knee = rate;
    out.steps.push_back(step);
    if (on_step) on_step(out.steps.back());
    if (!step.kept_up) {
      out.stopped_early = fmt::format(
          "stopped at {:.0f} requests/s offered: {:.0f} achieved, below {:.0f}% of it -- the server cannot "
          "keep up, higher rates would only measure its backlog",
          rate, r.throughput(), 100 * kKeepUpFraction);
      break;
    }
  }
  return out;
}

std::string format_sweep_step(const SweepStep& step) {
  const RunResult& r = step.result;
  const auto p = [&](double percentile) {
    return r.latency.count() ? fmt::format("{:.1f}", us(r.latency.percentile(percentile))) : std::string("-");
  };
  std::string line = fmt::format("offered {:>10.0f}/s  achieved {:>10.0f}/s  p50 {:>9}  p99 {:>9}  p99.9 {:>9} us",
                                 step.offered, r.throughput(), p(50), p(99), p(99.9));
  if (r.total_errors() > 0 || r.missing_replies > 0) {
    line += fmt::format("  {} errors, {} missing", r.total_errors(), r.missing_replies);
  }
  if (r.overdue_unsent > 0) line += fmt::format("  {} never sent (overdue)", r.overdue_unsent);
  if (bench_limited(r)) line += "  (bench at 100% of a core)";
  return line;
}

std::string format_sweep_summary(const SweepResult& result, const SweepOptions& sweep) {
  std::string out;
  if (!result.stopped_early.empty()) out += result.stopped_early + "\n";
  if (sweep.target_p99_us <= 0) return out;
  if (result.knee) {
    out += fmt::format("knee: {:.0f} requests/s, the highest offered rate with p99 <= {:.0f} us and no errors\n",
                       *result.knee, sweep.target_p99_us);
  } else {
    out += fmt::format("knee: none; no step met p99 <= {:.0f} us without errors\n", sweep.target_p99_us);
  }
  return out;
}

std::string format_sweep_json(const SweepResult& result, const SweepOptions& sweep) {
  std::string steps;
  for (const SweepStep& step : result.steps) {
    steps += fmt::format("{}{{\"offered_rps\": {:.1f}, \"kept_up\": {}, \"meets_target\": {}, \"result\": {}}}",
                         steps.empty() ? "" : ",\n    ", step.offered, step.kept_up, step.meets_target,
                         format_json(step.result));
  }
  return fmt::format("{{\"target_p99_us\": {}, \"knee_rps\": {}, \"stopped_early\": {},\n  \"steps\": [{}]}}",
                     sweep.target_p99_us, result.knee ? fmt::format("{:.1f}", *result.knee) : "null",
                     json_string(result.stopped_early), steps);
}

void add_sweep_options(CLI::App& app, SweepOptions& sweep) {
  app.add_option("--from", sweep.from, "First offered rate, requests/s (default 1000)")->type_name("REQUESTS/S");
  app.add_option("--to", sweep.to, "Last offered rate, requests/s (default 100000)")->type_name("REQUESTS/S");
  app.add_option("--steps", sweep.steps, "Rates from --from to --to, geometric (default 6)")->type_name("N");
  app.add_option("--target-p99", sweep.target_p99_us,
                 "Find the knee: the highest rate whose p99 is at most MICROSECONDS, with no errors")->type_name("MICROSECONDS");
}

void finish_sweep_options(const RunOptions& run, const SweepOptions& sweep) {
  if (!(sweep.from > 0 && sweep.to >= sweep.from && sweep.to <= 1e9)) {
    throw UsageError(fmt::format("--from and --to must be rates with 0 < from <= to, got {} and {}", sweep.from,
                                 sweep.to));
  }
  if (sweep.steps < 1 || sweep.steps > 100) throw UsageError(fmt::format("--steps must be 1..100, got {}", sweep.steps));
  if (sweep.target_p99_us < 0) throw UsageError("--target-p99 must be microseconds >= 0");
  if (run.rate > 0) throw UsageError("sweep sets the rate of each step: give --from/--to/--steps, not --rate");
  if (run.new_connection_per_request) throw UsageError("sweep offers requests, not connections");
  if (!run.hdr_path.empty()) throw UsageError("--hdr-out is for one run, not a sweep");
}

int sweep_command(const RunOptions& run, const SweepOptions& sweep) {
  const SweepResult result = run_sweep(run, sweep, [](const SweepStep& step) {
    std::cout << format_sweep_step(step) << "\n" << std::flush;
  });
  std::cout << format_sweep_summary(result, sweep) << std::flush;
  if (!run.json_path.empty()) write_file(run.json_path, format_sweep_json(result, sweep) + "\n");
  return result.steps.empty() ? 1 : 0;
}

}  // namespace gotit
