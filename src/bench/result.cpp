#include "gotit/bench/result.hpp"

#include <numeric>

namespace gotit {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::connect_refused: return "connect_refused";
    case ErrorKind::connect_timeout: return "connect_timeout";
    case ErrorKind::connect_failed: return "connect_failed";
    case ErrorKind::wrong_reply: return "wrong_reply";
    case ErrorKind::reply_timeout: return "reply_timeout";
    case ErrorKind::closed_by_server: return "closed_by_server";
    case ErrorKind::reset_by_server: return "reset_by_server";
    case ErrorKind::idle_closed: return "idle_closed";
    case ErrorKind::io_error: return "io_error";
    case ErrorKind::count_: break;
  }
  return "?";
}

std::uint64_t RunResult::total_errors() const {
  return std::accumulate(errors.begin(), errors.end(), std::uint64_t{0});
}

void RunResult::add_error(ErrorKind kind, std::string_view example) {
  const auto index = static_cast<std::size_t>(kind);
  if (errors[index]++ == 0) first_error[index] = example;
}

}  // namespace gotit
