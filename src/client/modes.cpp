#include "gotit/client/modes.hpp"

#include <fmt/format.h>

#include <atomic>
#include <exception>
#include <istream>
#include <ostream>
#include <thread>

namespace gotit {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How often the reader looks up from the socket to check the counts.
constexpr auto kReaderSlice = 100ms;

// The state the sending and the reading thread share.
struct Pipeline {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<bool> sending_done{false};
  std::atomic<bool> failed{false};  // the reader gave up: stop sending
  std::string first_request;  // written before `sent` leaves 0, read after
};

// What the reading thread saw.
struct ReadOutcome {
  std::uint64_t received = 0;
  bool server_closed = false;  // whether that was all is decided after both threads end
};

// The reading thread: prints replies until every request sent is answered
// and the sender is done, or the server closes. The timeout clock runs only
// while a reply is owed.
ReadOutcome read_replies(BlockingClient& client, Pipeline& pipeline, std::ostream& out) {
  ReadOutcome outcome;
  auto owed_since = Clock::now();
  for (;;) {
    // Read the flag before the count: once done, `sent` no longer moves.
    const bool done = pipeline.sending_done.load();
    const std::uint64_t sent = pipeline.sent.load();
    if (outcome.received >= sent) {
      if (done) return outcome;
      owed_since = Clock::now();  // nothing owed: the clock does not run
    }
    std::optional<std::string> reply;
    try {
      reply = client.read_reply(kReaderSlice);
    } catch (const ClientError& error) {
      if (error.kind() != ClientFailure::closed_early) throw;
      // After our half-close this is expected; otherwise the sender finds
      // out on its next send, and run_pipelined compares the counts.
      outcome.server_closed = true;
      return outcome;
    }
    if (reply) {
      if (outcome.received == 0) {
        const bool asked = pipeline.sent.load() > 0;
        client.check_turned_away(*reply, asked ? std::optional<std::string_view>(pipeline.first_request)
                                               : std::nullopt);
      }
      out << *reply << '\n';
      ++outcome.received;
      owed_since = Clock::now();
    } else if (outcome.received < sent && Clock::now() - owed_since > client.timeout()) {
      throw ClientError(ClientFailure::timeout,
                        fmt::format("no reply within {} ms ({} of {} requests answered)",
                                    client.timeout().count(), outcome.received, sent));
    }
  }
}

}  // namespace

void run_interactive(BlockingClient& client, std::istream& in, std::ostream& out, std::ostream& err,
                     int input_fd) {
  std::string line;
  for (;;) {
    out << kPrompt << std::flush;
    // Lines already in `in`'s buffer (pasted at once) need no wait.
    while (input_fd >= 0 && in.rdbuf()->in_avail() <= 0) {
      std::optional<std::string> unasked;
      try {
        unasked = client.wait_for_input(input_fd);
      } catch (const ClientError&) {
        out << '\n' << std::flush;  // end the prompt's line before the error
        throw;
      }
      if (!unasked) break;
      out << '\n' << *unasked << '\n' << kPrompt << std::flush;
    }
    if (!std::getline(in, line)) break;
    try {
      out << client.request(line) << '\n';
    } catch (const ClientError& error) {
      if (error.kind() != ClientFailure::too_long) throw;
      err << "gotit-client: " << error.what() << '\n';
    }
  }
  out << '\n';  // end the prompt's line after Ctrl-D
}

std::uint64_t run_pipelined(BlockingClient& client, const LineSource& next, std::ostream& out) {
  Pipeline pipeline;
  std::exception_ptr reader_failure;
  ReadOutcome outcome;
  std::thread reader([&] {
    try {
      outcome = read_replies(client, pipeline, out);
    } catch (...) {
      reader_failure = std::current_exception();
      pipeline.failed = true;
      client.abort();  // a sender blocked on a full socket must wake up
    }
  });
  std::exception_ptr sender_failure;
  try {
    while (!pipeline.failed) {
      std::optional<std::string> line = next();
      if (!line) break;
      BlockingClient::check_line(*line);  // too long: throws before it counts
      if (pipeline.sent.load() == 0) pipeline.first_request = *line;
      // Counted before sending: the reply may arrive before send returns.
      pipeline.sent.fetch_add(1);
      client.send_line(*line);
    }
    pipeline.sending_done = true;
    client.finish_sending();  // the server answers the rest, then closes
  } catch (...) {
    sender_failure = std::current_exception();
  }
  pipeline.sending_done = true;
  reader.join();
  // The reader's account (a timeout) explains a sender's EPIPE; a line too
  // long is reported after the replies to the lines before it.
  if (reader_failure) std::rethrow_exception(reader_failure);
  if (outcome.received < pipeline.sent.load()) {
    throw ClientError(ClientFailure::closed_early,
                      fmt::format("the server closed the connection after {} of {} replies",
                                  outcome.received, pipeline.sent.load()));
  }
  if (sender_failure) std::rethrow_exception(sender_failure);
  return outcome.received;
}

}  // namespace gotit
