// gotit-bench: the load generator. `run` measures one server; `compare`
// starts each server model itself and measures them side by side.
// Thin: parse options, call the library, map errors to exit codes
// (0 clean, 1 the run failed or found wrong/missing replies, 2 usage).
#include <CLI/CLI.hpp>

#include <iostream>

#include "gotit/bench/compare.hpp"
#include "gotit/bench/driver.hpp"
#include "gotit/bench/options.hpp"
#include "gotit/bench/report.hpp"
#include "gotit/common/net.hpp"
#include "gotit/common/server_cli.hpp"

namespace {

int run_command(const gotit::RunOptions& options) {
  const gotit::RunResult result = gotit::run_bench(options);
  std::cout << gotit::format_table(result) << std::flush;
  if (!options.json_path.empty()) gotit::write_file(options.json_path, gotit::format_json(result) + "\n");
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
  CLI::App* run = app.add_subcommand("run", "Measure one running server");
  gotit::RunOptions run_options;
  gotit::RunOptionText run_text;
  gotit::add_run_options(*run, run_options, run_text);
  CLI::App* compare = app.add_subcommand(
      "compare", "Start each server model, run the same scenarios against each, write a results folder");
  gotit::CompareOptions compare_options;
  gotit::add_compare_options(*compare, compare_options);

  if (const auto code = gotit::parse_command_line(app, argc, argv)) return *code;
  return gotit::run_tool(app, [&] {
    gotit::ignore_sigpipe();
    if (run->parsed()) {
      gotit::finish_run_options(run_text, run_options);
      return run_command(run_options);
    }
    gotit::finish_compare_options(compare_options);
    std::string command_line = "gotit-bench";
    for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
    return gotit::run_compare(compare_options, command_line);
  });
}
