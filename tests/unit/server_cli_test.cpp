#include <utility>
#include <vector>

#include "catch.hpp"
#include "support/parse_options.hpp"
#include "gotit/common/server_cli.hpp"

namespace {

using Parsed = gotit::test::ParsedOptions<gotit::ServerOptions>;

Parsed parse(std::vector<std::string> args) {
  return gotit::test::parse_options<gotit::ServerOptions, gotit::ServerOptionText>(std::move(args), gotit::add_server_options, gotit::finish_server_options);
}

}  // namespace

TEST_CASE("defaults follow the tutorial") {
  const auto parsed = parse({});
  CHECK_FALSE(parsed.exit_code);
  CHECK(parsed.options.listen.port == 3000);
  CHECK(parsed.options.listen.bind_host.empty());
  CHECK(parsed.options.reply == gotit::ReplyMode::gotit);
  CHECK(parsed.options.verbose == 0);
}

TEST_CASE("the port is positional or --port") {
  CHECK(parse({"4000"}).options.listen.port == 4000);
  CHECK(parse({"--port", "4001"}).options.listen.port == 4001);
  CHECK(parse({"-p", "0"}).options.listen.port == 0);
  CHECK(parse({"4002", "--port", "4002"}).options.listen.port == 4002);
  CHECK(parse({"4002", "--port", "4003"}).error ==
        "two different ports given: '4002' and --port '4003'");
  CHECK(parse({"extra", "--port", "4003"}).error == "port must be 0..65535, got 'extra'");
}

TEST_CASE("bad values get one clear message each") {
  CHECK(parse({"99999"}).error == "port must be 0..65535, got '99999'");
  CHECK(parse({"--port", "http"}).error == "port must be 0..65535, got 'http'");
  CHECK(parse({"--backlog", "0"}).error == "backlog must be 1..1048576, got '0'");
  CHECK(parse({"--reply", "shout"}).error == "reply must be gotit or echo, got 'shout'");
}

TEST_CASE("unknown options and missing values exit 2") {
  CHECK(parse({"--frobnicate"}).exit_code == 2);
  CHECK(parse({"--port"}).exit_code == 2);
  CHECK(parse({"1", "2"}).exit_code == 2);
  CHECK(parse({"--port", ""}).exit_code == 2);  // not the default port
  CHECK(parse({"--backlog", ""}).exit_code == 2);
  CHECK(parse({""}).exit_code == 2);
}

TEST_CASE("-v counts") {
  CHECK(parse({"-v"}).options.verbose == 1);
  CHECK(parse({"-vv"}).options.verbose == 2);
  CHECK(parse({"--reply", "echo", "-v", "-v"}).options.reply == gotit::ReplyMode::echo);
}

TEST_CASE("--help and --version exit 0") {
  CHECK(parse({"--help"}).exit_code == 0);
  CHECK(parse({"--version"}).exit_code == 0);
}

namespace {

// The message parse_command_line prints for `args` given to an app with a
// whole-number, a seconds and a text option, as gotit-bench declares them.
std::string parse_error_of(std::vector<std::string> args) {
  CLI::App app("test", "gotit-test");
  int conns = 1;
  double seconds = 1;
  std::string port;
  app.add_option("--conns", conns)->type_name("N");
  app.add_option("--duration", seconds)->type_name("SECONDS");
  app.add_option("--port", port)->type_name("PORT");
  std::vector<char*> argv = gotit::test::make_argv(args);
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& failure) {
    return gotit::describe_parse_error(app, failure);
  }
  return "";
}

}  // namespace

TEST_CASE("CLI11's errors for a non-number, a repeated option and a missing value read as ours do") {
  CHECK(parse_error_of({"--conns", "abc"}) == "--conns takes a whole number (N), got 'abc'");
  CHECK(parse_error_of({"--conns", "1.5"}) == "--conns takes a whole number (N), got '1.5'");
  CHECK(parse_error_of({"--duration", "soon"}) == "--duration takes a number (SECONDS), got 'soon'");
  CHECK(parse_error_of({"--port", "1", "--port", "2"}) == "--port was given 2 times; give it once");
  CHECK(parse_error_of({"--conns", "3", "--port"}) == "--port needs a value (PORT)");
  CHECK(parse_error_of({"--bogus"}) == "The following argument was not expected: --bogus");
  CHECK(parse_error_of({"--conns", "3"}).empty());
}
