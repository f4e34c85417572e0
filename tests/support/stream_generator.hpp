// Random client byte streams for the differential test, from a seed: what
// one client sends on one connection, cut into the writes it makes.
// Deterministic for a seed on every platform (splitmix64, no std::
// distributions, whose results vary between standard libraries).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gotit::test {

struct StreamCase {
  std::vector<std::string> writes;  // sent one send() each, in order
  bool half_close = false;          // shutdown(SHUT_WR) after the last write
  std::string joined() const;
};

// Lines of 0..600 bytes, weighted around the 255-byte limit; '\r' anywhere
// (and often as "\r\n"), NUL and high bytes; several lines per case
// (pipelined); sometimes a trailing unfinished line; half-close or not; the
// stream cut at random points into 1..8 writes.
StreamCase generate_stream(std::uint64_t seed);

// The bytes C-escaped ("\\n", "\\r", "\\000"), quoted, with their count.
std::string escape(std::string_view bytes);

// One escaped write per line, then whether it half-closes: for failure messages.
std::string describe(const StreamCase& stream);

}  // namespace gotit::test
