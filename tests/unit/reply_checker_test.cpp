#include <string>

#include "catch.hpp"
#include "gotit/bench/reply_checker.hpp"

using gotit::ExpectKind;
using gotit::ReplyChecker;
using gotit::ReplySpec;
using gotit::RunOptions;

namespace {

ReplySpec spec_for(ExpectKind expect, std::string request, std::string reply = {}) {
  RunOptions options;
  options.expect = expect;
  options.request = std::move(request);
  if (expect == ExpectKind::text) options.reply = std::move(reply);
  if (expect == ExpectKind::delimited) options.reply_delim = std::move(reply);
  return gotit::make_reply_spec(options);
}

}  // namespace

TEST_CASE("the expected reply comes from the protocol's own framer") {
  CHECK(spec_for(ExpectKind::gotit, "hello\n").bytes == "Got it!\n");
  CHECK(spec_for(ExpectKind::gotit, "a\nb\n").bytes == "Got it!\nGot it!\n");
  CHECK(spec_for(ExpectKind::echo, "hello\r\n").bytes == "hello\n");
  CHECK(spec_for(ExpectKind::echo, std::string(300, 'x') + "\n").bytes ==
        "Error: message longer than 255 bytes\n");
  CHECK(spec_for(ExpectKind::text, "PING\r\n", "+PONG\r\n").bytes == "+PONG\r\n");
  const ReplySpec delimited = spec_for(ExpectKind::delimited, "version\r\n", "\r\n");
  CHECK_FALSE(delimited.exact);
}

TEST_CASE("exact replies are counted across any split") {
  const ReplySpec spec = spec_for(ExpectKind::gotit, "hello\n");
  const std::string stream = "Got it!\nGot it!\nGot it!\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    ReplyChecker checker(spec);
    const auto first = checker.feed(std::string_view(stream).substr(0, cut));
    const auto second = checker.feed(std::string_view(stream).substr(cut));
    CHECK(first.ok);
    CHECK(second.ok);
    CHECK(first.replies + second.replies == 3);
    CHECK_FALSE(checker.mid_reply());
  }
  ReplyChecker checker(spec);
  CHECK(checker.feed("Got").replies == 0);
  CHECK(checker.mid_reply());
}

TEST_CASE("a wrong byte stops the checker and says what came") {
  const ReplySpec spec = spec_for(ExpectKind::gotit, "hello\n");
  ReplyChecker checker(spec);
  const auto result = checker.feed("Got it!\nGot iX!\n");
  CHECK_FALSE(result.ok);
  CHECK(result.replies == 1);
  CHECK(checker.failure().find("Got iX!") != std::string::npos);
  ReplyChecker split(spec);
  CHECK(split.feed("Got i").ok);
  CHECK_FALSE(split.feed("t?\n").ok);
  ReplyChecker refused(spec);  // a longer line is quoted whole, up to its newline
  CHECK_FALSE(refused.feed("Error: server full\nmore").ok);
  CHECK(refused.failure().find("got \"Error: server full\\n\"") != std::string::npos);
  ReplyChecker flood(spec);  // a line with no end is quoted only in part
  CHECK_FALSE(flood.feed(std::string(1000, 'x')).ok);
  CHECK(flood.failure().size() < 200);
}

TEST_CASE("delimited replies end at the delimiter, even split inside it") {
  const ReplySpec spec = spec_for(ExpectKind::delimited, "version\r\n", "\r\n");
  ReplyChecker checker(spec);
  auto result = checker.feed("VERSION 1.6.18\r");
  CHECK(result.replies == 0);
  result = checker.feed("\nVERSION 1.6.18\r\nVERS");
  CHECK(result.replies == 2);
  CHECK(checker.mid_reply());
  CHECK(checker.feed("\r\r\n").replies == 1);  // a lone \r inside is content
}

TEST_CASE("a delimited reply that never ends is an error, not a hang") {
  ReplySpec spec = spec_for(ExpectKind::delimited, "x\n", "\n");
  spec.max_reply_bytes = 10;
  ReplyChecker checker(spec);
  CHECK_FALSE(checker.feed(std::string(11, 'a')).ok);
  CHECK(checker.failure().find("10 bytes") != std::string::npos);
}

TEST_CASE("tagged echo replies must come in order") {
  RunOptions options;
  options.expect = ExpectKind::echo;
  options.request = "xxxxxxxxxxxx\n";
  options.sequence_tags = true;
  const ReplySpec spec = gotit::make_reply_spec(options);
  CHECK(spec.tag_bytes == gotit::kSequenceTagBytes);
  std::string tag0(8, ' '), tag1(8, ' ');
  gotit::write_sequence_tag(0, tag0.data());
  gotit::write_sequence_tag(1, tag1.data());
  CHECK(tag1 == "00000001");
  ReplyChecker in_order(spec);
  const auto ok = in_order.feed(tag0 + "xxxx\n" + tag1.substr(0, 3));
  CHECK(ok.ok);
  CHECK(ok.replies == 1);
  CHECK(in_order.feed(tag1.substr(3) + "xxxx\n").replies == 1);
  ReplyChecker swapped(spec);
  const auto wrong = swapped.feed(tag1 + "xxxx\n" + tag0 + "xxxx\n");
  CHECK_FALSE(wrong.ok);
  CHECK(swapped.failure().find("reply 0") != std::string::npos);
  ReplyChecker filler(spec);  // the tag is right, the rest is not
  CHECK_FALSE(filler.feed(tag0 + "xxyx\n").ok);
}
