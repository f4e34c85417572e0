#include "support/netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>

#include "support/process.hpp"

namespace gotit::test {
namespace {

std::string find_ip() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return {};
}

// Switches this thread into a namespace for its lifetime, and back.
class EnterNetns {
 public:
  explicit EnterNetns(const std::string& name)
      : home_(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) {
    const UniqueFd target(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!home_ || !target) throw SystemError("open netns " + name, errno);
    if (::setns(target.get(), CLONE_NEWNET) != 0) throw SystemError("setns " + name, errno);
  }
  ~EnterNetns() {
    if (::setns(home_.get(), CLONE_NEWNET) != 0) std::abort();  // a test in the wrong network
  }
  EnterNetns(const EnterNetns&) = delete;
  EnterNetns& operator=(const EnterNetns&) = delete;

 private:
  UniqueFd home_;
};

std::atomic<int> next_pair{0};

}  // namespace

NetnsPair::NetnsPair() : ip_(find_ip()) {
  if (ip_.empty()) {
    failure_ = "no ip(8) program";
    return;
  }
  const std::string tag = std::to_string(::getpid()) + "x" + std::to_string(next_pair++);
  server_ns_ = "gotit-s" + tag;
  client_ns_ = "gotit-c" + tag;
  client_link_ = "gc" + tag;  // interface names: at most 15 bytes
  const std::string server_link = "gs" + tag;
  available_ =
      ip({"netns", "add", server_ns_}) && ip({"netns", "add", client_ns_}) &&
      ip({"-n", server_ns_, "link", "add", server_link, "type", "veth", "peer", "name",
          client_link_, "netns", client_ns_}) &&
      ip({"-n", server_ns_, "addr", "add", std::string(kServerAddress) + "/24", "dev", server_link}) &&
      ip({"-n", client_ns_, "addr", "add", std::string(kClientAddress) + "/24", "dev", client_link_}) &&
      ip({"-n", server_ns_, "link", "set", "lo", "up"}) &&
      ip({"-n", server_ns_, "link", "set", server_link, "up"}) &&
      ip({"-n", client_ns_, "link", "set", "lo", "up"}) &&
      ip({"-n", client_ns_, "link", "set", client_link_, "up"});
}

NetnsPair::~NetnsPair() {
  // Deleting a namespace deletes its end of the veth pair, and with it the other.
  for (const std::string& name : {client_ns_, server_ns_}) {
    if (name.empty()) continue;
    try {
      run_program(ip_, {"netns", "del", name});
    } catch (const std::exception&) {  // nothing more a destructor can do
    }
  }
}

bool NetnsPair::ip(const std::vector<std::string>& args) {
  try {
    const RunResult result = run_program(ip_, args);
    if (result.status.code == 0) return true;
    failure_ = "ip";
    for (const std::string& arg : args) failure_ += " " + arg;
    failure_ += ": " + result.err;
  } catch (const std::exception& error) {
    failure_ = error.what();
  }
  return false;
}

std::vector<std::string> NetnsPair::in_server_namespace(const std::string& program,
                                                        const std::vector<std::string>& args) const {
  std::vector<std::string> all{"netns", "exec", server_ns_, program};
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

UniqueFd NetnsPair::connect_inside(const std::string& netns, std::uint16_t port) const {
  UniqueFd fd;
  {
    const EnterNetns inside(netns);  // a socket belongs to the namespace it was made in
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw SystemError("socket", errno);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, kServerAddress, &address.sin_addr);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw SystemError("connect", errno);
  }
  return fd;
}

UniqueFd NetnsPair::connect_from_client(std::uint16_t port) const {
  return connect_inside(client_ns_, port);
}

UniqueFd NetnsPair::connect_from_server_side(std::uint16_t port) const {
  return connect_inside(server_ns_, port);
}

void NetnsPair::cut_client() {
  if (!ip({"-n", client_ns_, "link", "set", client_link_, "down"})) {
    throw std::runtime_error(failure_);
  }
}

}  // namespace gotit::test
