#include "support/stream_generator.hpp"

#include <algorithm>
#include <cstdio>

namespace gotit::test {
namespace {

// splitmix64: tiny, fast, and the same numbers everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }

 private:
  std::uint64_t state_;
};

std::size_t line_length(Random& random) {
  switch (random.below(5)) {
    case 0: return random.below(4);                // empty and tiny
    case 1: return random.below(40);               // ordinary
    case 2: return 250 + random.below(12);         // around the limit: 250..261
    case 3: return random.below(601);              // anything up to 600
    default: return 253 + random.below(5);         // 253..257, the edge itself
  }
}

char content_byte(Random& random) {
  switch (random.below(20)) {
    case 0: return '\r';
    case 1: return '\0';
    case 2: return static_cast<char>(0x80 + random.below(128));  // high bytes
    default: return static_cast<char>('a' + random.below(26));
  }
}

std::string line_body(Random& random, std::size_t length) {
  std::string body;
  for (std::size_t i = 0; i < length; ++i) body += content_byte(random);
  return body;
}

}  // namespace

std::string StreamCase::joined() const {
  std::string all;
  for (const std::string& part : writes) all += part;
  return all;
}

StreamCase generate_stream(std::uint64_t seed) {
  Random random(seed);
  std::string stream;
  const std::size_t lines = random.below(9);
  for (std::size_t i = 0; i < lines; ++i) {
    stream += line_body(random, line_length(random));
    stream += random.chance(30) ? "\r\n" : "\n";
  }
  if (random.chance(40)) stream += line_body(random, line_length(random));  // unfinished
  StreamCase out;
  out.half_close = random.chance(60);
  std::vector<std::size_t> cuts;
  const std::size_t pieces = 1 + random.below(8);
  for (std::size_t i = 1; i < pieces && !stream.empty(); ++i) cuts.push_back(random.below(stream.size()));
  std::sort(cuts.begin(), cuts.end());
  std::size_t from = 0;
  for (const std::size_t cut : cuts) {
    if (cut > from) out.writes.push_back(stream.substr(from, cut - from));
    from = std::max(from, cut);
  }
  if (from < stream.size()) out.writes.push_back(stream.substr(from));
  return out;
}

std::string escape(std::string_view bytes) {
  std::string text = "\"";
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      text += "\\n";
    } else if (c == '\r') {
      text += "\\r";
    } else if (c == '"' || c == '\\') {
      text += '\\';
      text += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\%03o", byte);  // octal: never eats the next byte
      text += escaped;
    } else {
      text += c;
    }
  }
  return text + "\" (" + std::to_string(bytes.size()) + " bytes)";
}

std::string describe(const StreamCase& stream) {
  std::string text;
  for (const std::string& part : stream.writes) text += "  write " + escape(part) + "\n";
  text += stream.half_close ? "  then half-close\n" : "  then wait (no half-close)\n";
  return text;
}

}  // namespace gotit::test
