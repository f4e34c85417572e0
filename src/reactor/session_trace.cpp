// --trace for the reactor's sessions: the lines of common/trace.hpp from
// the places only the reactor has -- libevent's callbacks and its writer.
// Nothing here runs with --trace off (every caller checks
// ServingContext::trace first, and the evbuffer callback is installed only
// with it on).
#include <event2/event.h>
#include <fmt/format.h>

#include "gotit/common/net.hpp"
#include "gotit/reactor/session.hpp"

namespace gotit {
namespace {

std::string_view name(SessionState state) {
  switch (state) {
    case SessionState::reading: return "reading";
    case SessionState::throttled: return "throttled";
    case SessionState::flushing_to_close: return "flushing_to_close";
    case SessionState::flushing_to_discard: return "flushing_to_discard";
    case SessionState::discarding: return "discarding";
  }
  return "?";
}

}  // namespace

void ServingContext::trace_accept(int fd, const sockaddr* address, int length) {
  const auto slot = static_cast<std::size_t>(fd);
  if (slot >= trace_ids.size()) trace_ids.resize(slot + 1);
  trace_ids[slot] = stats.accepted.get() + 1;  // adopt() counts it next
  trace::accepted({trace_ids[slot], fd}, format_address(address, static_cast<socklen_t>(length)));
}

// With --reader bufferevent libevent's own recv is not ours to see: we see
// what it left in the input evbuffer.
void Session::trace_wake(Woken source, short flags) {
  if (source == Woken::input) {
    const std::size_t held = evbuffer_get_length(bufferevent_get_input(bev_.get()));
    return trace::woke(traced(), fmt::format("input (libevent read {} bytes)", held));
  }
  if (source == Woken::read_event) {
    return trace::woke(traced(), (flags & EV_TIMEOUT) ? "read timeout" : "readable");
  }
  const std::string_view side = (flags & BEV_EVENT_READING) ? "read" : "write";
  if (flags & BEV_EVENT_TIMEOUT) return trace::woke(traced(), fmt::format("{} timeout", side));
  if (flags & BEV_EVENT_EOF) return trace::woke(traced(), "EOF (libevent's recv returned 0)");
  trace::woke(traced(), fmt::format("{} error", side));
}

void Session::trace_state(SessionState next) {
  if (next != state_) trace::state(traced(), name(state_), name(next));
}

void Session::trace_queued(std::size_t bytes) {
  trace::event(traced(), fmt::format("queue {} bytes for libevent's writer (EV_WRITE)", bytes));
}

void Session::trace_discard(std::size_t bytes) {
  trace::event(traced(), fmt::format("discard {} bytes (libevent read them)", bytes));
}

// Called for every change of the output evbuffer: our bufferevent_write
// adds (traced where it happens), libevent's writer drains what the kernel
// took. Installed only with --trace.
void Session::on_output_traced(evbuffer*, const evbuffer_cb_info* info, void* self) noexcept {
  if (info->n_deleted == 0) return;
  const auto* session = static_cast<Session*>(self);
  trace::event(session->traced(),
               fmt::format("libevent sent {} bytes, {} still queued", info->n_deleted,
                           info->orig_size + info->n_added - info->n_deleted));
}

}  // namespace gotit
