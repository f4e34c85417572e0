// `gotit-bench compare` in a tiny configuration (seconds): every output
// file is written, and what cannot run is said, not hidden.
#include <stdlib.h>

#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <sstream>
#include <vector>

#include "catch.hpp"
#include "gotit/bench/compare_servers.hpp"
#include "support/process.hpp"

namespace fs = std::filesystem;
using gotit::test::run_program;

namespace {

// A fresh directory under /tmp, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "gotit-compare-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

std::string read(const fs::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::size_t lines(const std::string& text) {
  std::size_t n = 0;
  for (const char c : text) n += c == '\n' ? 1 : 0;
  return n;
}

void check_every_file(const fs::path& out, const std::string& stdout_text, bool plots = true) {
  for (const char* name : {"results.json", "results.csv", "results.md", "plots.gp", "plot-data/throughput.dat",
                           "plot-data/p99_vs_idle.dat", "plot-data/memory.dat", "plot-data/cpu_per_request.dat",
                           "plot-data/connections.dat", "plot-data/p99_vs_rate.dat"}) {
    INFO(name);
    CHECK(fs::is_regular_file(out / name));
  }
  if (!plots) {
    CHECK(stdout_text.find("no measurements, so no plots") != std::string::npos);
    return;
  }
  if (gotit::find_on_path("gnuplot").empty()) {
    CHECK(stdout_text.find("gnuplot is not installed") != std::string::npos);
    return;
  }
  for (const char* plot : {"throughput", "p99_vs_idle", "memory", "cpu_per_request", "connections", "p99_vs_rate"}) {
    for (const char* format : {".png", ".svg"}) {
      const fs::path file = out / (std::string(plot) + format);
      INFO(file);
      CHECK(fs::is_regular_file(file));
      CHECK(fs::file_size(file) > 1000);
    }
  }
}

}  // namespace

TEST_CASE("compare against every installed peer writes every output file") {
  std::vector<std::string> peers;
  for (const char* name : {"memcached", "redis"}) {
    const std::string program = std::string(name) == "redis" ? "redis-server" : name;
    if (!gotit::find_on_path(program).empty()) peers.emplace_back(name);
  }
  if (peers.empty()) {
    WARN("SKIPPED: neither memcached nor redis-server is installed; this test needs one of them");
    return;
  }
  TempDir dir;
  const fs::path out = dir.path / "results";
  // Two connections and an idle pool: a peer that refuses some of them
  // (redis's protected mode refuses any source but 127.0.0.1) shows here.
  const auto run = run_program(GOTIT_GOTIT_BENCH_BIN,
                               {"compare", "--servers", "none", "--peers", fmt::format("{}", fmt::join(peers, ",")),
                                "--idle", "0,20", "--conns", "2", "--depth", "1,4", "--duration", "0.2",
                                "--warmup", "0.05", "--sweep-steps", "2", "--sweep-from", "500", "--sweep-to", "1000",
                                "--churn-clients", "2", "--no-progress", "-o", out.string()},
                               std::nullopt, std::chrono::seconds(60));
  INFO(run.out << run.err);
  REQUIRE(run.status.code == 0);
  check_every_file(out, run.out);
  const std::string csv = read(out / "results.csv");
  CHECK(csv.rfind("server,scenario,offered_rps,scenario_idle,scenario_conns,scenario_depth,status,note,", 0) == 0);
  CHECK(lines(csv) == 1 + (4 + 1 + 2) * peers.size());  // 4 load scenarios, the connection rate, 2 sweep steps
  const std::string markdown = read(out / "results.md");
  const std::string json = read(out / "results.json");
  for (const std::string& peer : peers) {
    CHECK(markdown.find(fmt::format("| {} | 20 | 2 | 4 |", peer)) != std::string::npos);
    CHECK(json.find(fmt::format("\"server\": \"{}\"", peer)) != std::string::npos);
    CHECK(fs::is_regular_file(out / "logs" / fmt::format("{}-idle20-conns2-depth4.log", peer)));
    CHECK(markdown.find(fmt::format("| {} | 2 | ", peer)) != std::string::npos);  // its connection rate
    CHECK(markdown.find(fmt::format("| {} | 1000 | ", peer)) != std::string::npos);  // its last sweep step
  }
  CHECK(markdown.find("| ok |") != std::string::npos);
  CHECK(json.find("\"throughput_rps\"") != std::string::npos);
  CHECK(json.find("\"status\": \"errors\"") == std::string::npos);  // a healthy peer loses nothing
}

TEST_CASE("compare says which servers it could not find, and still writes its files") {
  TempDir dir;
  const fs::path out = dir.path / "results";
  const auto run = run_program(GOTIT_GOTIT_BENCH_BIN,
                               {"compare", "--servers", "reactor-epoll,blocking-iterative", "--server-dir",
                                (dir.path / "nowhere").string(), "--idle", "0", "--conns", "1", "--depth", "1",
                                "--no-progress", "-o", out.string()});
  INFO(run.out << run.err);
  CHECK(run.status.code == 1);  // nothing could run
  CHECK(run.out.find("reactor-epoll") != std::string::npos);
  CHECK(run.out.find("gotit-reactor not found") != std::string::npos);
  CHECK(run.out.find("gotit-blocking not found") != std::string::npos);
  CHECK(run.err.find("no scenario could run") != std::string::npos);
  check_every_file(out, run.out, false);
  CHECK(read(out / "results.md").find("skipped: ") != std::string::npos);
}

TEST_CASE("compare rejects an unknown server name") {
  const auto run = run_program(GOTIT_GOTIT_BENCH_BIN, {"compare", "--servers", "reactor-kqueue2"});
  CHECK(run.status.code == 2);
  CHECK(run.err.find("unknown server 'reactor-kqueue2'") != std::string::npos);
}

// The real servers, tiny: every concurrent model answers every request, and
// the iterative model's inability to serve anyone while an idle client holds
// it shows as a timeout, not as a quiet zero.
namespace {

struct Row {
  std::string server;
  int idle = 0;
  std::string result;  // "ok", "errors: ...", "skipped: ..."
};

std::vector<Row> result_rows(const std::string& markdown) {
  std::vector<Row> rows;
  std::istringstream in(markdown);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("## Connection rate", 0) == 0) break;  // the load table ends here
    if (line.rfind("| reactor-", 0) != 0 && line.rfind("| blocking-", 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream fields(line.substr(1));
    std::string cell;
    while (std::getline(fields, cell, '|')) {
      const auto first = cell.find_first_not_of(' ');
      const auto last = cell.find_last_not_of(' ');
      cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
    }
    if (cells.size() < 5) continue;
    rows.push_back({cells[0], std::stoi(cells[1]), cells.back()});
  }
  return rows;
}

}  // namespace

TEST_CASE("compare measures the real servers and shows what the iterative model cannot do") {
  const TempDir dir;
  const fs::path out = dir.path / "results";
  const std::string server_dir = fs::path(GOTIT_GOTIT_REACTOR_BIN).parent_path().string();
  const auto run = run_program(GOTIT_GOTIT_BENCH_BIN,
                               {"compare", "--servers", "reactor-epoll,blocking-threads,blocking-iterative",
                                "--server-dir", server_dir, "--idle", "0,5", "--conns", "1,2", "--depth", "1,2",
                                "--duration", "0.2", "--warmup", "0.1", "--timeout", "0.5",
                                "--max-idle-iterative", "5", "--sweep-steps", "2", "--sweep-from", "500",
                                "--sweep-to", "1000", "--churn-clients", "2", "--no-progress", "-o", out.string()},
                               std::nullopt, std::chrono::seconds(120));
  INFO(run.out << run.err);
  REQUIRE(run.status.code == 0);
  check_every_file(out, run.out);
  const auto rows = result_rows(read(out / "results.md"));
  REQUIRE(rows.size() == 3 * 2 * 2 * 2);
  for (const Row& row : rows) {
    INFO(row.server << " idle " << row.idle << ": " << row.result);
    if (row.server == "blocking-iterative" && row.idle > 0) {
      CHECK(row.result.find("reply_timeout") != std::string::npos);
    } else if (row.server != "blocking-iterative") {
      CHECK(row.result == "ok");
    }
  }
  // The iterative model serves one client at a time: its sweep of ten
  // concurrent clients times out, and the plots name it instead of
  // drawing a point.
  const std::string markdown = read(out / "results.md");
  CHECK(markdown.find("| blocking-iterative | 500 | ") != std::string::npos);
  CHECK(markdown.find("| reactor-epoll | 2 | ") != std::string::npos);  // connection rate, 2 clients
  CHECK(read(out / "plots.gp").find("NaN title \"blocking-iterative (could not be measured") != std::string::npos);
}

TEST_CASE("compare without the connection rate and the sweep claims neither") {
  const TempDir dir;
  const fs::path out = dir.path / "results";
  const std::string server_dir = fs::path(GOTIT_GOTIT_REACTOR_BIN).parent_path().string();
  const auto run = run_program(GOTIT_GOTIT_BENCH_BIN,
                               {"compare", "--servers", "reactor-epoll", "--server-dir", server_dir, "--idle", "0",
                                "--conns", "1", "--depth", "1", "--duration", "0.2", "--warmup", "0.1",
                                "--churn-clients", "0", "--sweep-steps", "0", "--no-progress", "-o", out.string()},
                               std::nullopt, std::chrono::seconds(60));
  INFO(run.out << run.err);
  REQUIRE(run.status.code == 0);
  CHECK(run.out.find("connection rate: off; sweep: off") != std::string::npos);
  const std::string markdown = read(out / "results.md");
  CHECK(markdown.find("## Connection rate") == std::string::npos);
  CHECK(markdown.find("## Latency against offered load") == std::string::npos);
  CHECK(run.out.find("connections") == std::string::npos);  // not in the list of plots
  CHECK(run.out.find("p99_vs_rate") == std::string::npos);
}

TEST_CASE("gotit-bench names an unknown subcommand, points to the help that has the option, and has --version") {
  const auto unknown = run_program(GOTIT_GOTIT_BENCH_BIN, {"bogus"});
  CHECK(unknown.status.code == 2);
  CHECK(unknown.err.find("unknown subcommand 'bogus'") != std::string::npos);
  CHECK(unknown.err.find("Run 'gotit-bench --help' for usage.") != std::string::npos);
  const auto bad_run = run_program(GOTIT_GOTIT_BENCH_BIN, {"run", "--idle"});
  CHECK(bad_run.status.code == 2);
  CHECK(bad_run.err.find("--idle needs a value (N)\nRun 'gotit-bench run --help' for usage.") !=
        std::string::npos);
  const auto version = run_program(GOTIT_GOTIT_BENCH_BIN, {"--version"});
  CHECK(version.status.code == 0);
  CHECK(version.out.find("gotit-bench ") == 0);
}
