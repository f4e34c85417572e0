#include "support/protocol_model.hpp"

namespace gotit::test {
namespace {

constexpr std::size_t kLimit = 255;
constexpr std::string_view kTooLong = "Error: message longer than 255 bytes\n";

void reply_to(std::string_view message, ReplyMode mode, std::string& out) {
  if (mode == ReplyMode::gotit) {
    out += "Got it!\n";
  } else {
    out.append(message);
    out += '\n';
  }
}

}  // namespace

std::string_view to_string(StreamEnd end) {
  switch (end) {
    case StreamEnd::open: return "open";
    case StreamEnd::eof: return "EOF";
    case StreamEnd::reset: return "reset";
  }
  return "?";
}

ModelReply model_reply(std::string_view sent, bool half_closed, ReplyMode mode) {
  ModelReply out;
  std::string_view rest = sent;
  for (;;) {
    const std::size_t newline = rest.find('\n');
    if (newline == std::string_view::npos) break;
    std::string_view line = rest.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kLimit) {
      out.bytes += kTooLong;
      out.end = StreamEnd::eof;
      return out;
    }
    reply_to(line, mode, out.bytes);
    rest.remove_prefix(newline + 1);
  }
  // An unfinished line: too long already, or one last message at the half-close.
  if (rest.size() > kLimit + 1 || (half_closed && rest.size() > kLimit)) {
    out.bytes += kTooLong;
    out.end = StreamEnd::eof;
    return out;
  }
  if (half_closed) {
    if (!rest.empty()) reply_to(rest, mode, out.bytes);
    out.end = StreamEnd::eof;
  }
  return out;
}

}  // namespace gotit::test
