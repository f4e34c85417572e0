// gotit-bench sweep: latency against offered load. Open-loop runs (the
// --rate schedule of `run`, latency timed from each request's scheduled
// send, so a slow server cannot hide its queue) at geometrically rising
// rates. Each step reports the rate achieved and p50/p99/p99.9; with
// --target-p99 the knee is the highest rate whose p99 met the target.
// The sweep stops early once the achieved rate falls below
// kKeepUpFraction of the offered one: past that the server is saturated
// and higher rates only measure the backlog.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "gotit/bench/options.hpp"
#include "gotit/bench/result.hpp"

namespace gotit {

inline constexpr double kKeepUpFraction = 0.9;

struct SweepOptions {
  double from = 1000;        // requests/s, first step
  double to = 100000;        // requests/s, last step
  int steps = 6;
  double target_p99_us = 0;  // 0: no knee search
};

struct SweepStep {
  double offered = 0;
  RunResult result;
  bool meets_target = false;  // clean, and p99 within the target
  bool kept_up = true;        // achieved >= kKeepUpFraction of offered
};

struct SweepResult {
  std::vector<SweepStep> steps;
  std::optional<double> knee;  // highest offered rate that met the target
  std::string stopped_early;   // why, when it did
};

// The offered rates: `steps` values from `from` to `to`, evenly spaced
// on a log scale.
std::vector<double> sweep_rates(const SweepOptions& sweep);

// Runs the steps; on_step (may be empty) sees each as it finishes.
SweepResult run_sweep(const RunOptions& base, const SweepOptions& sweep,
                      const std::function<void(const SweepStep&)>& on_step);

std::string format_sweep_step(const SweepStep& step);
std::string format_sweep_summary(const SweepResult& result, const SweepOptions& sweep);
std::string format_sweep_json(const SweepResult& result, const SweepOptions& sweep);

void add_sweep_options(CLI::App& app, SweepOptions& sweep);
// Checks both; throws UsageError.
void finish_sweep_options(const RunOptions& run, const SweepOptions& sweep);

// `gotit-bench sweep`: runs, prints, writes --json; the exit code.
int sweep_command(const RunOptions& run, const SweepOptions& sweep);

}  // namespace gotit
