#include <string>
#include <vector>

#include "catch.hpp"
#include "gotit/common/protocol.hpp"

using gotit::FeedResult;
using gotit::LineFramer;

namespace {

struct Collected {
  std::vector<std::string> messages;
  FeedResult result = FeedResult::ok;
};

Collected feed_all(LineFramer& framer, const std::vector<std::string>& reads) {
  Collected out;
  for (const auto& bytes : reads) {
    out.result = framer.feed(bytes, [&](std::string_view m) { out.messages.emplace_back(m); });
    if (out.result != FeedResult::ok) break;
  }
  return out;
}

Collected feed_all(const std::vector<std::string>& reads) {
  LineFramer framer;
  return feed_all(framer, reads);
}

}  // namespace

TEST_CASE("one line in one read is one message") {
  const auto out = feed_all({"hello\n"});
  CHECK(out.result == FeedResult::ok);
  CHECK(out.messages == std::vector<std::string>{"hello"});
}

TEST_CASE("a line split across reads is joined") {
  LineFramer framer;
  const auto out = feed_all(framer, {"he", "l", "lo wor", "ld\n"});
  CHECK(out.messages == std::vector<std::string>{"hello world"});
  CHECK(framer.pending_bytes() == 0);
}

TEST_CASE("many messages in one read come out in order") {
  const auto out = feed_all({"a\nbb\nccc\n"});
  CHECK(out.messages == std::vector<std::string>{"a", "bb", "ccc"});
}

TEST_CASE("a partial line after complete ones waits for the rest") {
  LineFramer framer;
  auto out = feed_all(framer, {"one\ntw"});
  CHECK(out.messages == std::vector<std::string>{"one"});
  CHECK(framer.pending_bytes() == 2);
  out = feed_all(framer, {"o\n"});
  CHECK(out.messages == std::vector<std::string>{"two"});
}

TEST_CASE("CRLF loses its CR; a lone CR elsewhere is content") {
  const auto out = feed_all({"dos\r\n", "a\rb\n", "\r\r\n"});
  CHECK(out.messages == std::vector<std::string>{"dos", "a\rb", "\r"});
}

TEST_CASE("a CR split from its LF across reads is still dropped") {
  const auto out = feed_all({"x\r", "\n"});
  CHECK(out.messages == std::vector<std::string>{"x"});
}

TEST_CASE("an empty line is a message") {
  const auto out = feed_all({"\n\r\n"});
  CHECK(out.messages == std::vector<std::string>{"", ""});
}

TEST_CASE("exactly 255 bytes of content is accepted") {
  const std::string line(255, 'x');
  CHECK(feed_all({line + "\n"}).messages == std::vector<std::string>{line});
  CHECK(feed_all({line + "\r\n"}).messages == std::vector<std::string>{line});
  CHECK(feed_all({line.substr(0, 100), line.substr(100), "\r", "\n"}).messages ==
        std::vector<std::string>{line});
}

TEST_CASE("256 bytes of content is oversized") {
  const std::string line(256, 'x');
  SECTION("in one read") { CHECK(feed_all({line + "\n"}).result == FeedResult::oversized); }
  SECTION("split across reads") {
    CHECK(feed_all({line.substr(0, 200), line.substr(200), "\n"}).result == FeedResult::oversized);
  }
  SECTION("with CRLF") { CHECK(feed_all({line + "\r\n"}).result == FeedResult::oversized); }
}

TEST_CASE("an endless line is refused as soon as it passes 256 bytes") {
  LineFramer framer;
  const auto out = feed_all(framer, {std::string(200, 'a'), std::string(57, 'a')});
  CHECK(out.result == FeedResult::oversized);
  CHECK(framer.pending_bytes() == 0);
}

TEST_CASE("messages before an oversized line are delivered; nothing after") {
  const auto out = feed_all({"ok\n" + std::string(300, 'z') + "\nlater\n"});
  CHECK(out.messages == std::vector<std::string>{"ok"});
  CHECK(out.result == FeedResult::oversized);
}

TEST_CASE("a spent framer stays spent") {
  LineFramer framer;
  feed_all(framer, {std::string(300, 'z') + "\n"});
  CHECK(feed_all(framer, {"fine\n"}).result == FeedResult::oversized);
  CHECK(framer.finish([](std::string_view) {}) == FeedResult::oversized);
}

TEST_CASE("the remainder at half-close is one last message") {
  LineFramer framer;
  std::vector<std::string> messages;
  auto collect = [&](std::string_view m) { messages.emplace_back(m); };
  REQUIRE(framer.feed("first\nlast", collect) == FeedResult::ok);
  REQUIRE(framer.finish(collect) == FeedResult::ok);
  CHECK(messages == std::vector<std::string>{"first", "last"});
}

TEST_CASE("no remainder means no extra message at half-close") {
  LineFramer framer;
  int count = 0;
  REQUIRE(framer.feed("done\n", [&](std::string_view) { ++count; }) == FeedResult::ok);
  REQUIRE(framer.finish([&](std::string_view) { ++count; }) == FeedResult::ok);
  CHECK(count == 1);
}

TEST_CASE("a 256-byte remainder at half-close is oversized") {
  LineFramer framer;
  REQUIRE(framer.feed(std::string(256, 'r'), [](std::string_view) {}) == FeedResult::ok);
  CHECK(framer.finish([](std::string_view) {}) == FeedResult::oversized);
}

TEST_CASE("binary bytes and NUL inside a message pass through") {
  const std::string binary("a\0b\xff\x01", 5);
  const auto out = feed_all({binary + "\n"});
  REQUIRE(out.messages.size() == 1);
  CHECK(out.messages[0] == binary);
}

TEST_CASE("byte-by-byte feeding gives the same messages") {
  const std::string stream = "alpha\r\nbeta\n\ngamma\n";
  std::vector<std::string> reads;
  for (char c : stream) reads.emplace_back(1, c);
  CHECK(feed_all(reads).messages == std::vector<std::string>{"alpha", "beta", "", "gamma"});
}

TEST_CASE("replies follow the reply mode") {
  std::string out;
  gotit::append_reply(gotit::ReplyMode::gotit, "anything", out);
  CHECK(out == "Got it!\n");
  out.clear();
  gotit::append_reply(gotit::ReplyMode::echo, std::string_view("a\0b", 3), out);
  CHECK(out == std::string("a\0b\n", 4));
}

TEST_CASE("reply modes parse strictly") {
  CHECK(gotit::parse_reply_mode("gotit") == gotit::ReplyMode::gotit);
  CHECK(gotit::parse_reply_mode("echo") == gotit::ReplyMode::echo);
  CHECK_FALSE(gotit::parse_reply_mode("Echo"));
  CHECK_FALSE(gotit::parse_reply_mode(""));
}
