#include "gotit/bench/report.hpp"

#include <cerrno>
#include <fmt/format.h>
#include <fstream>

#include "gotit/bench/options.hpp"
#include "gotit/common/net.hpp"

namespace gotit {

namespace {

constexpr double kPercentiles[] = {50, 90, 99, 99.9};

std::string latency_line(const LatencyHistogram& h) {
  if (h.count() == 0) return "no samples";
  std::string line;
  for (const double p : kPercentiles) line += fmt::format("p{} {:.1f}  ", p, us(h.percentile(p)));
  return line + fmt::format("max {:.1f}  mean {:.1f}", us(h.max()), h.mean() / 1000.0);
}

}  // namespace

double bench_cpu_share(const RunResult& result) {
  return result.duration_s > 0 ? result.bench_cpu_seconds / result.duration_s : 0.0;
}

bool bench_limited(const RunResult& result) { return bench_cpu_share(result) > 0.9; }

namespace {

std::string target_line(const RunResult& r) {
  if (r.new_connection_per_request) {
    return fmt::format(
        "target        {}: {} client{} each looping connect, one request, reply, close ({}), {} idle, "
        "{} B requests\n",
        r.target, r.conns, r.conns == 1 ? "" : "s",
        r.close_rst ? "closed with RST, SO_LINGER 0" : "closed with FIN", r.idle_target, r.request_bytes);
  }
  return fmt::format(
      "target        {}: {} connection{} x depth {}, {}, {} idle, {} B requests\n", r.target, r.conns,
      r.conns == 1 ? "" : "s", r.depth,
      r.rate > 0 ? fmt::format("open loop at {:.0f} requests/s", r.rate) : std::string("closed loop"),
      r.idle_target, r.request_bytes);
}

}  // namespace

std::string format_table(const RunResult& r) {
  const char* unit = r.new_connection_per_request ? "connection" : "request";
  std::string out = target_line(r);
  if (!r.sources.empty()) out += fmt::format("sources       {}\n", r.sources);
  out += fmt::format("window        {:.2f} s after {:.2f} s warm-up\n", r.duration_s, r.warmup_s);
  out += fmt::format("throughput    {:.0f} {}s/s\n", r.throughput(), unit);
  out += fmt::format("latency (us)  {}{}\n", latency_line(r.latency),
                     r.new_connection_per_request ? "  (connect + request + reply)" : "");
  out += fmt::format("connect (us)  {}\n", latency_line(r.connect_time));
  out += fmt::format("replies       {} sent, {} answered correctly, {} missing\n", r.requests_sent,
                     r.replies, r.missing_replies);
  if (r.overdue_unsent > 0) {
    out += fmt::format("overdue       {} requests due in the window never sent (the server was behind);\n"
                       "              the latency above counts each as waiting until the window's end\n",
                       r.overdue_unsent);
  }
  if (r.idle_target > 0) {
    out += fmt::format("idle          {}/{} opened in {:.2f} s, {} still held at the end\n", r.idle_opened,
                       r.idle_target, r.idle_open_seconds, r.idle_held);
  }
  if (r.total_errors() == 0) {
    out += "errors        none\n";
  } else {
    for (std::size_t i = 0; i < kErrorKinds; ++i) {
      if (r.errors[i] == 0) continue;
      out += fmt::format("error         {} x{} (first: {})\n", to_string(static_cast<ErrorKind>(i)),
                         r.errors[i], r.first_error[i]);
    }
  }
  if (r.server_at_end) {
    const ProcSample& s = *r.server_at_end;
    out += fmt::format("server        RSS {:.1f} MiB{} (peak {:.1f} MiB), {} thread{}, {} process{}\n",
                       mib(s.rss_bytes),
                       r.server_after_idle ? fmt::format(", {:.1f} MiB with only the idle pool",
                                                         mib(r.server_after_idle->rss_bytes))
                                           : std::string(),
                       mib(s.peak_rss_bytes), s.threads, s.threads == 1 ? "" : "s", s.processes,
                       s.processes == 1 ? "" : "es");
    out += fmt::format("server CPU    {:.2f} s in the window ({:.0f}% of a core), {:.2f} us/{}\n",
                       r.server_cpu_seconds, 100.0 * r.server_cpu_seconds / std::max(r.duration_s, 1e-9),
                       per_request_us(r.server_cpu_seconds, r), unit);
  }
  out += fmt::format("bench CPU     {:.2f} s in the window ({:.0f}% of a core), {:.2f} us/{}\n",
                     r.bench_cpu_seconds, 100.0 * bench_cpu_share(r), per_request_us(r.bench_cpu_seconds, r),
                     unit);
  if (bench_limited(r)) {
    out += "warning       the bench (one thread) used most of a core: it, not the server, is the limit here\n";
  }
  return out;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

namespace {

std::string json_histogram(const LatencyHistogram& h) {
  std::string out = fmt::format("{{\"count\": {}, \"min_us\": {:.3f}, \"mean_us\": {:.3f}", h.count(),
                                us(h.min()), h.mean() / 1000.0);
  for (const double p : kPercentiles) out += fmt::format(", \"p{}_us\": {:.3f}", p, us(h.percentile(p)));
  return out + fmt::format(", \"max_us\": {:.3f}}}", us(h.max()));
}

std::string json_intervals(const RunResult& r) {
  std::string out;
  for (const IntervalSample& i : r.intervals) {
    out += fmt::format("{}{{\"end_s\": {:.3f}, \"per_s\": {:.1f}, \"p99_us\": {:.3f}, \"errors\": {}, \"open\": {}}}",
                       out.empty() ? "" : ", ", i.end_s, i.requests_per_s, us(i.p99_ns), i.errors, i.open);
  }
  return "[" + out + "]";
}

std::string json_sample(const std::optional<ProcSample>& s) {
  if (!s) return "null";
  return fmt::format(
      "{{\"rss_bytes\": {}, \"peak_rss_bytes\": {}, \"cpu_seconds\": {:.3f}, \"threads\": {}, "
      "\"processes\": {}}}",
      s->rss_bytes, s->peak_rss_bytes, s->cpu_seconds, s->threads, s->processes);
}

}  // namespace

std::string format_json(const RunResult& r) {
  std::string errors;
  for (std::size_t i = 0; i < kErrorKinds; ++i) {
    if (r.errors[i] == 0) continue;
    if (!errors.empty()) errors += ", ";
    errors += fmt::format("{}: {{\"count\": {}, \"first\": {}}}",
                          json_string(to_string(static_cast<ErrorKind>(i))), r.errors[i],
                          json_string(r.first_error[i]));
  }
  return fmt::format(
      "{{\"target\": {}, \"idle\": {}, \"conns\": {}, \"depth\": {}, \"rate\": {}, \"request_bytes\": {}, "
      "\"duration_s\": {:.3f}, \"warmup_s\": {:.3f}, \"throughput_rps\": {:.1f}, "
      "\"requests_sent\": {}, \"replies\": {}, \"replies_in_window\": {}, \"missing_replies\": {}, "
      "\"overdue_unsent\": {}, "
      "\"latency\": {}, \"connect\": {}, \"idle_opened\": {}, \"idle_held\": {}, "
      "\"idle_open_seconds\": {:.3f}, \"active_connected\": {}, \"errors\": {{{}}}, "
      "\"bench_cpu_seconds\": {:.3f}, \"server_cpu_seconds\": {:.3f}, \"server_after_idle\": {}, "
      "\"server_at_end\": {}, \"new_connection_per_request\": {}, \"close\": {}, \"sources\": {}, "
      "\"bench_limited\": {}, \"intervals\": {}}}",
      json_string(r.target), r.idle_target, r.conns, r.depth, r.rate, r.request_bytes, r.duration_s,
      r.warmup_s, r.throughput(), r.requests_sent, r.replies, r.replies_in_window, r.missing_replies,
      r.overdue_unsent, json_histogram(r.latency), json_histogram(r.connect_time), r.idle_opened, r.idle_held,
      r.idle_open_seconds, r.active_connected, errors, r.bench_cpu_seconds, r.server_cpu_seconds,
      json_sample(r.server_after_idle), json_sample(r.server_at_end), r.new_connection_per_request,
      r.close_rst ? "\"rst\"" : "\"fin\"", json_string(r.sources), bench_limited(r), json_intervals(r));
}

namespace {

// The result's own columns, in order.
Columns result_columns(const RunResult& r) {
  const auto f = [](double value) { return fmt::format("{:.3f}", value); };
  const auto rss = [](const std::optional<ProcSample>& s) {
    return s ? std::to_string(s->rss_bytes) : std::string();
  };
  Columns c = {
      {"target", r.target}, {"idle", std::to_string(r.idle_target)}, {"conns", std::to_string(r.conns)},
      {"depth", std::to_string(r.depth)}, {"rate", f(r.rate)}, {"request_bytes", std::to_string(r.request_bytes)},
      {"duration_s", f(r.duration_s)}, {"throughput_rps", f(r.throughput())},
      {"requests_sent", std::to_string(r.requests_sent)}, {"replies", std::to_string(r.replies)},
      {"missing_replies", std::to_string(r.missing_replies)}, {"overdue_unsent", std::to_string(r.overdue_unsent)},
      {"errors", std::to_string(r.total_errors())},
  };
  for (const double p : kPercentiles) c.emplace_back(fmt::format("p{}_us", p), f(us(r.latency.percentile(p))));
  c.emplace_back("max_us", f(us(r.latency.max())));
  c.emplace_back("mean_us", f(r.latency.mean() / 1000.0));
  c.emplace_back("connect_p99_us", f(us(r.connect_time.percentile(99))));
  c.emplace_back("idle_opened", std::to_string(r.idle_opened));
  c.emplace_back("idle_held", std::to_string(r.idle_held));
  for (std::size_t i = 0; i < kErrorKinds; ++i) {
    c.emplace_back(std::string(to_string(static_cast<ErrorKind>(i))), std::to_string(r.errors[i]));
  }
  c.emplace_back("bench_cpu_s", f(r.bench_cpu_seconds));
  c.emplace_back("server_cpu_s", f(r.server_cpu_seconds));
  c.emplace_back("server_rss_idle_bytes", rss(r.server_after_idle));
  c.emplace_back("server_rss_bytes", rss(r.server_at_end));
  c.emplace_back("server_peak_rss_bytes",
                 r.server_at_end ? std::to_string(r.server_at_end->peak_rss_bytes) : std::string());
  c.emplace_back("server_threads", r.server_at_end ? std::to_string(r.server_at_end->threads) : std::string());
  c.emplace_back("server_processes",
                 r.server_at_end ? std::to_string(r.server_at_end->processes) : std::string());
  c.emplace_back("new_connection_per_request", r.new_connection_per_request ? "1" : "0");
  c.emplace_back("close", r.close_rst ? "rst" : "fin");
  c.emplace_back("bench_limited", bench_limited(r) ? "1" : "0");
  return c;
}

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\n") == std::string::npos) return value;
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string join(const Columns& columns, bool names) {
  std::string out;
  for (const auto& [name, value] : columns) {
    if (!out.empty()) out += ',';
    out += csv_field(names ? name : value);
  }
  return out + "\n";
}

}  // namespace

std::string csv_header(const Columns& extra) {
  Columns all = extra;
  const Columns own = result_columns(RunResult{});
  all.insert(all.end(), own.begin(), own.end());
  return join(all, true);
}

std::string csv_row(const Columns& extra, const RunResult& result) {
  Columns all = extra;
  const Columns own = result_columns(result);
  all.insert(all.end(), own.begin(), own.end());
  return join(all, false);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw SystemError(fmt::format("open {}", path), errno);
  file << text;
  file.close();
  if (!file) throw SystemError(fmt::format("write {}", path), errno);
}

}  // namespace gotit
