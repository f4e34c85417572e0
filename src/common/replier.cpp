#include "gotit/common/replier.hpp"

#include "gotit/common/log.hpp"

namespace gotit {
namespace {

// The replier for one message: log it, count it, append its reply.
struct Answer {
  ReplyMode mode;
  std::string& replies;
  const trace::Peer* traced;
  std::size_t messages = 0;

  void operator()(std::string_view message) {
    ++messages;
    if (traced != nullptr) trace::framed(*traced, message);
    log::at(log::Level::message, "Here is the message: {}", message);
    append_reply(mode, message, replies);
  }
};

Replier::Framed verdict_of(FeedResult verdict, const Answer& answer, std::string& replies) {
  if (verdict == FeedResult::oversized) {
    if (answer.traced != nullptr) trace::event(*answer.traced, "line over 255 bytes: error reply");
    replies.append(kOversizedReply);
  }
  return {verdict, answer.messages};
}

}  // namespace

Replier::Framed Replier::answer(std::string_view bytes, ReplyMode mode, std::string& replies,
                                const trace::Peer* traced) {
  Answer answer{mode, replies, traced};
  return verdict_of(framer_.feed(bytes, answer), answer, replies);
}

Replier::Framed Replier::answer_remainder(ReplyMode mode, std::string& replies,
                                          const trace::Peer* traced) {
  Answer answer{mode, replies, traced};
  return verdict_of(framer_.finish(answer), answer, replies);
}

}  // namespace gotit
