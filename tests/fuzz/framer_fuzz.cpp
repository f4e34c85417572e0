// libFuzzer harness: LineFramer against a naive splitter.
//
// Input layout: the first byte chooses how many split points follow (0..7),
// each one byte (a position in the stream, scaled); the rest is the byte
// stream. The stream is fed to LineFramer in the pieces those points make,
// then finish() as at a half-close. The naive splitter works on the whole
// stream at once, the way DESIGN.md words the protocol. Both must deliver the
// same messages in the same order and the same oversized verdict, and no
// message may pass 255 bytes. Any difference aborts (a crash for libFuzzer).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "gotit/common/protocol.hpp"

namespace {

struct Outcome {
  std::vector<std::string> messages;
  bool oversized = false;
};

// The protocol as DESIGN.md states it: split at '\n', drop one '\r' before
// it, a line over 255 content bytes ends everything; at the end, leftover
// bytes are one last message (checked for length the same way).
Outcome naive(std::string_view stream) {
  Outcome out;
  while (!stream.empty()) {
    const std::size_t newline = stream.find('\n');
    std::string_view line = stream.substr(0, newline);
    const bool complete = newline != std::string_view::npos;
    if (complete && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > gotit::kMaxMessageBytes) {
      out.oversized = true;
      return out;
    }
    out.messages.emplace_back(line);
    if (!complete) break;
    stream.remove_prefix(newline + 1);
  }
  return out;
}

Outcome framed(std::string_view stream, const std::vector<std::size_t>& cuts) {
  Outcome out;
  gotit::LineFramer framer;
  auto collect = [&](std::string_view message) {
    if (message.size() > gotit::kMaxMessageBytes) std::abort();
    out.messages.emplace_back(message);
  };
  std::size_t from = 0;
  for (const std::size_t cut : cuts) {
    if (framer.feed(stream.substr(from, cut - from), collect) == gotit::FeedResult::oversized) {
      out.oversized = true;
      return out;
    }
    from = cut;
  }
  if (framer.feed(stream.substr(from), collect) == gotit::FeedResult::oversized ||
      framer.finish(collect) == gotit::FeedResult::oversized) {
    out.oversized = true;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t count = std::min<std::size_t>(data[0] % 8, size - 1);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1 + count, size - 1 - count);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < count; ++i) {
    cuts.push_back(stream.size() * data[1 + i] / 255);  // 0..size, as fractions of the stream
  }
  std::sort(cuts.begin(), cuts.end());
  const Outcome want = naive(stream);
  const Outcome got = framed(stream, cuts);
  if (got.oversized != want.oversized || got.messages != want.messages) {
    std::fprintf(stderr, "framer: %zu messages%s, naive splitter: %zu messages%s\n",
                 got.messages.size(), got.oversized ? " then oversized" : "",
                 want.messages.size(), want.oversized ? " then oversized" : "");
    std::abort();
  }
  return 0;
}
