#include "gotit/bench/compare_servers.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fmt/format.h>

#include "gotit/common/net.hpp"

namespace gotit {

std::string server_directory(const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n < 0) throw SystemError("readlink /proc/self/exe", errno);
  const std::string self(path, static_cast<std::size_t>(n));
  const std::size_t slash = self.rfind('/');
  return slash == std::string::npos ? "." : self.substr(0, slash);
}

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t colon = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, colon - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = colon + 1;
  }
  // Debian installs redis-server and memcached in /usr/bin, but sbin-style
  // locations are worth a look when PATH is minimal.
  for (const char* dir : {"/usr/sbin", "/usr/local/sbin"}) {
    const std::string candidate = std::string(dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

namespace {

ServerSpec gotit_server(const CompareOptions& options, const std::string& dir, const std::string& name) {
  ServerSpec spec;
  spec.name = name;
  const std::size_t dash = name.find('-');
  const std::string family = name.substr(0, dash);
  const std::string variant = dash == std::string::npos ? "" : name.substr(dash + 1);
  if (family == "reactor" && (variant == "epoll" || variant == "poll" || variant == "select")) {
    spec.program = dir + "/gotit-reactor";
    spec.args = {"--port", "0", "--backend", variant};
    if (variant == "select") {
      spec.max_idle = 900;
      spec.cap_reason = "select() cannot watch descriptors at or above FD_SETSIZE (1024)";
    }
  } else if (family == "blocking" && (variant == "threads" || variant == "fork" || variant == "iterative")) {
    spec.program = dir + "/gotit-blocking";
    spec.args = {"--port", "0", "--model", variant};
    if (variant == "threads") {
      spec.max_idle = options.max_idle_threads;
      spec.cap_reason = fmt::format("a thread per connection; capped at {} (--max-idle-threads)",
                                    options.max_idle_threads);
    } else if (variant == "fork") {
      spec.max_idle = options.max_idle_fork;
      spec.cap_reason = fmt::format(
          "a process per connection: more than {} processes on a small machine measures the "
          "scheduler, not the server (--max-idle-fork)", options.max_idle_fork);
    } else {
      spec.max_idle = options.max_idle_iterative;
      spec.cap_reason = fmt::format(
          "one client at a time: a single idle client already blocks everyone, more only fill the "
          "kernel's accept queue (--max-idle-iterative {})", options.max_idle_iterative);
    }
  } else {
    throw UsageError(fmt::format(
        "unknown server '{}' (known: reactor-epoll, reactor-poll, reactor-select, blocking-threads, "
        "blocking-fork, blocking-iterative)", name));
  }
  if (::access(spec.program.c_str(), X_OK) != 0) {
    spec.unavailable = fmt::format("{} not found (build it, or point --server-dir at it)", spec.program);
  }
  return spec;
}

ServerSpec peer(const std::string& name) {
  ServerSpec spec;
  spec.name = name;
  spec.announces_port = false;
  if (name == "memcached") {
    spec.program = find_on_path("memcached");
    // One worker thread, like the reactor; no UDP; room for 20000 clients.
    spec.args = {"-l", "127.0.0.1", "-p", "{port}", "-t", "1", "-U", "0", "-c", "20000"};
    if (::geteuid() == 0) spec.args.insert(spec.args.end(), {"-u", "root"});  // it refuses root otherwise
    spec.request = "version\r\n";
    spec.expect = ExpectKind::delimited;
    spec.reply_delim = "\r\n";
  } else if (name == "redis") {
    spec.program = find_on_path("redis-server");
    // No persistence; maxclients above the default 10000 so the idle pool fits.
    // Protected mode off: it answers "-DENIED" to any source but 127.0.0.1,
    // and the connection rate connects from 127.0.0.1-8 (bound to loopback,
    // so nothing outside can reach it anyway).
    spec.args = {"--bind", "127.0.0.1", "--port", "{port}", "--save", "", "--appendonly", "no",
                 "--maxclients", "19000", "--protected-mode", "no"};
    spec.request = "PING\r\n";
    spec.expect = ExpectKind::text;
    spec.reply = "+PONG\r\n";
  } else {
    throw UsageError(fmt::format("unknown peer '{}' (known: memcached, redis)", name));
  }
  if (spec.program.empty()) {
    spec.unavailable = fmt::format("{} is not installed (Debian: apt-get install {})", name,
                                   name == "redis" ? "redis-server" : "memcached");
  }
  return spec;
}

}  // namespace

std::vector<ServerSpec> make_server_specs(const CompareOptions& options) {
  const std::string dir = server_directory(options.server_dir);
  std::vector<ServerSpec> specs;
  for (const auto& name : options.servers) specs.push_back(gotit_server(options, dir, name));
  for (const auto& name : options.peers) specs.push_back(peer(name));
  return specs;
}

}  // namespace gotit
