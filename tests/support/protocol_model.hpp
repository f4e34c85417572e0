// A reference model of the gotit protocol, written from DESIGN.md alone and
// on purpose not with LineFramer: given every byte a client sends (and
// whether it half-closes), what must it receive, and how must the
// connection end? The differential test holds every server to it.
#pragma once

#include <string>
#include <string_view>

#include "gotit/common/protocol.hpp"

namespace gotit::test {

enum class StreamEnd {
  open,  // the server waits for more: no EOF, no reset
  eof,   // the server closed in order (FIN) after the replies
  reset  // the connection was reset (never expected by the model)
};

std::string_view to_string(StreamEnd end);

struct ModelReply {
  std::string bytes;  // every byte the client must receive, in order
  StreamEnd end = StreamEnd::open;
};

// The protocol, byte for byte:
// - a message is the bytes up to '\n', one '\r' just before it dropped;
// - at most 255 content bytes; an empty line is a message;
// - gotit mode replies "Got it!\n", echo mode the message and '\n';
// - a longer line: "Error: message longer than 255 bytes\n", then an orderly
//   close (the lingering close: EOF, never a reset), nothing after it read.
//   An unfinished line is known to be too long once it holds 257 bytes (256
//   could still be 255 + "\r" before the '\n');
// - at the client's half-close, bytes after the last '\n' are one last
//   message (no '\r' stripped: it was not before a '\n'), then EOF.
ModelReply model_reply(std::string_view sent, bool half_closed, ReplyMode mode);

}  // namespace gotit::test
