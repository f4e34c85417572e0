// RAII for libevent handles: std::unique_ptr with libevent's own free
// function as the deleter, so every handle is freed exactly once and in the
// order its owner's members say.
//
// Freeing is not flushing: bufferevent_free closes the socket (with
// BEV_OPT_CLOSE_ON_FREE) and drops whatever output is still queued. Code that
// must deliver a reply waits for the output to drain first (see
// reactor/session.hpp).
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <memory>

namespace gotit {

// Calls the libevent function `Free` on a non-null handle.
template <auto Free>
struct LibeventDeleter {
  template <typename Handle>
  void operator()(Handle* handle) const {
    Free(handle);
  }
};

using EventConfigPtr = std::unique_ptr<event_config, LibeventDeleter<event_config_free>>;
using EventBasePtr = std::unique_ptr<event_base, LibeventDeleter<event_base_free>>;
using EventPtr = std::unique_ptr<event, LibeventDeleter<event_free>>;
using ListenerPtr = std::unique_ptr<evconnlistener, LibeventDeleter<evconnlistener_free>>;
using BufferEventPtr = std::unique_ptr<bufferevent, LibeventDeleter<bufferevent_free>>;

}  // namespace gotit
