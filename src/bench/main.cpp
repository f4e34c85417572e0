// gotit-bench: the load generator. `run` measures one server, `sweep` its
// latency against offered load; `compare`
// starts each server model itself and measures them side by side.
// Thin: parse options, call the library, map errors to exit codes
// (0 clean, 1 the run failed or found wrong/missing replies, 2 usage).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <string_view>

#include "gotit/bench/compare.hpp"
#include "gotit/bench/driver.hpp"
#include "gotit/bench/hdr_output.hpp"
#include "gotit/bench/options.hpp"
#include "gotit/bench/report.hpp"
#include "gotit/bench/sweep.hpp"
#include "gotit/common/net.hpp"
#include "gotit/common/server_cli.hpp"
#include "gotit/version.hpp"

namespace {

int run_command(const gotit::RunOptions& options) {
  const gotit::RunResult result = gotit::run_bench(options);
  std::cout << gotit::format_table(result) << std::flush;
  if (!options.json_path.empty()) gotit::write_file(options.json_path, gotit::format_json(result) + "\n");
  if (!options.hdr_path.empty()) gotit::write_file(options.hdr_path, gotit::format_hgrm(result.latency));
  if (!options.csv_path.empty()) {
    gotit::write_file(options.csv_path, gotit::csv_header({}) + gotit::csv_row({}, result));
  }
  // Wrong or missing replies make the run fail: nothing is lost silently.
  return result.clean() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("gotit-bench: an event-driven load generator for line servers", "gotit-bench");
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print the help of every subcommand and exit");
  app.set_version_flag("--version", gotit::kVersion);
  CLI::App* run = app.add_subcommand("run", "Measure one running server");
  gotit::RunOptions run_options;
  gotit::RunOptionText run_text;
  gotit::add_run_options(*run, run_options, run_text);
  CLI::App* sweep = app.add_subcommand(
      "sweep", "Open-loop runs at rising rates: achieved rate and p50/p99/p99.9 per step, and the knee");
  gotit::RunOptions sweep_run;
  gotit::RunOptionText sweep_text;
  gotit::SweepOptions sweep_options;
  gotit::add_run_options(*sweep, sweep_run, sweep_text);
  gotit::add_sweep_options(*sweep, sweep_options);
  CLI::App* compare = app.add_subcommand(
      "compare", "Start each server model, run the same scenarios against each, write a results folder");
  gotit::CompareOptions compare_options;
  gotit::add_compare_options(*compare, compare_options);

  // CLI11 answers an unknown first word with only "A subcommand is required".
  if (argc > 1) {
    const std::string_view first = argv[1];
    bool known = first == "-h" || first == "--help" || first == "--help-all" || first == "--version";
    for (const CLI::App* subcommand : {run, sweep, compare}) known = known || first == subcommand->get_name();
    if (!known) {
      gotit::print_error(app, fmt::format("unknown subcommand '{}': give run, sweep or compare first", first));
      fmt::print(stderr, "Run 'gotit-bench --help' for usage.\n");
      return 2;
    }
  }
  if (const auto code = gotit::parse_command_line(app, argc, argv)) return *code;
  return gotit::run_tool(app, [&] {
    gotit::ignore_sigpipe();
    if (run->parsed()) {
      gotit::finish_run_options(run_text, run_options);
      return run_command(run_options);
    }
    if (sweep->parsed()) {
      gotit::finish_run_options(sweep_text, sweep_run);
      gotit::finish_sweep_options(sweep_run, sweep_options);
      return gotit::sweep_command(sweep_run, sweep_options);
    }
    gotit::finish_compare_options(compare_options);
    std::string command_line = "gotit-bench";
    for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
    return gotit::run_compare(compare_options, command_line);
  });
}
