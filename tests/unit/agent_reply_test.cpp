// The agent's one line, as HAProxy's agent check parses it.
#include "catch.hpp"
#include "gotit/reactor/agent.hpp"

TEST_CASE("the agent says ready with the capacity while serving, drain once stopping") {
  CHECK(gotit::AgentPort::reply_line(false, 19936) == "ready maxconn:19936\n");
  CHECK(gotit::AgentPort::reply_line(true, 19936) == "drain\n");
}
