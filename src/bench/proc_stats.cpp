#include "gotit/bench/proc_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gotit/common/net.hpp"

namespace gotit {

namespace {

struct StatLine {
  pid_t parent = 0;
  double cpu_seconds = 0.0;  // utime + stime + cutime + cstime
};

// /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and
// parentheses, so fields are counted from the last ')'.
std::optional<StatLine> read_stat(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!file || !std::getline(file, text)) return std::nullopt;
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> field;
  std::string word;
  while (fields >> word && field.size() < 15) field.push_back(word);
  if (field.size() < 15) return std::nullopt;
  // After "state" (field 3 of the man page, index 0 here): ppid is index 1,
  // utime..cstime are man page fields 14..17, here indexes 11..14.
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  StatLine line;
  line.parent = static_cast<pid_t>(std::stol(field[1]));
  for (int i = 11; i <= 14; ++i) line.cpu_seconds += std::stod(field[static_cast<std::size_t>(i)]) / ticks;
  return line;
}

// VmRSS, VmHWM (kB) and Threads from /proc/PID/status.
bool add_status(pid_t pid, ProcSample& sample) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/status");
  if (!file) return false;
  std::string key;
  std::string line;
  while (std::getline(file, line)) {
    std::istringstream words(line);
    std::uint64_t value = 0;
    words >> key >> value;
    if (key == "VmRSS:") sample.rss_bytes += value * 1024;
    else if (key == "VmHWM:") sample.peak_rss_bytes += value * 1024;
    else if (key == "Threads:") sample.threads += static_cast<int>(value);
  }
  return true;
}

// Every live process whose parent chain reaches `root`.
std::vector<pid_t> descendants(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> parent_of;  // (pid, parent)
  std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), closedir);
  if (!proc) return {};
  while (const dirent* entry = readdir(proc.get())) {
    const pid_t pid = static_cast<pid_t>(std::atol(entry->d_name));
    if (pid <= 0 || pid == root) continue;
    if (const auto stat = read_stat(pid)) parent_of.emplace_back(pid, stat->parent);
  }
  std::vector<pid_t> found{root};
  // Breadth first; bounded by the number of processes seen.
  for (std::size_t i = 0; i < found.size() && i <= parent_of.size(); ++i) {
    for (const auto& [pid, parent] : parent_of) {
      if (parent == found[i]) found.push_back(pid);
    }
  }
  found.erase(found.begin());
  return found;
}

}  // namespace

std::optional<ProcSample> sample_process_tree(pid_t pid) {
  const auto root = read_stat(pid);
  ProcSample sample;
  if (!root || !add_status(pid, sample)) return std::nullopt;
  sample.cpu_seconds = root->cpu_seconds;
  sample.processes = 1;
  for (const pid_t child : descendants(pid)) {
    const auto stat = read_stat(child);
    if (!stat || !add_status(child, sample)) continue;  // it just ended
    sample.cpu_seconds += stat->cpu_seconds;
    ++sample.processes;
  }
  return sample;
}

double own_cpu_seconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) throw SystemError("getrusage", errno);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace gotit
