// Logging to stderr with levels. Quiet by default so a benchmark measures
// the server, not its terminal: -v shows connection events, -vv every message.
// Not thread-safe in its setting: set the level once, before serving.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace gotit::log {

enum class Level { error = 0, info = 1, connection = 2, message = 3 };

// Level::info plus the number of -v flags.
void set_verbosity(int verbose_flags);
bool enabled(Level level);
// Text put before every line from now on ("worker 3: "); empty by default.
void set_prefix(std::string_view prefix);
void write_line(std::string_view line);

// "1 connection", "2 connections": a count and its noun, for log lines.
inline std::string count(unsigned long long n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

template <typename... Args>
void at(Level level, fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(level)) write_line(fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
  at(Level::error, format, std::forward<Args>(args)...);
}

template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  at(Level::info, format, std::forward<Args>(args)...);
}

}  // namespace gotit::log
