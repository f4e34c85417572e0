// The servers `compare` knows: gotit's own models (the reactor on each
// backend, the blocking server in each model) and peers installed from
// the distribution (memcached, redis). Each entry says how to start it,
// what to send and expect, and how many idle connections it is given --
// with the reason when that is capped.
#pragma once

#include <climits>
#include <string>
#include <vector>

#include "gotit/bench/options.hpp"

namespace gotit {

struct ServerSpec {
  std::string name;               // "reactor-epoll", "memcached"
  std::string program;            // full path
  std::vector<std::string> args;  // "{port}" is replaced by the port for peers
  bool announces_port = true;     // gotit servers print "listening on"; peers get a free port
  int max_idle = INT_MAX;         // more idle connections than this are skipped...
  std::string cap_reason;         // ...and this says why
  std::string request = "hello\n";
  ExpectKind expect = ExpectKind::gotit;
  std::string reply;              // ExpectKind::text
  std::string reply_delim;        // ExpectKind::delimited
  std::string unavailable;        // non-empty: cannot run here, and why
};

// The directory holding gotit-reactor and gotit-blocking: `override_dir`,
// or the directory of this executable (readlink /proc/self/exe).
std::string server_directory(const std::string& override_dir);

// The specs for options.servers and options.peers, in that order. Unknown
// names are a UsageError; missing programs are kept, marked unavailable.
std::vector<ServerSpec> make_server_specs(const CompareOptions& options);

// The program's full path if `name` is on PATH, else "".
std::string find_on_path(const std::string& name);

}  // namespace gotit
