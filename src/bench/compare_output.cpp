// compare's tables: results.json and results.csv (every run), results.md
// (what a person reads first: the load, the connection rate and the sweep
// with each model's knee); the plots are compare_plots.cpp's.
#include "gotit/bench/compare_output.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "compare_plots.hpp"
#include "gotit/bench/report.hpp"
#include "gotit/bench/sweep.hpp"

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

// A sweep step below the knee: every request answered, p99 within target.
bool meets_knee_target(const CompareRun& run) {
  return run.status == RunStatus::ok && run.result.clean() &&
         us(run.result.latency.percentile(99)) <= kCompareTargetP99Us;
}

}  // namespace

std::string format_run_line(const CompareRun& run) {
  std::string head = run.scenario == "churn"
                         ? fmt::format("{:<20} connection rate, {:>3} clients:", run.server, run.conns)
                     : run.scenario == "sweep"
                         ? fmt::format("{:<20} sweep at {:>7.0f} requests/s:", run.server, run.offered)
                         : fmt::format("{:<20} idle {:>5}  conns {:>3}  depth {:>2}:", run.server, run.idle,
                                       run.conns, run.depth);
  if (!measured(run)) return fmt::format("{} {} ({})", head, to_string(run.status), run.note);
  const RunResult& r = run.result;
  std::string line = fmt::format("{} {:>9.0f} {}/s  p99 {:>12}", head, r.throughput(),
                                 run.scenario == "churn" ? "conn" : "req",
                                 r.latency.count() ? fmt::format("{:.1f} us", us(r.latency.percentile(99)))
                                                   : std::string("(no reply)"));
  if (r.server_at_end) line += fmt::format("  RSS {:>6.1f} MiB", mib(r.server_at_end->rss_bytes));
  if (run.status == RunStatus::errors || !run.note.empty()) line += "  [" + run.note + "]";
  return line;
}

namespace {

std::string json_run(const CompareRun& run) {
  return fmt::format("{{\"server\": {}, \"scenario\": {}, \"offered_rps\": {}, \"idle\": {}, \"conns\": {}, "
                     "\"depth\": {}, \"status\": {}, \"note\": {}, \"result\": {}}}",
                     json_string(run.server), json_string(run.scenario), run.offered, run.idle, run.conns,
                     run.depth, json_string(to_string(run.status)),
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
          {"scenario", run.scenario},
          {"offered_rps", fmt::format("{:.0f}", run.offered)},
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

std::string result_cell(const CompareRun& run) {
  return run.status == RunStatus::ok && run.note.empty()
             ? std::string("ok")
             : fmt::format("{}: {}", to_string(run.status), markdown_cell(run.note));
}

std::string latency_cell(const CompareRun& run, double p) {
  const LatencyHistogram& h = run.result.latency;
  return measured(run) && h.count() ? fmt::format("{:.1f}", us(h.percentile(p))) : std::string("—");
}

bool has_scenario(const CompareReport& report, std::string_view scenario) {
  return std::any_of(report.runs.begin(), report.runs.end(),
                     [&](const CompareRun& run) { return run.scenario == scenario; });
}

std::string churn_markdown(const CompareReport& report) {
  if (!has_scenario(report, "churn")) return "";  // --churn-clients 0
  std::string out =
      "\n## Connection rate\n\nEach client loops connect, one request, reply, close (FIN), from "
      "127.0.0.1-127.0.0.8. Latency is connect + request + reply. *bench limited*: the bench's one thread "
      "used more than 90% of a core, so the server may be faster than shown.\n\n"
      "| server | clients | connections/s | p50 µs | p99 µs | server CPU µs/connection | bench CPU | result |\n"
      "|---|--:|--:|--:|--:|--:|--:|---|\n";
  for (const CompareRun& run : report.runs) {
    if (run.scenario != "churn") continue;
    const RunResult& r = run.result;
    out += measured(run)
               ? fmt::format("| {} | {} | {:.0f} | {} | {} | {:.1f} | {:.0f}%{} | {} |\n", run.server, run.conns,
                             r.throughput(), latency_cell(run, 50), latency_cell(run, 99),
                             per_request_us(r.server_cpu_seconds, r), 100.0 * bench_cpu_share(r),
                             bench_limited(r) ? " (bench limited)" : "", result_cell(run))
               : fmt::format("| {} | {} | | | | | | {} |\n", run.server, run.conns, result_cell(run));
  }
  return out + "\n![connections per second](connections.png)\n";
}

std::string sweep_markdown(const CompareReport& report) {
  if (!has_scenario(report, "sweep")) return "";  // --sweep-steps 0
  std::string out = fmt::format(
      "\n## Latency against offered load\n\nOpen loop: requests leave on a schedule and latency is timed from "
      "the scheduled send, so a server that falls behind is charged for its queue. The knee is the highest "
      "offered rate with p99 <= {:.0f} µs and no errors; a sweep stops once the server achieves less than "
      "{:.0f}% of what is offered.\n\n"
      "| server | offered/s | achieved/s | p50 µs | p99 µs | p99.9 µs | result |\n|---|--:|--:|--:|--:|--:|---|\n",
      kCompareTargetP99Us, 100 * kKeepUpFraction);
  std::map<std::string, double> knees;
  std::vector<std::string> order;
  for (const CompareRun& run : report.runs) {
    if (run.scenario != "sweep") continue;
    if (std::find(order.begin(), order.end(), run.server) == order.end()) order.push_back(run.server);
    if (meets_knee_target(run)) knees[run.server] = std::max(knees[run.server], run.offered);
    out += fmt::format("| {} | {:.0f} | {} | {} | {} | {} | {} |\n", run.server, run.offered,
                       measured(run) ? fmt::format("{:.0f}", run.result.throughput()) : "", latency_cell(run, 50),
                       latency_cell(run, 99), latency_cell(run, 99.9), result_cell(run));
  }
  out += "\nKnees: ";
  for (const std::string& server : order) {
    out += knees.count(server) ? fmt::format("{} {:.0f}/s; ", server, knees[server]) : fmt::format("{} none; ", server);
  }
  return out + "\n\n![p99 against offered load](p99_vs_rate.png)\n";
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
    if (run.scenario != "load") continue;
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
  return out + churn_markdown(report) + sweep_markdown(report);
}

}  // namespace


std::vector<std::string> write_compare_results(const std::string& dir, const CompareReport& report) {
  std::vector<std::string> said;
  write_file(dir + "/results.json", results_json(report));
  write_file(dir + "/results.csv", results_csv(report));
  write_file(dir + "/results.md", results_markdown(report));
  said.push_back(fmt::format("wrote {0}/results.md, {0}/results.csv, {0}/results.json", dir));
  for (std::string& line : write_compare_plots(dir, report)) said.push_back(std::move(line));
  return said;
}

}  // namespace gotit
