// gotit-blocking's command line: every bad input gets its message and exit
// code. Runs the real program (it exits before serving, or fails to bind).
#include "catch.hpp"
#include "gotit/blocking/server.hpp"
#include "support/process.hpp"

namespace {

using gotit::test::run_program;

gotit::test::RunResult blocking(std::vector<std::string> args) {
  return run_program(GOTIT_GOTIT_BLOCKING_BIN, std::move(args));
}

}  // namespace

TEST_CASE("models parse and print") {
  CHECK(gotit::parse_blocking_model("iterative") == gotit::BlockingModel::iterative);
  CHECK(gotit::parse_blocking_model("threads") == gotit::BlockingModel::threads);
  CHECK(gotit::parse_blocking_model("fork") == gotit::BlockingModel::fork);
  CHECK_FALSE(gotit::parse_blocking_model("Fork"));
  CHECK_FALSE(gotit::parse_blocking_model(""));
  CHECK(gotit::to_string(gotit::BlockingModel::threads) == "threads");
}

TEST_CASE("the summary line") {
  CHECK(gotit::format_summary({3, 10, 52, 80}) ==
        "stopped: 3 connections, 10 messages, 52 bytes in, 80 bytes out, 0 reaped by keepalive");
}

TEST_CASE("a port out of range: exit 2 with the tutorial-friendly message") {
  const auto result = blocking({"99999"});
  CHECK(result.status.code == 2);
  CHECK(result.err == "gotit-blocking: error: port must be 0..65535, got '99999'\n");
  CHECK(result.out.empty());
}

TEST_CASE("bad values and options: exit 2") {
  CHECK(blocking({"--model", "nope"}).err ==
        "gotit-blocking: error: model must be iterative, threads or fork, got 'nope'\n");
  CHECK(blocking({"--model", "nope"}).status.code == 2);
  CHECK(blocking({"--port", "-1"}).status.code == 2);
  CHECK(blocking({"--reply", "shout"}).status.code == 2);
  CHECK(blocking({"--backlog", "0"}).status.code == 2);
  CHECK(blocking({"--frobnicate"}).status.code == 2);
  CHECK(blocking({"--model"}).status.code == 2);
}

TEST_CASE("a busy port: exit 1, naming the call and the address") {
  gotit::ListenOptions options;
  options.port = 0;
  const gotit::UniqueFd taken = gotit::listen_tcp(options);
  const std::string port = std::to_string(gotit::local_port(taken.get()));
  for (const char* model : {"iterative", "threads", "fork"}) {
    const auto result = blocking({"--port", port, "--model", model});
    CHECK(result.status.code == 1);
    CHECK(result.err.find("gotit-blocking: error: bind [::]:" + port + ": Address already in use\n") !=
          std::string::npos);
  }
}

TEST_CASE("--help and --version exit 0") {
  const auto help = blocking({"--help"});
  CHECK(help.status.code == 0);
  CHECK(help.out.find("--model") != std::string::npos);
  const auto version = blocking({"--version"});
  CHECK(version.status.code == 0);
  CHECK(version.out.find("gotit-blocking ") == 0);
}
