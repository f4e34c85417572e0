// The two ways gotit-client talks to a server, over one BlockingClient:
// - interactive, for a person at a terminal: prompt, send, print the reply;
// - pipelined, for a pipe or --message/--count: send every line without
//   waiting, while a second thread reads the replies and prints them in
//   order, so throughput is not one round trip per line.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "gotit/client/client.hpp"

namespace gotit {

// The tutorial's prompt.
inline constexpr std::string_view kPrompt = "Please enter the message: ";

// Prompts on `out`, sends each line of `in`, prints each reply, until EOF.
// A line too long is refused with a message on `err` and the prompt comes
// back; any other failure throws ClientError. With `input_fd`, the file
// descriptor behind `in`, it watches the connection while the person types
// (BlockingClient::wait_for_input).
void run_interactive(BlockingClient& client, std::istream& in, std::ostream& out, std::ostream& err,
                     int input_fd = -1);

// Where pipelined requests come from: the next line, or nullopt at the end.
using LineSource = std::function<std::optional<std::string>()>;

// Sends every line from `next`, prints one reply per line to `out`, in
// order, and returns when every request was answered (the count). Throws
// ClientError: closed_early if the server closed first, timeout if a reply
// was awaited for the client's timeout with none coming, too_long at a line
// the server would refuse (the replies to the lines before it are printed).
std::uint64_t run_pipelined(BlockingClient& client, const LineSource& next, std::ostream& out);

}  // namespace gotit
