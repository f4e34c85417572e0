#include "gotit/common/log.hpp"

#include <cstdio>
#include <string>

namespace gotit::log {
namespace {
Level current = Level::info;
std::string line_prefix;
}  // namespace

void set_prefix(std::string_view prefix) { line_prefix = prefix; }

void set_verbosity(int verbose_flags) {
  const int level = static_cast<int>(Level::info) + verbose_flags;
  current = static_cast<Level>(level > 3 ? 3 : level);
}

bool enabled(Level level) { return level <= current; }

void write_line(std::string_view line) {
  // One fwrite per line keeps lines from threads or forked children whole.
  std::string buffer = line_prefix;
  buffer += line;
  buffer.push_back('\n');
  std::fwrite(buffer.data(), 1, buffer.size(), stderr);
}

}  // namespace gotit::log
