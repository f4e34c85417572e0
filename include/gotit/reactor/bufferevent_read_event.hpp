// Reading a bufferevent's socket ourselves, with the event it already has.
//
// A socket bufferevent reads with evbuffer_read, and libevent 2.1's
// evbuffer_read first asks the kernel how many bytes are waiting
// (ioctl FIONREAD) so it can size the chain it reads into, then readv()s
// into the input evbuffer, from where we copy them out again. For a
// 6-byte ping-pong request that is two system calls where one recv() into
// our own buffer would do. Nothing in the public API skips the ioctl:
// bufferevent_set_max_single_read and the read watermarks only cap the size
// after it has been asked.
//
// So we point the bufferevent's own read event at our callback and leave
// everything else to the public API: bufferevent_enable/disable(EV_READ)
// still add and delete that same event, bufferevent_set_timeouts still gives
// it the read (idle) timeout -- our callback then sees EV_TIMEOUT --,
// bufferevent_free still finalizes it, and the write side (output evbuffer,
// EV_WRITE, write timeout, write callback) is untouched.
//
// Why not a second struct event of our own? It would cost 128 bytes per
// connection, more than a tenth of what an idle peer may cost (about
// 1.1 KiB). The price of reusing the bufferevent's is the header
// event2/bufferevent_struct.h, which libevent warns "may hurt forward
// compatibility"; the fields it relies on (ev_base, ev_read) have not
// changed since libevent 2.0.
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <string>

namespace gotit {

// True if this binary was built against, and runs on, a libevent the direct
// reader was tested with: the 2.1.x series (Debian 12 ships 2.1.12). The
// layout of struct bufferevent is not part of libevent's ABI promise, so on
// any other version the server uses the bufferevent reader instead. Sets
// `why` to a sentence for the start-up line when it returns false.
bool direct_reader_tested(std::string& why);

// Makes readiness of `bev`'s socket call `on_read(fd, what, bev)` instead of
// libevent's reader. The argument must stay the bufferevent: when
// bufferevent_free finalizes this event, libevent hands the event's argument
// to its finalizer as the bufferevent to destroy. Find your own state
// through the callback argument of bufferevent_setcb (reading_callback_arg).
// Call once, before reading is enabled (bufferevent_enable adds the event;
// re-assigning an added one would lose it and its timeout). Never call
// bufferevent_setfd or bufferevent_socket_connect on such a bufferevent
// afterwards: they re-assign the event to libevent's own reader, and with
// no read callback the bytes would pile up unanswered. False if libevent
// refuses.
bool take_over_read_event(bufferevent* bev, event_callback_fn on_read);

// The `cbarg` given to bufferevent_setcb, for an on_read callback.
void* reading_callback_arg(void* bev);

}  // namespace gotit
