// Turns a RunResult into what people and programs read: a human table,
// JSON, and CSV rows (compare writes many rows with the same columns).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gotit/bench/result.hpp"

namespace gotit {

// The table gotit-bench run prints, ending with a warning when the bench
// itself used most of a core (then it, not the server, may be the limit).
std::string format_table(const RunResult& result);

// One JSON object (no trailing newline).
std::string format_json(const RunResult& result);

// CSV: the header and one row; `extra` columns (name, value) come first.
using Columns = std::vector<std::pair<std::string, std::string>>;
std::string csv_header(const Columns& extra);
std::string csv_row(const Columns& extra, const RunResult& result);

// Units the reports print in: microseconds and MiB.
inline double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }
inline double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// CPU microseconds per reply received in the window; 0 without replies.
inline double per_request_us(double cpu_seconds, const RunResult& result) {
  return result.replies_in_window ? cpu_seconds * 1e6 / static_cast<double>(result.replies_in_window) : 0.0;
}

// The bench's CPU share of one core during the window (1.0 = a full core).
double bench_cpu_share(const RunResult& result);
// The bench's one thread was busy most of the window: the figures measure
// it, not the server.
bool bench_limited(const RunResult& result);

// Writes `text` to `path`; throws SystemError naming the file.
void write_file(const std::string& path, const std::string& text);

// "a \"quoted\" value" for JSON.
std::string json_string(std::string_view text);

}  // namespace gotit
