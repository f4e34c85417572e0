#include "gotit/common/refuse_handshakes.hpp"

#include <cerrno>
#include <cstring>

#ifdef __linux__
#include <linux/filter.h>
#include <sys/socket.h>
#endif

#include "gotit/common/log.hpp"

namespace gotit {
namespace {

#ifdef __linux__
bool attach_syn_filter(int listening_fd) {
  // A classic BPF socket filter. On a TCP socket it sees the segment from
  // the TCP header on: byte 13 holds the flags (0x02 SYN, 0x10 ACK). It
  // returns the bytes to keep: 0 drops the segment, 0xffffffff keeps it all.
  constexpr unsigned kFlagsOffset = 13;
  constexpr unsigned kSyn = 0x02;
  constexpr unsigned kAck = 0x10;
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kFlagsOffset),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, kSyn | kAck),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kSyn, 0, 1),  // SYN alone: a new handshake
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
  };
  const sock_fprog filter{static_cast<unsigned short>(sizeof program / sizeof program[0]), program};
  return setsockopt(listening_fd, SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter) == 0;
}
#else
bool attach_syn_filter(int) {
  errno = ENOTSUP;
  return false;
}
#endif

}  // namespace

void refuse_new_handshakes(int listening_fd) {
  if (!attach_syn_filter(listening_fd)) {
    log::error("closing the listener: cannot drop new SYNs first ({}); a client connecting as it closes may be reset",
               std::strerror(errno));
  }
}

}  // namespace gotit
