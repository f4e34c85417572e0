// A private two-host network for tests that need a peer to vanish: two
// network namespaces of this test run's own, joined by a veth pair. The
// "server" end is 10.77.0.1, the "client" end 10.77.0.2. Taking the client's
// link down makes the client vanish as a phone out of coverage does: no
// FIN, no RST, the server's packets simply go nowhere.
//
// Needs root and iproute2's `ip netns`; available() says whether it could
// be built. Names carry the test's PID and a counter, so parallel runs never
// meet, and the destructor deletes both namespaces (with the veth pair) even
// when the test fails. Not thread-safe: sockets are made by switching the
// calling thread into a namespace and back.
#pragma once

#include <string>
#include <vector>

#include "gotit/common/net.hpp"

namespace gotit::test {

class NetnsPair {
 public:
  static constexpr const char* kServerAddress = "10.77.0.1";
  static constexpr const char* kClientAddress = "10.77.0.2";

  NetnsPair();  // never throws: a failure leaves available() false
  ~NetnsPair();
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  bool available() const { return available_; }
  const std::string& why_unavailable() const { return failure_; }

  // The path of `ip` and the arguments that run `program args...` inside
  // the server's namespace (`ip netns exec NAME program args...`; exec
  // keeps the PID, so the ChildProcess's PID is the program's).
  const std::string& ip_path() const { return ip_; }
  std::vector<std::string> in_server_namespace(const std::string& program,
                                               const std::vector<std::string>& args) const;

  // A blocking TCP connection from the client's end (or from the server's
  // own namespace: a neighbour that stays reachable) to the server's address.
  UniqueFd connect_from_client(std::uint16_t port) const;
  UniqueFd connect_from_server_side(std::uint16_t port) const;

  // The client's link goes down: from now on nothing it sent or would
  // answer reaches the server, and nothing reaches it.
  void cut_client();

 private:
  bool ip(const std::vector<std::string>& args);
  UniqueFd connect_inside(const std::string& netns, std::uint16_t port) const;

  std::string ip_;
  std::string server_ns_;
  std::string client_ns_;
  std::string client_link_;
  std::string failure_;
  bool available_ = false;
};

}  // namespace gotit::test
