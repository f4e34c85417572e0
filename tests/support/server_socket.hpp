// The server's end of a test client's connection, read from the test side:
// pidfd_getfd(2) copies the server's descriptor into this process (we are
// its parent, so ptrace access is granted), and getsockopt() on the copy
// reads the options the server's socket really has.
#pragma once

#include <sys/types.h>

#include "gotit/common/net.hpp"

namespace gotit::test {

// The server's socket connected to `client_fd`, found among the descriptors
// of `server` and of its children (the fork model serves in a child).
// Throws if none matches.
UniqueFd borrow_server_socket(pid_t server, int client_fd);

}  // namespace gotit::test
