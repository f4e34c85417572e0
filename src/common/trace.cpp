#include "gotit/common/trace.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "gotit/common/log.hpp"

namespace gotit::trace {
namespace {

// Writes "trace #ID fd FD WHAT" and leaves errno alone.
template <typename... Args>
void line(Peer peer, fmt::format_string<Args...> format, Args&&... args) {
  const int saved = errno;
  std::string text = fmt::format("trace #{} fd {} ", peer.id, peer.fd);
  fmt::format_to(std::back_inserter(text), format, std::forward<Args>(args)...);
  log::write_line(text);
  errno = saved;
}

std::string quoted(std::string_view bytes) {
  std::string out = "\"";
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", byte);
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string_view errno_name(int error) {
  switch (error) {
    case EAGAIN: return "EAGAIN";  // == EWOULDBLOCK on Linux
    case EINTR: return "EINTR";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENOTCONN: return "ENOTCONN";
    case EBADF: return "EBADF";
    default: return "error";
  }
}

void accepted(Peer peer, std::string_view from) { line(peer, "accept from {}", from); }

void woke(Peer peer, std::string_view why) { line(peer, "wake {}", why); }

void received(Peer peer, std::string_view call, ssize_t result, int error) {
  if (result > 0) return line(peer, "{} {} bytes", call, result);
  if (result == 0) return line(peer, "{} 0 (peer half-closed)", call);
  const std::string_view name = errno_name(error);
  if (name != "error") return line(peer, "{} -1 {}", call, name);
  line(peer, "{} -1 {}", call, std::strerror(error));
}

void sent(Peer peer, ssize_t result, std::size_t asked, int error) {
  if (result >= 0) return line(peer, "send {} of {} bytes", result, asked);
  const std::string_view name = errno_name(error);
  if (name != "error") return line(peer, "send -1 {} (0 of {} bytes)", name, asked);
  line(peer, "send -1 {} (0 of {} bytes)", std::strerror(error), asked);
}

void framed(Peer peer, std::string_view message) {
  line(peer, "framed {} ({} bytes)", quoted(message), message.size());
}

void state(Peer peer, std::string_view from, std::string_view to) {
  line(peer, "state {} -> {}", from, to);
}

void event(Peer peer, std::string_view what) { line(peer, "{}", what); }

}  // namespace gotit::trace
