#include "gotit/bench/options.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "gotit/bench/idle_pool.hpp"
#include "gotit/bench/socket.hpp"
#include "gotit/common/net.hpp"

namespace gotit {

void add_run_options(CLI::App& app, RunOptions& options, RunOptionText& text) {
  app.add_option("--host", options.host, "Server host (default 127.0.0.1)")->type_name("HOST");
  app.add_option("-p,--port", text.port, "Server port (default 3000)")->type_name("PORT");
  app.add_option("--idle", options.idle, "Idle connections to open and hold first (default 0)")->type_name("N");
  app.add_option("-c,--conns", options.conns, "Active connections (default 1)")->type_name("N");
  app.add_option("-d,--depth", options.depth, "Requests in flight per active connection (default 1)")->type_name("N");
  app.add_option("--duration", options.duration_s, "Seconds measured (default 5)")->type_name("SECONDS");
  app.add_option("--warmup", options.warmup_s, "Seconds of load before measuring (default 1)")->type_name("SECONDS");
  app.add_option("--rate", options.rate,
                 "Open loop: requests/s over all connections, latency from the scheduled "
                 "send time (default 0: closed loop)")->type_name("REQUESTS/S");
  app.add_option("--timeout", options.timeout_s, "Seconds to wait for a reply before it counts as missing (default 5)")->type_name("SECONDS");
  app.add_option("--connect-timeout", options.connect_timeout_s,
                 fmt::format("Seconds to wait for a connect; after {} idle connects in a row time out, "
                             "the idle pool tries no more (default 5)",
                             IdlePool::kTimeoutsInARowToGiveUp))
      ->type_name("SECONDS");
  app.add_option("--request", text.request,
                 "Request bytes, escapes \\r \\n \\t \\\\ \\xHH understood (default 'hello\\n')")->type_name("TEXT");
  app.add_option("--size", text.size,
                 "Request of BYTES bytes: 'x' repeated, then '\\n'; with --expect echo and BYTES >= 9 each "
                 "request starts with its sequence number, so reply order is checked")->type_name("BYTES");
  app.add_option("--expect", text.expect, "What a gotit server answers: gotit or echo (default gotit)")->type_name("NAME");
  app.add_option("--reply", text.reply, "Other servers: the exact reply to every request (e.g. '+PONG\\r\\n')")->type_name("TEXT");
  app.add_option("--reply-delim", text.reply_delim,
                 "Other servers: a reply is anything ending in this (e.g. '\\r\\n')")->type_name("TEXT");
  app.add_option("--source-addrs", text.source_addrs,
                 fmt::format("Spread connections over local addresses: an IPv4 range or a,b,c. "
                             "Linux's connect() slows sharply past about {} connections from one "
                             "address to one server; to a server on 127.x.x.x, {} avoids that "
                             "(a server that trusts only 127.0.0.1 refuses the others). Default: "
                             "the kernel chooses",
                             kFastConnectsFromOneAddress, kLoopbackSources))->type_name("ADDRESSES");
  app.add_option("--server-pid", options.server_pid, "Report this process's memory, CPU and threads")->type_name("PID");
  app.add_option("--json", options.json_path, "Also write the results as JSON to FILE")->type_name("FILE");
  app.add_option("--csv", options.csv_path, "Also write the results as CSV to FILE")->type_name("FILE");
  app.add_flag_callback("--no-progress", [&options] { options.progress = false; }, "No progress lines on stderr");
  add_run_extras(app, options);
}

namespace {

void check_range(std::string_view what, double value, double min, double max) {
  if (!(value >= min && value <= max)) {
    throw UsageError(fmt::format("{} must be {}..{}, got {}", what, min, max, value));
  }
}

// The line protocol answers lines: a request that does not end one would
// wait forever for its reply.
void check_request(const RunOptions& options) {
  if (options.request.empty()) throw UsageError("--request must not be empty");
  const bool line_protocol =
      options.expect == ExpectKind::gotit || options.expect == ExpectKind::echo;
  if (line_protocol && options.request.back() != '\n') {
    throw UsageError("--request must end with '\\n' (the server answers whole lines)");
  }
}

}  // namespace

void finish_run_options(const RunOptionText& text, RunOptions& options) {
  options.port = static_cast<std::uint16_t>(parse_count("port", text.port, 1, 65535));  // a server's: never 0
  check_range("--idle", options.idle, 0, 1e6);
  check_range("--conns", options.conns, 1, 1e5);
  check_range("--depth", options.depth, 1, 4096);
  check_range("--duration", options.duration_s, 0.01, 86400);
  check_range("--warmup", options.warmup_s, 0, 86400);
  check_range("--rate", options.rate, 0, 1e9);
  check_range("--timeout", options.timeout_s, 0.01, 3600);
  check_range("--connect-timeout", options.connect_timeout_s, 0.01, 3600);
  if (!text.request.empty() && !text.size.empty()) {
    throw UsageError("give --request or --size, not both");
  }
  if (!text.request.empty()) options.request = unescape(text.request);
  if (!text.size.empty()) {
    const auto size = static_cast<std::size_t>(parse_count("--size", text.size, 1, 1 << 20));
    options.request.assign(size - 1, 'x');
    options.request += '\n';
  }
  if (!text.reply.empty() && !text.reply_delim.empty()) {
    throw UsageError("give --reply or --reply-delim, not both");
  }
  if (!text.expect.empty() && (!text.reply.empty() || !text.reply_delim.empty())) {
    throw UsageError("--expect is for gotit servers, --reply and --reply-delim for others: give one");
  }
  if (!text.reply.empty()) {
    options.expect = ExpectKind::text;
    options.reply = unescape(text.reply);
  } else if (!text.reply_delim.empty()) {
    options.expect = ExpectKind::delimited;
    options.reply_delim = unescape(text.reply_delim);
  } else if (text.expect.empty() || text.expect == "gotit") {
    options.expect = ExpectKind::gotit;
  } else if (text.expect == "echo") {
    options.expect = ExpectKind::echo;
  } else {
    throw UsageError(fmt::format("--expect must be gotit or echo, got '{}'", text.expect));
  }
  check_request(options);
  options.sequence_tags = options.expect == ExpectKind::echo && !text.size.empty() &&
                          options.request.size() >= kSequenceTagBytes + 1;
  if (options.server_pid < 0) throw UsageError("--server-pid must be a process id");
  if (options.server_pid > 0 && ::kill(options.server_pid, 0) != 0 && errno == ESRCH) {
    throw UsageError(fmt::format("--server-pid {}: no such process", options.server_pid));
  }
  if (!text.source_addrs.empty()) options.source_addrs = parse_source_addrs(text.source_addrs);
  finish_run_extras(options);
}

void add_compare_options(CLI::App& app, CompareOptions& options) {
  app.add_option("--servers", options.servers,
                 "Comma-separated: reactor-epoll, reactor-poll, reactor-select, blocking-threads, "
                 "blocking-fork, blocking-iterative, or none (default: all but reactor-select)")->type_name("NAMES")
      ->delimiter(',');
  app.add_option("--peers", options.peers, "Also measure these when installed: memcached, redis")->type_name("NAMES")
      ->delimiter(',');
  app.add_option("--server-dir", options.server_dir,
                 "Where gotit-reactor and gotit-blocking are (default: next to gotit-bench)")->type_name("DIR");
  app.add_option("-o,--out", options.out_dir, "Results folder (default bench-results)")->type_name("DIR");
  app.add_option("--idle", options.idle, "Idle connection counts (default 0,1000,10000)")->type_name("N")->delimiter(',');
  app.add_option("--conns", options.conns, "Active connection counts (default 1,50)")->type_name("N")->delimiter(',');
  app.add_option("--depth", options.depth, "Depths (default 1,16)")->type_name("N")->delimiter(',');
  app.add_option("--duration", options.duration_s, "Seconds measured per scenario (default 0.5)")->type_name("SECONDS");
  app.add_option("--warmup", options.warmup_s, "Seconds of warm-up per scenario (default 0.2)")->type_name("SECONDS");
  app.add_option("--timeout", options.timeout_s, "Seconds before a reply counts as missing (default 1)")->type_name("SECONDS");
  app.add_option("--max-idle-threads", options.max_idle_threads,
                 "Most idle connections given to blocking-threads (a thread each; default 10000)")->type_name("N");
  app.add_option("--max-idle-fork", options.max_idle_fork,
                 "Most idle connections given to blocking-fork (a process each; default 1000)")->type_name("N");
  app.add_option("--max-idle-iterative", options.max_idle_iterative,
                 "Most idle connections given to blocking-iterative (default 1000)")->type_name("N");
  app.add_flag_callback("--no-progress", [&options] { options.progress = false; }, "No progress lines on stderr");
  add_compare_extras(app, options);
}

void finish_compare_options(CompareOptions& options) {
  if (options.servers == std::vector<std::string>{"none"}) {
    options.servers.clear();  // peers only
  } else if (options.servers.empty()) {
    options.servers = {"reactor-epoll", "reactor-poll", "blocking-threads", "blocking-fork",
                       "blocking-iterative"};
  }
  for (const int idle : options.idle) check_range("--idle", idle, 0, 1e6);
  for (const int conns : options.conns) check_range("--conns", conns, 1, 1e5);
  for (const int depth : options.depth) check_range("--depth", depth, 1, 4096);
  check_range("--duration", options.duration_s, 0.01, 86400);
  check_range("--warmup", options.warmup_s, 0, 86400);
  check_range("--timeout", options.timeout_s, 0.01, 3600);
  if (options.idle.empty() || options.conns.empty() || options.depth.empty()) {
    throw UsageError("--idle, --conns and --depth need at least one value each");
  }
  finish_compare_extras(options);
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void write_sequence_tag(std::uint32_t sequence, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < kSequenceTagBytes; ++i) {
    out[kSequenceTagBytes - 1 - i] = kDigits[(sequence >> (4 * i)) & 0xf];
  }
}

std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char next = text[++i];
    if (next == 'r') out += '\r';
    else if (next == 'n') out += '\n';
    else if (next == 't') out += '\t';
    else if (next == '\\') out += '\\';
    else if (next == 'x' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
             hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else if (next == 'x') {
      throw UsageError(fmt::format("'\\x' needs two hex digits (\\x0a) in '{}'", text));
    } else {
      throw UsageError(fmt::format("unknown escape '\\{}' in '{}'", next, text));
    }
  }
  return out;
}

std::string escape(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

SourceAddress parse_one_address(std::string_view text) {
  SourceAddress source;
  const std::string literal(text);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&source.address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&source.address);
  if (inet_pton(AF_INET, literal.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    source.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, literal.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    source.length = sizeof(sockaddr_in6);
  } else {
    throw UsageError(fmt::format("--source-addrs: '{}' is not an IP address", text));
  }
  return source;
}

}  // namespace

std::vector<SourceAddress> parse_source_addrs(std::string_view text) {
  std::vector<SourceAddress> out;
  const std::size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    const SourceAddress first = parse_one_address(text.substr(0, dash));
    const SourceAddress last = parse_one_address(text.substr(dash + 1));
    if (first.address.ss_family != AF_INET || last.address.ss_family != AF_INET) {
      throw UsageError("--source-addrs: a range must be IPv4 (127.0.0.1-127.0.0.8)");
    }
    const auto begin = ntohl(reinterpret_cast<const sockaddr_in*>(&first.address)->sin_addr.s_addr);
    const auto end = ntohl(reinterpret_cast<const sockaddr_in*>(&last.address)->sin_addr.s_addr);
    if (end < begin || end - begin >= 256) {
      throw UsageError(fmt::format("--source-addrs: '{}' must be a range of 1..256 addresses", text));
    }
    for (auto host = begin; host <= end; ++host) {
      SourceAddress source = first;
      reinterpret_cast<sockaddr_in*>(&source.address)->sin_addr.s_addr = htonl(host);
      out.push_back(source);
    }
    return out;
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    out.push_back(parse_one_address(text.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

}  // namespace gotit
