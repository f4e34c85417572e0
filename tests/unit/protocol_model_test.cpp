// The reference model's own checks: each rule of DESIGN.md once, so a
// wrong model cannot make the differential test agree with a wrong server.
#include <string>

#include "catch.hpp"
#include "support/protocol_model.hpp"
#include "support/stream_generator.hpp"

using gotit::ReplyMode;
using gotit::test::model_reply;
using gotit::test::StreamEnd;

namespace {
const std::string kError = "Error: message longer than 255 bytes\n";
}

TEST_CASE("the model: lines, \\r\\n, empty lines, echo") {
  CHECK(model_reply("a\nb\r\n\n", false, ReplyMode::gotit).bytes == "Got it!\nGot it!\nGot it!\n");
  CHECK(model_reply("a\nb\r\n\n", false, ReplyMode::gotit).end == StreamEnd::open);
  CHECK(model_reply("a\r\r\nb\rc\n", false, ReplyMode::echo).bytes == "a\r\nb\rc\n");
  CHECK(model_reply(std::string("\0\xff\n", 3), false, ReplyMode::echo).bytes == std::string("\0\xff\n", 3));
}

TEST_CASE("the model: 255 bytes pass, 256 do not") {
  const std::string max(255, 'x');
  CHECK(model_reply(max + "\n", false, ReplyMode::echo).bytes == max + "\n");
  CHECK(model_reply(max + "\r\n", false, ReplyMode::echo).bytes == max + "\n");
  const auto over = model_reply("ok\n" + max + "y\nlater\n", false, ReplyMode::gotit);
  CHECK(over.bytes == "Got it!\n" + kError);
  CHECK(over.end == StreamEnd::eof);
}

TEST_CASE("the model: an unfinished line") {
  const std::string max(255, 'x');
  CHECK(model_reply("tail", false, ReplyMode::echo).bytes.empty());
  CHECK(model_reply("tail", true, ReplyMode::echo).bytes == "tail\n");
  CHECK(model_reply("tail\r", true, ReplyMode::echo).bytes == "tail\r\n");
  CHECK(model_reply("", true, ReplyMode::echo).bytes.empty());
  CHECK(model_reply("", true, ReplyMode::echo).end == StreamEnd::eof);
  CHECK(model_reply(max + "\r", false, ReplyMode::echo).end == StreamEnd::open);  // may yet be 255 + \r\n
  CHECK(model_reply(max + "\r", true, ReplyMode::echo).bytes == kError);
  CHECK(model_reply(max + "yz", false, ReplyMode::echo).bytes == kError);      // 257: too long already
}

TEST_CASE("the generator is deterministic and covers the edges") {
  CHECK(gotit::test::generate_stream(7).joined() == gotit::test::generate_stream(7).joined());
  bool oversized = false, empty_line = false, half_close = false, open = false;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    const auto stream = gotit::test::generate_stream(seed);
    const auto reply = model_reply(stream.joined(), stream.half_close, ReplyMode::gotit);
    oversized |= reply.bytes.find(kError) != std::string::npos;
    empty_line |= stream.joined().find("\n\n") != std::string::npos;
    half_close |= stream.half_close;
    open |= reply.end == StreamEnd::open;
  }
  CHECK(oversized);
  CHECK(empty_line);
  CHECK(half_close);
  CHECK(open);
}
