// The differential protocol test: seeded random byte streams (see
// support/stream_generator.hpp) sent to a real server, and what comes back
// -- every byte, and whether the connection ended in EOF, a reset or stayed
// open -- compared with the reference model (support/protocol_model.hpp).
// Run once per server and model, in both reply modes:
//   GOTIT_SERVER        path of the server program
//   GOTIT_SERVER_ARGS   its extra arguments, space-separated ("--model fork")
//   GOTIT_DIFF_CASES    streams per reply mode (default 200; the stress suite: 3000)
//   GOTIT_DIFF_SEED     the first seed (default 1); case i uses seed + i
// A failure prints the seed and a minimal case: the failing stream shrunk by
// dropping and merging writes and halving them while it still fails.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "gotit/common/net.hpp"
#include "support/process.hpp"
#include "support/protocol_model.hpp"
#include "support/stream_generator.hpp"

namespace {

using namespace std::chrono_literals;
using gotit::ReplyMode;
using gotit::test::ModelReply;
using gotit::test::StreamCase;
using gotit::test::StreamEnd;

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

struct Observed {
  std::string bytes;
  StreamEnd end = StreamEnd::open;
  bool operator==(const Observed& other) const = default;
};

// Reads until EOF, a reset, or (when the model expects the connection to
// stay open) the expected bytes plus a short quiet spell; bounded by 5 s.
Observed receive(int fd, const ModelReply& want) {
  Observed got;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    const bool have_all = got.bytes.size() >= want.bytes.size();
    // Once everything expected is in, a server that wrongly sends more or
    // closes has had its replies flushed with them: wait only briefly.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int wait_ms = have_all && want.end == StreamEnd::open ? 20 : static_cast<int>(left.count());
    if (wait_ms <= 0) return got;
    pollfd readable{fd, POLLIN, 0};
    const int ready = ::poll(&readable, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return got;  // quiet: still open
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      got.bytes.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {
      got.end = StreamEnd::eof;
    } else if (errno == ECONNRESET) {
      got.end = StreamEnd::reset;
    } else if (errno == EINTR) {
      continue;
    } else {
      throw gotit::SystemError("recv", errno);
    }
    return got;
  }
}

Observed play(std::uint16_t port, const StreamCase& stream, const ModelReply& want) {
  const gotit::UniqueFd fd = gotit::connect_tcp("127.0.0.1", port, 5000ms);
  const int on = 1;  // every write its own segment, so the splits reach the server
  REQUIRE(setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0);
  for (std::size_t i = 0; i < stream.writes.size(); ++i) {
    if (i > 0) std::this_thread::sleep_for(100us);  // let the server read between writes
    try {
      gotit::write_all(fd.get(), stream.writes[i]);
    } catch (const gotit::SystemError&) {
      break;  // the server closed on an oversized line already: see what it said
    }
  }
  if (stream.half_close) ::shutdown(fd.get(), SHUT_WR);
  return receive(fd.get(), want);
}

std::string show(const Observed& seen) {
  return gotit::test::escape(seen.bytes).substr(0, 3000) + ", then " +
         std::string(to_string(seen.end));
}

struct Runner {
  std::uint16_t port;
  ReplyMode mode;

  bool fails(const StreamCase& stream) {
    const ModelReply want = gotit::test::model_reply(stream.joined(), stream.half_close, mode);
    return !(play(port, stream, want) == Observed{want.bytes, want.end});
  }

  // Smaller failing cases: drop a write, merge two, keep half of one. Each
  // candidate is replayed; a bounded number of tries.
  StreamCase shrink(StreamCase stream) {
    int tries = 0;
    for (bool smaller = true; smaller && tries < 300;) {
      smaller = false;
      std::vector<StreamCase> candidates;
      for (std::size_t i = 0; i < stream.writes.size(); ++i) {
        StreamCase without = stream;
        without.writes.erase(without.writes.begin() + static_cast<long>(i));
        candidates.push_back(without);
        const std::string& part = stream.writes[i];
        if (part.size() > 1) {
          for (const std::string& half : {part.substr(0, part.size() / 2), part.substr(part.size() / 2)}) {
            StreamCase halved = stream;
            halved.writes[i] = half;
            candidates.push_back(halved);
          }
        }
        if (i + 1 < stream.writes.size()) {
          StreamCase merged = stream;
          merged.writes[i] += merged.writes[i + 1];
          merged.writes.erase(merged.writes.begin() + static_cast<long>(i) + 1);
          candidates.push_back(merged);
        }
      }
      for (const StreamCase& candidate : candidates) {
        if (++tries > 300) break;
        if (fails(candidate)) {
          stream = candidate;
          smaller = true;
          break;
        }
      }
    }
    return stream;
  }
};

std::vector<std::string> server_args(ReplyMode mode) {
  std::vector<std::string> args{"--port", "0", "--bind", "127.0.0.1", "--reply",
                                std::string(gotit::to_string(mode))};
  std::istringstream extra(env_or("GOTIT_SERVER_ARGS", ""));
  for (std::string word; extra >> word;) args.push_back(word);
  return args;
}

}  // namespace

TEST_CASE("every server answers random streams as the protocol model does") {
  const std::string server = env_or("GOTIT_SERVER", GOTIT_GOTIT_REACTOR_BIN);
  const auto cases = std::stoull(env_or("GOTIT_DIFF_CASES", "200"));
  const auto first_seed = std::stoull(env_or("GOTIT_DIFF_SEED", "1"));
  for (const ReplyMode mode : {ReplyMode::gotit, ReplyMode::echo}) {
    DYNAMIC_SECTION("--reply " << gotit::to_string(mode)) {
      gotit::test::ChildProcess process(server, server_args(mode));
      Runner runner{process.wait_for_port(), mode};
      for (std::uint64_t seed = first_seed; seed < first_seed + cases; ++seed) {
        const StreamCase stream = gotit::test::generate_stream(seed);
        const ModelReply want = gotit::test::model_reply(stream.joined(), stream.half_close, mode);
        const Observed got = play(runner.port, stream, want);
        if (got == Observed{want.bytes, want.end}) continue;
        const StreamCase minimal = runner.shrink(stream);
        const ModelReply minimal_want =
            gotit::test::model_reply(minimal.joined(), minimal.half_close, mode);
        const Observed minimal_got = play(runner.port, minimal, minimal_want);
        FAIL_CHECK("seed " << seed << " (rerun: GOTIT_DIFF_SEED=" << seed
                   << " GOTIT_DIFF_CASES=1), --reply " << gotit::to_string(mode)
                   << "\n  server: " << show(got)
                   << "\n  model:  " << show(Observed{want.bytes, want.end})
                   << "\nMinimal case:\n" << gotit::test::describe(minimal)
                   << "  server: " << show(minimal_got)
                   << "\n  model:  " << show(Observed{minimal_want.bytes, minimal_want.end}));
        break;  // one failure, shrunk, is the report
      }
    }
  }
}
