#include "gotit/bench/reply_checker.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "gotit/common/protocol.hpp"

namespace gotit {

namespace {
constexpr std::size_t kShownAtMost = 80;  // bytes of a wrong reply quoted in the error
}  // namespace

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
      } else if (options.sequence_tags) {
        spec.tag_bytes = kSequenceTagBytes;  // echoed first, before the filler
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
  const std::string_view fixed = spec_->bytes;
  const std::size_t tag = spec_->tag_bytes;
  while (!bytes.empty()) {
    // The tag (if any) and the rest of the reply are compared separately:
    // the tag against this reply's sequence number, the rest against the spec.
    if (position_ == 0 && tag > 0) write_sequence_tag(sequence_, tag_);
    const bool in_tag = position_ < tag;
    const std::string_view expected = in_tag ? std::string_view(tag_, tag) : fixed;
    const std::size_t end = in_tag ? tag : fixed.size();
    const std::size_t n = std::min(bytes.size(), end - position_);
    if (std::memcmp(bytes.data(), expected.data() + position_, n) != 0) {
      // Show the whole line that went wrong, as far as we have it: a server's
      // own error ("Error: server full") is often longer than the reply due.
      const std::size_t line_end = bytes.substr(0, kShownAtMost).find('\n');
      const std::size_t shown = line_end != std::string_view::npos
                                    ? line_end + 1
                                    : std::min(bytes.size(), std::max(expected.size(), kShownAtMost));
      failure_ = fmt::format("expected \"{}{}\" at byte {} of reply {}, got \"{}{}\"",
                             in_tag ? std::string_view(tag_, tag) : std::string_view(),
                             escape(fixed.substr(in_tag ? tag : 0)), position_, sequence_,
                             escape(expected.substr(0, position_)), escape(bytes.substr(0, shown)));
      result.ok = false;
      return result;
    }
    bytes.remove_prefix(n);
    position_ += n;
    if (position_ == fixed.size()) {
      position_ = 0;
      ++sequence_;
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
