#include "gotit/reactor/bufferevent_read_event.hpp"

#include <event2/bufferevent_struct.h>
#include <event2/event_struct.h>
#include <fmt/format.h>

namespace gotit {
namespace {

// The versions the direct reader was tested with: 2.1.0 up to, not
// including, 2.2.0 (LIBEVENT_VERSION_NUMBER is 0xMMmmpp00).
constexpr ev_uint32_t kTestedFrom = 0x02010000;
constexpr ev_uint32_t kTestedBelow = 0x02020000;

constexpr bool tested(ev_uint32_t version) {
  return version >= kTestedFrom && version < kTestedBelow;
}

}  // namespace

bool direct_reader_tested(std::string& why) {
  if (!tested(LIBEVENT_VERSION_NUMBER)) {
    why = fmt::format("built against libevent {}, not the 2.1.x the direct reader was tested "
                      "with", LIBEVENT_VERSION);
    return false;
  }
  if (!tested(event_get_version_number())) {
    why = fmt::format("running on libevent {}, not the 2.1.x the direct reader was tested with",
                      event_get_version());
    return false;
  }
  return true;
}

// The flags are those bufferevent_socket_new gives the event: persistent,
// so it stays armed between callbacks (the socket is level-triggered: bytes
// we leave unread are reported again on the next turn of the loop), and
// EV_FINALIZE, because bufferevent_free finalizes its events rather than
// deleting them.
bool take_over_read_event(bufferevent* bev, event_callback_fn on_read) {
  event* read_event = &bev->ev_read;
  // Not added yet (reading is off), so this is a no-op unless misused.
  if (event_del(read_event) != 0) return false;
  return event_assign(read_event, bufferevent_get_base(bev), bufferevent_getfd(bev),
                      EV_READ | EV_PERSIST | EV_FINALIZE, on_read, bev) == 0;
}

void* reading_callback_arg(void* bev) {
  void* cbarg = nullptr;
  bufferevent_getcb(static_cast<bufferevent*>(bev), nullptr, nullptr, nullptr, &cbarg);
  return cbarg;
}

}  // namespace gotit
