#include "gotit/bench/compare_output.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <set>
#include <sstream>

#include "gotit/bench/report.hpp"
#include "gotit/bench/compare_servers.hpp"
#include "gotit/common/net.hpp"
#include "gotit/bench/server_process.hpp"

namespace gotit {

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::ok: return "ok";
    case RunStatus::errors: return "errors";
    case RunStatus::skipped: return "skipped";
    case RunStatus::failed: return "failed";
  }
  return "?";
}

namespace {

bool measured(const CompareRun& run) {
  return run.status == RunStatus::ok || run.status == RunStatus::errors;
}

}  // namespace

std::string format_run_line(const CompareRun& run) {
  std::string head = fmt::format("{:<20} idle {:>5}  conns {:>3}  depth {:>2}:", run.server, run.idle,
                                 run.conns, run.depth);
  if (!measured(run)) return fmt::format("{} {} ({})", head, to_string(run.status), run.note);
  const RunResult& r = run.result;
  std::string line = fmt::format("{} {:>9.0f} req/s  p99 {:>12}", head, r.throughput(),
                                 r.latency.count() ? fmt::format("{:.1f} us", us(r.latency.percentile(99)))
                                                   : std::string("(no reply)"));
  if (r.server_at_end) line += fmt::format("  RSS {:>6.1f} MiB", mib(r.server_at_end->rss_bytes));
  if (run.status == RunStatus::errors || !run.note.empty()) line += "  [" + run.note + "]";
  return line;
}

namespace {

std::string json_run(const CompareRun& run) {
  return fmt::format("{{\"server\": {}, \"idle\": {}, \"conns\": {}, \"depth\": {}, \"status\": {}, "
                     "\"note\": {}, \"result\": {}}}",
                     json_string(run.server), run.idle, run.conns, run.depth, json_string(to_string(run.status)),
                     json_string(run.note), measured(run) ? format_json(run.result) : "null");
}

std::string results_json(const CompareReport& report) {
  std::string out = fmt::format("{{\n  \"machine\": {},\n  \"settings\": {},\n  \"command\": {},\n  \"runs\": [\n",
                                json_string(report.machine), json_string(report.settings),
                                json_string(report.command));
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    out += "    " + json_run(report.runs[i]) + (i + 1 < report.runs.size() ? ",\n" : "\n");
  }
  return out + "  ]\n}\n";
}

Columns run_columns(const CompareRun& run) {
  return {{"server", run.server},
          {"scenario_idle", std::to_string(run.idle)},
          {"scenario_conns", std::to_string(run.conns)},
          {"scenario_depth", std::to_string(run.depth)},
          {"status", std::string(to_string(run.status))},
          {"note", run.note}};
}

std::string results_csv(const CompareReport& report) {
  std::string out = csv_header(run_columns(CompareRun{}));
  for (const CompareRun& run : report.runs) out += csv_row(run_columns(run), run.result);
  return out;
}

std::string markdown_cell(std::string text) {
  std::string out;
  for (const char c : text) out += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  return out;
}

std::string results_markdown(const CompareReport& report) {
  std::string out = "# gotit-bench compare\n\n";
  out += fmt::format("- machine: {}\n- settings: {}\n- command: `{}`\n\n", report.machine, report.settings,
                     report.command);
  out += "Client and server share the machine. *bench CPU* is the load generator's share of one core "
         "during the window: near 100% it, not the server, may be the limit.\n\n";
  out += "| server | idle | conns | depth | requests/s | p50 µs | p99 µs | p99.9 µs | server RSS MiB | "
         "server CPU µs/req | threads | bench CPU | result |\n";
  out += "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n";
  for (const CompareRun& run : report.runs) {
    if (!measured(run)) {
      out += fmt::format("| {} | {} | {} | {} | | | | | | | | | {}: {} |\n", run.server, run.idle, run.conns,
                         run.depth, to_string(run.status), markdown_cell(run.note));
      continue;
    }
    const RunResult& r = run.result;
    const auto latency = [&](double p) {
      return r.latency.count() ? fmt::format("{:.1f}", us(r.latency.percentile(p))) : std::string("—");
    };
    out += fmt::format("| {} | {} | {} | {} | {:.0f} | {} | {} | {} | {} | {} | {} | {:.0f}% | {} |\n", run.server,
                       run.idle, run.conns, run.depth, r.throughput(), latency(50), latency(99), latency(99.9),
                       r.server_at_end ? fmt::format("{:.1f}", mib(r.server_at_end->rss_bytes)) : "",
                       fmt::format("{:.2f}", per_request_us(r.server_cpu_seconds, r)),
                       r.server_at_end ? std::to_string(r.server_at_end->threads) : "",
                       100.0 * bench_cpu_share(r),
                       run.status == RunStatus::ok && run.note.empty()
                           ? std::string("ok")
                           : fmt::format("{}: {}", to_string(run.status), markdown_cell(run.note)));
  }
  out += "\n![throughput](throughput.png) ![p99 latency against idle connections](p99_vs_idle.png)\n\n"
         "![server memory against connections](memory.png) ![server CPU per request](cpu_per_request.png)\n";
  return out;
}

}  // namespace

// The plots, as wide tables gnuplot reads: one row per x value, one column
// per server (or per depth), "?" where there is no measurement.
namespace {

struct Axes {
  std::vector<std::string> servers;  // in report order
  std::vector<int> idle, depth;
  int idle_base = 0, conns_top = 0, depth_low = 0;
};

Axes axes_of(const CompareReport& report) {
  Axes axes;
  std::set<int> idle, conns, depth;
  for (const CompareRun& run : report.runs) {
    if (std::find(axes.servers.begin(), axes.servers.end(), run.server) == axes.servers.end()) {
      axes.servers.push_back(run.server);
    }
    if (run.conns == 0) continue;  // a server that never ran
    idle.insert(run.idle);
    conns.insert(run.conns);
    depth.insert(run.depth);
  }
  axes.idle.assign(idle.begin(), idle.end());
  axes.depth.assign(depth.begin(), depth.end());
  axes.idle_base = idle.empty() ? 0 : *idle.begin();
  axes.conns_top = conns.empty() ? 0 : *conns.rbegin();
  axes.depth_low = depth.empty() ? 0 : *depth.begin();
  return axes;
}

const CompareRun* find_run(const CompareReport& report, const std::string& server, int idle, int conns, int depth) {
  for (const CompareRun& run : report.runs) {
    if (run.server == server && run.idle == idle && run.conns == conns && run.depth == depth && measured(run)) {
      return &run;
    }
  }
  return nullptr;
}

template <typename Value>
std::string value_or_missing(const CompareRun* run, Value value) {
  return run ? value(*run) : std::string("?");
}

// Rows: servers; columns: one per depth.
std::string by_server_table(const CompareReport& report, const Axes& axes,
                            std::string (*value)(const CompareRun&)) {
  std::string out = "server";
  for (const int d : axes.depth) out += fmt::format(" \"depth {}\"", d);
  out += "\n";
  for (const std::string& server : axes.servers) {
    out += "\"" + server + "\"";
    for (const int d : axes.depth) {
      out += " " + value_or_missing(find_run(report, server, axes.idle_base, axes.conns_top, d), value);
    }
    out += "\n";
  }
  return out;
}

// Rows: idle counts; columns: one per server.
std::string by_idle_table(const CompareReport& report, const Axes& axes, bool total_connections,
                          std::string (*value)(const CompareRun&)) {
  std::string out = total_connections ? "connections" : "idle";
  for (const std::string& server : axes.servers) out += " \"" + server + "\"";
  out += "\n";
  for (const int idle : axes.idle) {
    out += std::to_string(total_connections ? idle + axes.conns_top : idle);
    for (const std::string& server : axes.servers) {
      out += " " + value_or_missing(find_run(report, server, idle, axes.conns_top, axes.depth_low), value);
    }
    out += "\n";
  }
  return out;
}

std::string throughput_value(const CompareRun& run) { return fmt::format("{:.0f}", run.result.throughput()); }
std::string p99_value(const CompareRun& run) {
  // A run where nothing was answered has no latency to plot.
  return run.result.latency.count() ? fmt::format("{:.1f}", us(run.result.latency.percentile(99))) : "?";
}
std::string rss_value(const CompareRun& run) {
  return run.result.server_at_end ? fmt::format("{:.2f}", mib(run.result.server_at_end->rss_bytes)) : "?";
}
std::string cpu_value(const CompareRun& run) {
  return run.result.replies_in_window ? fmt::format("{:.3f}", per_request_us(run.result.server_cpu_seconds, run.result)) : "?";
}

// True if any cell past the header row and first column holds a number.
bool has_values(const std::string& table) {
  std::istringstream rows(table);
  std::string row;
  std::getline(rows, row);  // header
  while (std::getline(rows, row)) {
    std::istringstream cells(row);
    std::string cell;
    cells >> cell;  // the row's label
    while (cells >> cell) {
      if (cell != "?") return true;
    }
  }
  return false;
}

// Plots with no data at all are left out: gnuplot stops at the first
// plot whose points are all undefined.
std::string gnuplot_script(const Axes& axes, const std::set<std::string>& drawable) {
  const std::string settings =
      "set datafile missing '?'\nset termoption noenhanced\nset key outside right top\nset grid ytics\n";
  const auto block = [&](const std::string& name, const std::string& title, const std::string& ylabel,
                         const std::string& plot) {
    if (drawable.count(name) == 0) return std::string();
    return fmt::format(
        "do for [format in \"png svg\"] {{\n"
        "  if (format eq \"png\") {{ set terminal pngcairo size 960,540 }} else {{ set terminal svg size 960,540 }}\n"
        "  set output sprintf(\"{}.%s\", format)\n"
        "  set title \"{}\"\n  set ylabel \"{}\"\n  {}\n  unset output\n}}\n",
        name, title, ylabel, plot);
  };
  std::string out = "# Written by gotit-bench compare; run `gnuplot plots.gp` in this folder.\n" + settings;
  out += "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
         "set xtics rotate by -30\n";
  out += block("throughput", fmt::format("Throughput, {} connections, {} idle", axes.conns_top, axes.idle_base),
               "requests/s", "plot for [i=2:*] 'plot-data/throughput.dat' using i:xtic(1) title columnhead(i)");
  out += block("cpu_per_request",
               fmt::format("Server CPU per request, {} connections, {} idle", axes.conns_top, axes.idle_base),
               "CPU us per request", "plot for [i=2:*] 'plot-data/cpu_per_request.dat' using i:xtic(1) title columnhead(i)");
  out += "set style data linespoints\nset xtics norotate\n";
  out += block("p99_vs_idle",
               fmt::format("p99 latency against idle connections, {} active x depth {}", axes.conns_top, axes.depth_low),
               "p99 latency (us, log scale)",
               "set logscale y\n  set xlabel \"idle connections\"\n"
               "  plot for [i=2:*] 'plot-data/p99_vs_idle.dat' using 0:i:xtic(1) title columnhead(i) lw 2\n"
               "  unset logscale y\n  unset xlabel");
  out += block("memory", "Server memory (RSS) against open connections", "RSS (MiB)",
               "set xlabel \"connections open (idle + active)\"\n"
               "  plot for [i=2:*] 'plot-data/memory.dat' using 0:i:xtic(1) title columnhead(i) lw 2\n  unset xlabel");
  return out;
}

// gnuplot plots.gp, run in `dir`, its complaints in dir/plots.log.
// Returns the wait status. Bounded: a stuck gnuplot is killed after 60 s.
int run_gnuplot(const std::string& gnuplot, const std::string& dir) {
  const std::string log = dir + "/plots.log";
  const pid_t pid = ::fork();
  if (pid < 0) throw SystemError("fork", errno);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::chdir(dir.c_str()) != 0) _exit(126);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execl(gnuplot.c_str(), "gnuplot", "plots.gp", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  for (int waited_ms = 0; waited_ms < 60000; waited_ms += 10) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0) throw SystemError("waitpid gnuplot", errno);
    ::usleep(10000);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return status;
}

}  // namespace

std::vector<std::string> write_compare_results(const std::string& dir, const CompareReport& report) {
  std::vector<std::string> said;
  write_file(dir + "/results.json", results_json(report));
  write_file(dir + "/results.csv", results_csv(report));
  write_file(dir + "/results.md", results_markdown(report));
  const Axes axes = axes_of(report);
  const std::string data = dir + "/plot-data";
  std::error_code failure;
  std::filesystem::create_directories(data, failure);
  if (failure) throw BenchError(fmt::format("cannot create {}: {}", data, failure.message()));
  const std::pair<std::string, std::string> tables[] = {
      {"throughput", by_server_table(report, axes, throughput_value)},
      {"cpu_per_request", by_server_table(report, axes, cpu_value)},
      {"p99_vs_idle", by_idle_table(report, axes, false, p99_value)},
      {"memory", by_idle_table(report, axes, true, rss_value)},
  };
  std::set<std::string> drawable;
  for (const auto& [name, table] : tables) {
    write_file(data + "/" + name + ".dat", table);
    if (has_values(table)) drawable.insert(name);
  }
  write_file(dir + "/plots.gp", gnuplot_script(axes, drawable));
  said.push_back(fmt::format("wrote {0}/results.md, {0}/results.csv, {0}/results.json, {0}/plots.gp", dir));
  if (drawable.empty()) {
    said.push_back("no measurements, so no plots");
    return said;
  }
  const std::string gnuplot = find_on_path("gnuplot");
  if (gnuplot.empty()) {
    said.push_back("gnuplot is not installed: no PNG/SVG plots (Debian: apt-get install gnuplot-nox, then "
                   "run `gnuplot plots.gp` in " + dir + ")");
    return said;
  }
  const int status = run_gnuplot(gnuplot, dir);
  if (status != 0) {
    said.push_back(fmt::format("gnuplot failed ({}); see {}/plots.log", describe_wait_status(status), dir));
  } else {
    said.push_back(fmt::format("plotted {0}/throughput, p99_vs_idle, memory, cpu_per_request (.png and .svg)", dir));
  }
  return said;
}

}  // namespace gotit
