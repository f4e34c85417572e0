#include "gotit/bench/idle_cost.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace gotit {
namespace {

using DirPtr = std::unique_ptr<DIR, int (*)(DIR*)>;

std::uint64_t meminfo_bytes(const std::string& text, std::string_view key) {
  const std::size_t at = text.find(key);
  if (at == std::string::npos) return 0;
  return std::stoull(text.substr(at + key.size())) * 1024;  // "Slab:   241876 kB"
}

std::string read_whole(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Direct children of `pid`: field 4 (ppid) of every /proc/N/stat.
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> found;
  DirPtr proc(opendir("/proc"), closedir);
  if (!proc) return found;
  while (const dirent* entry = readdir(proc.get())) {
    const long child = std::atol(entry->d_name);
    if (child <= 0) continue;
    const std::string stat = read_whole(fmt::format("/proc/{}/stat", child));
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string state;
    long parent = 0;
    if (fields >> state >> parent && parent == pid) found.push_back(static_cast<pid_t>(child));
  }
  return found;
}

std::uint64_t count_sockets(pid_t pid) {
  const std::string dir = fmt::format("/proc/{}/fd", pid);
  DirPtr fds(opendir(dir.c_str()), closedir);
  if (!fds) return 0;
  std::uint64_t sockets = 0;
  char target[64];
  while (const dirent* entry = readdir(fds.get())) {
    if (entry->d_name[0] == '.') continue;
    const std::string link = dir + "/" + entry->d_name;
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n > 7 && std::string_view(target, 7) == "socket:") ++sockets;
  }
  return sockets;
}

double per(std::uint64_t after, std::uint64_t before, int n) {
  return n > 0 ? (static_cast<double>(after) - static_cast<double>(before)) / n : 0.0;
}

}  // namespace

KernelMemory read_kernel_memory() {
  KernelMemory memory;
  const std::string meminfo = read_whole("/proc/meminfo");
  memory.slab_bytes = meminfo_bytes(meminfo, "Slab:");
  memory.available_bytes = meminfo_bytes(meminfo, "MemAvailable:");
  const std::string sockstat = read_whole("/proc/net/sockstat");
  const std::size_t tcp = sockstat.find("TCP:");
  const std::size_t mem = tcp == std::string::npos ? tcp : sockstat.find(" mem ", tcp);
  if (mem != std::string::npos) {
    memory.tcp_bytes = std::stoull(sockstat.substr(mem + 5)) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  }
  return memory;
}

std::optional<SocketSpread> socket_spread(pid_t pid) {
  const std::vector<pid_t> children = children_of(pid);
  if (children.empty()) return std::nullopt;
  SocketSpread spread{0, UINT64_MAX, 0};
  for (const pid_t child : children) {
    const std::uint64_t sockets = count_sockets(child);
    spread.min = std::min(spread.min, sockets);
    spread.max = std::max(spread.max, sockets);
    ++spread.processes;
  }
  return spread;
}

IdleCostBaseline measure_idle_baseline(pid_t server_pid) {
  IdleCostBaseline baseline;
  baseline.kernel = read_kernel_memory();
  if (server_pid > 0) baseline.server = sample_process_tree(server_pid);
  return baseline;
}

namespace {

// Slab is machine-wide: what the rest of the machine frees meanwhile can
// outweigh a small pool's growth, and a small pool fits in slabs the kernel
// already had; a cost of zero or less would be nonsense.
std::string slab_per_connection(const KernelMemory& before, const KernelMemory& now, int held) {
  const double bytes = per(now.slab_bytes, before.slab_bytes, held);
  if (bytes > 0) return fmt::format("Slab {:.0f} B per connection held", bytes);
  return fmt::format("Slab not measurable (it did not grow while {} connections opened: other activity "
                     "outweighs them)",
                     held);
}

}  // namespace

std::string format_idle_cost(const IdleCostBaseline& before, pid_t server_pid, int held) {
  const KernelMemory now = read_kernel_memory();
  std::string out = fmt::format(
      "idle kernel   TCP socket memory {:.0f} B, {} (both ends, "
      "machine-wide: {:.1f} -> {:.1f} MiB, {:.1f} -> {:.1f} MiB)\n",
      per(now.tcp_bytes, before.kernel.tcp_bytes, held), slab_per_connection(before.kernel, now, held),
      before.kernel.tcp_bytes / 1048576.0, now.tcp_bytes / 1048576.0, before.kernel.slab_bytes / 1048576.0,
      now.slab_bytes / 1048576.0);
  if (server_pid <= 0 || !before.server) return out;
  if (const auto after = sample_process_tree(server_pid)) {
    out += fmt::format("idle server   RSS {:.0f} B per connection held ({:.1f} -> {:.1f} MiB over {} "
                       "process{})\n",
                       per(after->rss_bytes, before.server->rss_bytes, held),
                       before.server->rss_bytes / 1048576.0, after->rss_bytes / 1048576.0,
                       after->processes, after->processes == 1 ? "" : "es");
  }
  if (const auto spread = socket_spread(server_pid)) {
    out += fmt::format("idle workers  sockets per worker: min {}, max {} over {} workers ({:+.1f}% "
                       "max over min)\n",
                       spread->min, spread->max, spread->processes,
                       spread->min ? 100.0 * (static_cast<double>(spread->max) / spread->min - 1) : 0.0);
  }
  return out;
}

}  // namespace gotit
