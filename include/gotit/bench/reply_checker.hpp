// Checks the byte stream a server sends back, reply by reply: counts whole
// replies and stops at the first byte that is wrong. "Nothing lost" is
// measured here, not assumed.
//
// A ReplySpec (shared, built once) says what a reply is: either exact bytes
// (gotit: "Got it!\n" per line; echo: the line itself; --reply TEXT) or
// anything up to a delimiter (--reply-delim). A ReplyChecker (one per
// connection, a few words of state) walks the stream against it without
// copying or allocating, so it can run on every read at full speed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gotit/bench/options.hpp"

namespace gotit {

struct ReplySpec {
  bool exact = true;
  std::string bytes;  // exact: one whole reply; delimited: the delimiter
  // Delimited replies longer than this are an error (a runaway stream).
  std::size_t max_reply_bytes = 1 << 20;
  // Exact replies only: the first tag_bytes of reply n are n's sequence tag
  // (see write_sequence_tag), so a reply out of order is a wrong reply.
  std::size_t tag_bytes = 0;
};

// The reply a correct server sends to one `request` under `options`: for
// gotit/echo the protocol's own framer and append_reply decide, so the bench
// checks servers against the same code they run.
ReplySpec make_reply_spec(const RunOptions& options);

class ReplyChecker {
 public:
  explicit ReplyChecker(const ReplySpec& spec) : spec_(&spec) {}

  struct Result {
    std::size_t replies = 0;  // whole replies completed by these bytes
    bool ok = true;           // false: a wrong byte; the stream is unusable
  };
  // Feeds bytes as they arrive; a reply may span any number of calls.
  Result feed(std::string_view bytes);
  // After !ok: what was expected against what came ("expected ... got ...").
  const std::string& failure() const { return failure_; }
  // True while part of a reply has arrived but not its end.
  bool mid_reply() const { return position_ != 0; }

 private:
  Result feed_exact(std::string_view bytes);
  Result feed_delimited(std::string_view bytes);

  const ReplySpec* spec_;
  std::size_t position_ = 0;   // exact: bytes of the current reply matched;
                               // delimited: bytes of the current reply seen
  std::size_t delim_seen_ = 0; // delimited: delimiter bytes matched so far
  std::uint32_t sequence_ = 0; // tagged: the number the current reply must carry
  char tag_[kSequenceTagBytes] = {};  // tagged: that number, written out
  std::string failure_;
};

}  // namespace gotit
