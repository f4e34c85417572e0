#include "gotit/reply_checker.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "gotit/protocol.hpp"

namespace gotit {

ReplySpec make_reply_spec(const RunOptions& options) {
  ReplySpec spec;
  switch (options.expect) {
    case ExpectKind::gotit:
    case ExpectKind::echo: {
      const ReplyMode mode = options.expect == ExpectKind::gotit ? ReplyMode::gotit : ReplyMode::echo;
      LineFramer framer;
      const auto on_message = [&](std::string_view message) {
        append_reply(mode, message, spec.bytes);
      };
      if (framer.feed(options.request, on_message) == FeedResult::oversized) {
        spec.bytes = std::string(kOversizedReply);  // the server's answer to it
      }
      break;
    }
    case ExpectKind::text:
      spec.bytes = options.reply;
      break;
    case ExpectKind::delimited:
      spec.exact = false;
      spec.bytes = options.reply_delim;
      break;
  }
  return spec;
}

ReplyChecker::Result ReplyChecker::feed(std::string_view bytes) {
  return spec_->exact ? feed_exact(bytes) : feed_delimited(bytes);
}

ReplyChecker::Result ReplyChecker::feed_exact(std::string_view bytes) {
  Result result;
  const std::string_view expected = spec_->bytes;
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), expected.size() - position_);
    if (std::memcmp(bytes.data(), expected.data() + position_, n) != 0) {
      // Show the whole reply that went wrong, as far as we have it.
      const std::size_t shown = std::min<std::size_t>(bytes.size(), expected.size());
      failure_ = fmt::format("expected \"{}\" at byte {} of a reply, got \"{}{}\"",
                             escape(expected), position_, escape(expected.substr(0, position_)),
                             escape(bytes.substr(0, shown)));
      result.ok = false;
      return result;
    }
    bytes.remove_prefix(n);
    position_ += n;
    if (position_ == expected.size()) {
      position_ = 0;
      ++result.replies;
    }
  }
  return result;
}

// The delimiter is matched byte by byte with a restart on mismatch, which
// is exact for delimiters that do not overlap themselves ("\r\n", "\n").
ReplyChecker::Result ReplyChecker::feed_delimited(std::string_view bytes) {
  Result result;
  const std::string_view delim = spec_->bytes;
  for (const char c : bytes) {
    ++position_;
    if (c == delim[delim_seen_]) {
      ++delim_seen_;
    } else {
      delim_seen_ = c == delim[0] ? 1 : 0;
    }
    if (delim_seen_ == delim.size()) {
      ++result.replies;
      position_ = 0;
      delim_seen_ = 0;
    } else if (position_ > spec_->max_reply_bytes) {
      failure_ = fmt::format("a reply passed {} bytes without \"{}\"", spec_->max_reply_bytes,
                             escape(delim));
      result.ok = false;
      return result;
    }
  }
  return result;
}

}  // namespace gotit
