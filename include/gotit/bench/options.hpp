// What gotit-bench is asked to do: the options of `run` and `compare`, as
// plain data, and the CLI11 wiring that fills them. Parsing is strict and
// every bad value gets a UsageError naming the option.
#pragma once

#include <sys/socket.h>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace gotit {

// Bytes of the sequence number at the start of a tagged echo request.
inline constexpr std::size_t kSequenceTagBytes = 8;

// Writes `sequence` as kSequenceTagBytes lowercase hex digits at `out`.
void write_sequence_tag(std::uint32_t sequence, char* out);

// What a correct reply looks like.
enum class ExpectKind {
  gotit,      // a gotit server in gotit mode: "Got it!\n" per line sent
  echo,       // a gotit server in echo mode: every line back
  text,       // --reply TEXT: exactly TEXT per request (redis: "+PONG\r\n")
  delimited,  // --reply-delim D: anything ending in D (memcached: "\r\n")
};

// A local address to bind before connect (--source-addrs), port 0.
struct SourceAddress {
  sockaddr_storage address{};
  socklen_t length = 0;
};

struct RunOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 3000;
  int idle = 0;            // connections opened and held, never used
  int conns = 1;           // active connections
  int depth = 1;           // requests in flight per active connection
  double duration_s = 5.0;
  double warmup_s = 1.0;
  double rate = 0.0;       // requests/s over all connections; 0: closed loop
  double timeout_s = 5.0;  // reply timeout: a request unanswered this long is missing
  double connect_timeout_s = 5.0;  // longer than the kernel's 1 s SYN retry
  std::string request = "hello\n";
  ExpectKind expect = ExpectKind::gotit;
  std::string reply;       // ExpectKind::text: the exact reply
  std::string reply_delim; // ExpectKind::delimited: the delimiter
  // Echo with --size >= 9: each request starts with its sequence number on
  // the connection (8 hex digits), so the order of replies is checked too.
  bool sequence_tags = false;
  std::vector<SourceAddress> source_addrs;
  int server_pid = 0;      // 0: no server statistics
  std::string json_path;
  std::string csv_path;
  bool progress = true;    // progress lines on stderr
  // Connection rate: every request on a connection of its own (connect,
  // send, read the reply, close), see BenchConnection.
  bool new_connection_per_request = false;
  bool close_rst = false;  // close with RST (SO_LINGER 0) instead of FIN
  double interval_s = 0.0; // > 0: a line per interval during the load
  std::string hdr_path;    // the latency spectrum as HdrHistogram text (.hgrm)
};

// The servers compare knows how to start (see bench_compare.hpp).
struct CompareOptions {
  std::vector<std::string> servers;  // e.g. reactor-epoll, blocking-threads
  std::vector<std::string> peers;    // memcached, redis (when installed)
  std::string server_dir;            // empty: next to gotit-bench
  std::string out_dir = "bench-results";
  std::vector<int> idle{0, 1000, 10000};
  std::vector<int> conns{1, 50};
  std::vector<int> depth{1, 16};
  double duration_s = 0.5;
  double warmup_s = 0.2;
  double timeout_s = 1.0;
  int max_idle_threads = 10000;  // caps, explained in the output
  int max_idle_fork = 1000;
  int max_idle_iterative = 1000;
  bool progress = true;
  // The connection-rate scenario and the sweep (compare_extras.cpp).
  int churn_clients = 8;
  double sweep_from = 5000;
  double sweep_to = 320000;
  int sweep_steps = 4;
  bool full = false;
};

// Raw text of the run options, converted by finish_run_options.
struct RunOptionText {
  std::string port = "3000";
  std::string request;
  std::string size;
  std::string expect;  // empty: not given (gotit)
  std::string reply;
  std::string reply_delim;
  std::string source_addrs;
};

void add_run_options(CLI::App& app, RunOptions& options, RunOptionText& text);
// Checks and converts; throws UsageError.
void finish_run_options(const RunOptionText& text, RunOptions& options);

// The connection-rate, time-series and spectrum options of `run`
// (run_extras.cpp), called by the two above.
void add_run_extras(CLI::App& app, RunOptions& options);
void finish_run_extras(RunOptions& options);

void add_compare_options(CLI::App& app, CompareOptions& options);
void finish_compare_options(CompareOptions& options);
void add_compare_extras(CLI::App& app, CompareOptions& options);
void finish_compare_extras(CompareOptions& options);

// "PING\\r\\n" -> "PING\r\n". Understands \r \n \t \\ and \xHH.
std::string unescape(std::string_view text);
// The reverse, for reports: control bytes become escapes.
std::string escape(std::string_view bytes);

// "127.0.0.1-127.0.0.8" (an IPv4 range, at most 256) or "a,b,c" (IPv4 or
// IPv6 literals).
std::vector<SourceAddress> parse_source_addrs(std::string_view text);

}  // namespace gotit
