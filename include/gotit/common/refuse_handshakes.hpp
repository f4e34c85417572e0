// How a stopping server closes its listening socket without resetting
// anyone. (A full worker of gotit-reactor --workers closes its socket the
// same way, for a reason of its own: full_listener.cpp.)
//
// close() on a listener resets every connection still in its accept queue,
// and those clients are connected as far as they know: their requests may
// be sent. So a stopping server first accepts what is queued
// (kMaxQueuedAtStop). But while it does, new handshakes keep completing and
// joining the queue -- a storm of connects can outrun the drain, and one
// completing between the last accept and the close is reset.
//
// Dropping every new SYN first closes that door: a socket filter on the
// listener discards a segment with SYN set and ACK clear, so no new
// handshake begins, while the handshakes already under way (their last ACK)
// and every accepted connection (a clone of the listener, filter and all)
// pass untouched. The accept queue can then only shrink, and the drain ends
// with it empty. A client whose SYN was dropped sends it again about a
// second later (TCP's retransmission) and then finds the port closed,
// "connection refused", before it could send anything -- or finds whoever
// listens on the port by then. What is still not covered: a handshake whose
// last ACK is on the wire when the drain finds the queue empty (microseconds
// on loopback, up to a round trip across a network). The reactor narrows it:
// when its stop waits for first requests (kFirstRequestGrace) it keeps
// accepting meanwhile, so handshakes under way at the signal are served.
#pragma once

namespace gotit {

// Attaches the SYN-dropping filter to `listening_fd`. Where the system
// cannot, says so in the log, and the stop goes on without it.
void refuse_new_handshakes(int listening_fd);

}  // namespace gotit
