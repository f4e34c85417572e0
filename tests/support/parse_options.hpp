// Runs a program's option parsing on an argument list, as main() would, and
// keeps what a test checks: the exit code parsing asked for (--help, a
// CLI11 error), the options, or the UsageError message of a bad value.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gotit/common/server_cli.hpp"

namespace gotit::test {

template <typename Options>
struct ParsedOptions {
  std::optional<int> exit_code;
  Options options;
  std::string error;
};

// argv as main() gets it: the program's name, then `args` (which it points
// into, so they must outlive it).
inline std::vector<char*> make_argv(std::vector<std::string>& args) {
  args.insert(args.begin(), "gotit-test");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  return argv;
}

// add(app, options, text) declares the options; finish(text, options)
// converts and checks them, as every gotit program splits the two.
template <typename Options, typename Text, typename Add, typename Finish>
ParsedOptions<Options> parse_options(std::vector<std::string> args, Add add, Finish finish) {
  CLI::App app("test", "gotit-test");
  ParsedOptions<Options> parsed;
  Text text;
  add(app, parsed.options, text);
  std::vector<char*> argv = make_argv(args);
  parsed.exit_code = parse_command_line(app, static_cast<int>(argv.size()), argv.data());
  if (!parsed.exit_code) {
    try {
      finish(text, parsed.options);
    } catch (const UsageError& error) {
      parsed.error = error.what();
    }
  }
  return parsed;
}

}  // namespace gotit::test
