// compare's plots: each measurement as a wide table gnuplot reads
// (plot-data/NAME.dat), one gnuplot script (plots.gp) that draws them all
// with one colour per model, and gnuplot run on it when it is installed.
#include "compare_plots.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <set>
#include <sstream>

#include "gotit/bench/compare_servers.hpp"
#include "gotit/bench/report.hpp"
#include "gotit/bench/server_process.hpp"

namespace gotit {

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
    if (run.conns == 0 || run.scenario != "load") continue;  // never ran, or another scenario
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
    if (run.scenario == "load" && run.server == server && run.idle == idle && run.conns == conns &&
        run.depth == depth && measured(run)) {
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

// A table with one column per server, one row per x value. A server with
// a hole in its column says so in its title: what could not run is a gap,
// never a point.
std::string per_server_columns(const std::string& x_name, const std::vector<std::string>& servers,
                               const std::vector<std::pair<std::string, std::vector<std::string>>>& rows) {
  std::string out = x_name;
  for (std::size_t s = 0; s < servers.size(); ++s) {
    std::size_t gaps = 0;
    for (const auto& row : rows) gaps += row.second[s] == "?" ? 1 : 0;
    const char* note = gaps == 0 ? "" : gaps == rows.size() ? " (could not be measured: see results.md)"
                                                            : " (gaps: see results.md)";
    out += " \"" + servers[s] + note + "\"";
  }
  out += "\n";
  for (const auto& [x, cells] : rows) {
    out += x;
    for (const std::string& cell : cells) out += " " + cell;
    out += "\n";
  }
  return out;
}

// Rows: idle counts; columns: one per server.
std::string by_idle_table(const CompareReport& report, const Axes& axes, bool total_connections,
                          std::string (*value)(const CompareRun&)) {
  std::vector<std::pair<std::string, std::vector<std::string>>> rows;
  for (const int idle : axes.idle) {
    rows.emplace_back(std::to_string(total_connections ? idle + axes.conns_top : idle), std::vector<std::string>{});
    for (const std::string& server : axes.servers) {
      rows.back().second.push_back(
          value_or_missing(find_run(report, server, idle, axes.conns_top, axes.depth_low), value));
    }
  }
  return per_server_columns(total_connections ? "connections" : "idle", axes.servers, rows);
}

// Rows: offered rates of the sweep; columns: p99 per server, "?" for a
// step that had errors or was never reached.
std::string sweep_table(const CompareReport& report, const Axes& axes) {
  std::set<double> rates;
  for (const CompareRun& run : report.runs) {
    if (run.scenario == "sweep" && measured(run)) rates.insert(run.offered);
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> rows;
  for (const double rate : rates) {
    rows.emplace_back(fmt::format("{:.0f}", rate), std::vector<std::string>(axes.servers.size(), "?"));
    for (std::size_t s = 0; s < axes.servers.size(); ++s) {
      for (const CompareRun& run : report.runs) {
        if (run.scenario == "sweep" && run.server == axes.servers[s] && run.offered == rate &&
            run.status == RunStatus::ok) {
          rows.back().second[s] = fmt::format("{:.1f}", us(run.result.latency.percentile(99)));
        }
      }
    }
  }
  return per_server_columns("offered", axes.servers, rows);
}

// One row per server (in the colour order): connections/s, "?" where the
// scenario failed, with why in the label.
std::string churn_table(const CompareReport& report, const Axes& axes) {
  std::string out = "# server connections_per_s\n";
  for (const std::string& server : axes.servers) {
    const CompareRun* found = nullptr;
    for (const CompareRun& run : report.runs) {
      if (run.scenario == "churn" && run.server == server) found = &run;
    }
    const bool ok = found && found->status == RunStatus::ok;
    const std::string label = !found ? server + " (not run)"
                              : ok   ? server + (bench_limited(found->result) ? " (bench limited)" : "")
                                     : server + " (" + std::string(to_string(found->status)) + ")";
    out += fmt::format("\"{}\" {}\n", label, ok ? fmt::format("{:.0f}", found->result.throughput()) : "?");
  }
  return out;
}

std::string throughput_value(const CompareRun& run) { return fmt::format("{:.0f}", run.result.throughput()); }
std::string p99_value(const CompareRun& run) {
  // A run with errors (the iterative server's 49 timed-out clients) has no
  // latency that means anything: a gap, not a point.
  return run.status == RunStatus::ok && run.result.latency.count()
             ? fmt::format("{:.1f}", us(run.result.latency.percentile(99)))
             : "?";
}
std::string rss_value(const CompareRun& run) {
  return run.result.server_at_end ? fmt::format("{:.2f}", mib(run.result.server_at_end->rss_bytes)) : "?";
}
std::string cpu_value(const CompareRun& run) {
  return run.result.replies_in_window ? fmt::format("{:.3f}", per_request_us(run.result.server_cpu_seconds, run.result)) : "?";
}

// The quoted titles of the columns that hold no number at all: gnuplot
// leaves such a series out of the key, so the script names them itself.
std::vector<std::string> empty_columns(const std::string& table) {
  std::istringstream rows(table);
  std::string header;
  std::getline(rows, header);
  std::vector<std::string> titles;
  for (std::size_t at = header.find('"'); at != std::string::npos; at = header.find('"', at + 1)) {
    const std::size_t end = header.find('"', at + 1);
    titles.push_back(header.substr(at, end - at + 1));
    at = end;
  }
  std::vector<bool> seen(titles.size(), false);
  std::string row;
  while (std::getline(rows, row)) {
    std::istringstream cells(row);
    std::string cell;
    cells >> cell;  // the x value
    for (std::size_t i = 0; i < titles.size() && cells >> cell; ++i) seen[i] = seen[i] || cell != "?";
  }
  std::vector<std::string> empty;
  for (std::size_t i = 0; i < titles.size(); ++i) {
    if (!seen[i]) empty.push_back(fmt::format("NaN title {} lt {}", titles[i], i + 1));
  }
  return empty;
}

// True if any cell past the header row and first column holds a number.
bool has_values(const std::string& table) {
  std::istringstream rows(table);
  std::string row;
  std::getline(rows, row);  // header
  while (std::getline(rows, row)) {
    // The row's label, quoted when it has spaces.
    const std::size_t label_end = row[0] == '"' ? row.find('"', 1) : row.find(' ');
    if (label_end == std::string::npos) continue;
    std::istringstream cells(row.substr(label_end + 1));
    std::string cell;
    while (cells >> cell) {
      if (cell != "?") return true;
    }
  }
  return false;
}

// Plots with no data at all are left out: gnuplot stops at the first
// plot whose points are all undefined. Every model keeps one colour in
// every plot (linetype N is the Nth server); bars split by depth are grey.
using Drawable = std::map<std::string, std::vector<std::string>>;  // plot -> its empty series

std::string gnuplot_script(const Axes& axes, const Drawable& drawable, const std::string& machine) {
  static constexpr const char* kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                             "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  std::string settings =
      "set datafile missing '?'\nset key below\nset grid ytics\n";
  for (std::size_t i = 0; i < axes.servers.size(); ++i) {
    settings += fmt::format("set linetype {} lc rgb \"{}\" lw 2 pt {}\n", i + 1, kColours[i % 10], i + 1);
  }
  const auto block = [&](const std::string& name, const std::string& title, const std::string& ylabel,
                         const std::string& plot) {
    const auto found = drawable.find(name);
    if (found == drawable.end()) return std::string();
    std::string full_plot = plot;
    for (const std::string& empty : found->second) full_plot += ", " + empty;
    return fmt::format(
        "do for [format in \"png svg\"] {{\n"
        "  if (format eq \"png\") {{ set terminal pngcairo size 960,540 noenhanced }} else {{ set terminal svg size 960,540 noenhanced }}\n"
        "  set output sprintf(\"{}.%s\", format)\n"
        "  set title \"{}\\n{}\"\n  set ylabel \"{}\"\n  {}\n  unset output\n  unset logscale\n}}\n",
        name, title, machine, ylabel, full_plot);
  };
  std::string out = "# Written by gotit-bench compare; run `gnuplot plots.gp` in this folder.\n" + settings;
  out += "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
         "set xtics rotate by -30\nset xlabel \"server model\"\n";
  const std::string grey_bars = "title columnhead(i) lc rgb sprintf(\"#%02x%02x%02x\", 40 + 50 * (i - 2), "
                                "40 + 50 * (i - 2), 40 + 50 * (i - 2))";
  out += block("throughput", fmt::format("Throughput, closed loop, {} connections, {} idle", axes.conns_top, axes.idle_base),
               "requests/s", "plot for [i=2:*] 'plot-data/throughput.dat' using i:xtic(1) " + grey_bars);
  out += block("cpu_per_request",
               fmt::format("Server CPU per request, closed loop, {} connections, {} idle", axes.conns_top, axes.idle_base),
               "server CPU per request (us)",
               "plot for [i=2:*] 'plot-data/cpu_per_request.dat' using i:xtic(1) " + grey_bars);
  out += block("connections", "Connection rate: connect, one request, reply, close, per client in a loop",
               "connections/s",
               "set style fill solid 0.8 border -1\n  set boxwidth 0.7\n  set yrange [0:*]\n"
               "  plot 'plot-data/connections.dat' using 0:2:($0+1):xtic(1) with boxes lc variable notitle");
  out += "set style data linespoints\nset xtics norotate\nset yrange [*:*]\n";
  // Explicit column ranges: `i=2:*` would end at a server with no point.
  const std::string last_column = std::to_string(axes.servers.size() + 1);
  out += block("p99_vs_idle",
               fmt::format("p99 latency against idle connections, closed loop, {} active x depth {}", axes.conns_top,
                           axes.depth_low),
               "p99 latency (us, log scale)",
               "set logscale y\n  set xlabel \"idle connections\"\n" +
               fmt::format("  plot for [i=2:{0}] 'plot-data/p99_vs_idle.dat' using 0:i:xtic(1) title columnhead(i) lt (i-1)"
               "", last_column));
  out += block("memory", "Server memory (RSS) against open connections", "RSS (MiB)",
               "set xlabel \"connections open (idle + active)\"\n" +
               fmt::format("  plot for [i=2:{0}] 'plot-data/memory.dat' using 0:i:xtic(1) title columnhead(i) lt (i-1)",
                           last_column));
  out += block("p99_vs_rate", "p99 latency against offered load, open loop (timed from the schedule)",
               "p99 latency (us, log scale)",
               "set logscale xy\n  set xlabel \"offered load (requests/s, log scale)\"\n" +
               fmt::format("  plot for [i=2:{0}] 'plot-data/p99_vs_rate.dat' using 1:i title columnhead(i) lt (i-1)"
                           "", last_column));
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

std::vector<std::string> write_compare_plots(const std::string& dir, const CompareReport& report) {
  std::vector<std::string> said;
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
      {"connections", churn_table(report, axes)},
      {"p99_vs_rate", sweep_table(report, axes)},
  };
  Drawable drawable;
  for (const auto& [name, table] : tables) {
    write_file(data + "/" + name + ".dat", table);
    if (!has_values(table)) continue;
    // The line plots name a server with no point at all in the key.
    const bool lines = name == "p99_vs_idle" || name == "memory" || name == "p99_vs_rate";
    drawable[name] = lines ? empty_columns(table) : std::vector<std::string>{};
  }
  write_file(dir + "/plots.gp", gnuplot_script(axes, drawable, report.machine));
  said.push_back(fmt::format("wrote {}/plots.gp and plot-data/", dir));
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
    std::vector<std::string> plotted;
    for (const auto& [name, table] : tables) {
      if (drawable.count(name)) plotted.push_back(name);
    }
    said.push_back(fmt::format("plotted {}/{} (.png and .svg)", dir, fmt::join(plotted, ", ")));
  }
  return said;
}

}  // namespace gotit
