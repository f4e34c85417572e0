// The results folder `compare` writes: results.json, results.csv,
// results.md (a Markdown table a person reads first), and plots -- data
// files, a gnuplot script, and PNG + SVG when gnuplot is installed.
#pragma once

#include <string>
#include <vector>

#include "gotit/bench/result.hpp"

namespace gotit {

enum class RunStatus {
  ok,       // every request answered correctly
  errors,   // the run happened and found errors (timeouts, wrong replies...)
  skipped,  // not run, on purpose: `note` says why
  failed,   // could not run: `note` says what broke
};
std::string_view to_string(RunStatus status);

// The p99 a sweep step must meet to be below the knee.
inline constexpr double kCompareTargetP99Us = 1000;

struct CompareRun {
  std::string server;
  int idle = 0;
  int conns = 0;
  int depth = 0;
  RunStatus status = RunStatus::ok;
  std::string note;
  RunResult result;  // meaningful for ok and errors
  std::string scenario = "load";  // or "churn" (connection rate), "sweep"
  double offered = 0;             // sweep: requests/s offered
};

struct CompareReport {
  std::string machine;   // "2 cores, Linux 6.1 x86_64, ..."
  std::string settings;  // the scenario settings, one line
  std::string command;   // how it was run
  std::vector<CompareRun> runs;
};

// A run that happened (cleanly or with errors), so it has numbers.
inline bool measured(const CompareRun& run) {
  return run.status == RunStatus::ok || run.status == RunStatus::errors;
}

// One line for the terminal as each scenario finishes.
std::string format_run_line(const CompareRun& run);

// Writes everything into `dir` (which must exist). Returns what to tell
// the user: the files written, and whether gotit's plots were drawn.
std::vector<std::string> write_compare_results(const std::string& dir, const CompareReport& report);

}  // namespace gotit
