#include "gotit/common/protocol.hpp"

#include <cstring>

namespace gotit {

std::optional<ReplyMode> parse_reply_mode(std::string_view text) {
  if (text == "gotit") return ReplyMode::gotit;
  if (text == "echo") return ReplyMode::echo;
  return std::nullopt;
}

std::string_view to_string(ReplyMode mode) {
  return mode == ReplyMode::echo ? "echo" : "gotit";
}

void append_reply(ReplyMode mode, std::string_view message, std::string& out) {
  if (mode == ReplyMode::gotit) {
    out.append(kGotItReply);
    return;
  }
  out.append(message);
  out.push_back('\n');
}

std::string_view LineFramer::strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool LineFramer::append_pending(std::string_view part) {
  if (pending_size_ + part.size() > kMaxPendingBytes) {
    // Decide now rather than buffer a line that can never be valid: a peer
    // that streams bytes without a newline costs at most 256 bytes here.
    spend();
    return false;
  }
  if (!pending_) pending_ = std::make_unique_for_overwrite<char[]>(kMaxPendingBytes);
  if (!part.empty()) std::memcpy(pending_.get() + pending_size_, part.data(), part.size());
  pending_size_ = static_cast<std::uint16_t>(pending_size_ + part.size());
  return true;
}

}  // namespace gotit
