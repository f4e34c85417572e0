#include "gotit/client_modes.hpp"

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
};

// The reading thread: prints replies until every request sent is answered
// and the sender is done. The timeout clock runs only while a reply is owed.
std::uint64_t read_replies(BlockingClient& client, Pipeline& pipeline, std::ostream& out) {
  std::uint64_t received = 0;
  auto owed_since = Clock::now();
  for (;;) {
    // Read the flag before the count: once done, `sent` no longer moves.
    const bool done = pipeline.sending_done.load();
    const std::uint64_t sent = pipeline.sent.load();
    if (received >= sent) {
      if (done) return received;
      owed_since = Clock::now();  // nothing owed: the clock does not run
    }
    std::optional<std::string> reply;
    try {
      reply = client.read_reply(kReaderSlice);
    } catch (const ClientError& error) {
      // The server closes after our half-close: fine once everything is answered.
      const bool answered_all = pipeline.sending_done.load() && received >= pipeline.sent.load();
      if (error.kind() == ClientFailure::closed_early && answered_all) return received;
      throw;
    }
    if (reply) {
      out << *reply << '\n';
      ++received;
      owed_since = Clock::now();
    } else if (received < sent && Clock::now() - owed_since > client.timeout()) {
      throw ClientError(ClientFailure::timeout,
                        fmt::format("no reply within {} ms ({} of {} requests answered)",
                                    client.timeout().count(), received, sent));
    }
  }
}

}  // namespace

void run_interactive(BlockingClient& client, std::istream& in, std::ostream& out, std::ostream& err) {
  std::string line;
  for (;;) {
    out << kPrompt << std::flush;
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
  std::uint64_t received = 0;
  std::thread reader([&] {
    try {
      received = read_replies(client, pipeline, out);
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
      // Counted before sending: the reply may arrive before send returns.
      pipeline.sent.fetch_add(1);
      try {
        client.send_line(*line);
      } catch (const ClientError& error) {
        if (error.kind() == ClientFailure::too_long) pipeline.sent.fetch_sub(1);
        throw;
      }
    }
    // Done before the half-close, so the reader knows the server's close
    // that follows is expected.
    pipeline.sending_done = true;
    client.finish_sending();
  } catch (...) {
    sender_failure = std::current_exception();
  }
  pipeline.sending_done = true;
  reader.join();
  // The reader's account (timeout, closed early) explains a sender's EPIPE.
  if (reader_failure) std::rethrow_exception(reader_failure);
  if (sender_failure) std::rethrow_exception(sender_failure);
  return received;
}

}  // namespace gotit
