#include "gotit/reactor/options.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "gotit/common/net.hpp"

namespace gotit {
namespace {

constexpr std::array<std::pair<std::string_view, Backend>, 5> kBackendNames{{
    {"auto", Backend::automatic},
    {"epoll", Backend::epoll},
    {"kqueue", Backend::kqueue},
    {"poll", Backend::poll},
    {"select", Backend::select},
}};

constexpr long long kDay = 24 * 60 * 60;

}  // namespace

std::optional<Backend> parse_backend(std::string_view text) {
  for (const auto& [name, backend] : kBackendNames) {
    if (name == text) return backend;
  }
  return std::nullopt;
}

std::optional<Reader> parse_reader(std::string_view text) {
  if (text == "bufferevent") return Reader::bufferevent;
  if (text == "direct") return Reader::direct;
  return std::nullopt;
}

std::string_view to_string(Reader reader) {
  return reader == Reader::bufferevent ? "bufferevent" : "direct";
}

std::string_view to_string(Backend backend) {
  for (const auto& [name, value] : kBackendNames) {
    if (value == backend) return name;
  }
  return "?";
}

void add_reactor_options(CLI::App& app, ReactorOptions& options, ReactorOptionText& text) {
  add_server_options(app, options.server, text.server);
  CLI::Option* trace = app.get_option("--trace");
  trace->description(trace->get_description() +
                     " (--reader bufferevent: libevent's own recv is not visible, only the "
                     "bytes it left in the input buffer; libevent's writes show as "
                     "\"libevent sent N bytes\")");
  app.add_option("--backend", text.backend,
                 "Readiness interface: auto, epoll, kqueue, poll or select (default auto)")->type_name("NAME");
  app.add_option("--reader", text.reader,
                 "Who reads the sockets: bufferevent (libevent's reader, public API only, "
                 "3 system calls a request) or direct (our recv on the bufferevent's read "
                 "event, 2 a request; used only on the libevent 2.1.x it was tested with, "
                 "bufferevent elsewhere) (default direct)")->type_name("NAME");
  app.add_option("--max-conns", text.max_conns,
                 "Most connections held at once; more are told 'Error: server full' "
                 "(default: the file limit minus a reserve)")->type_name("N");
  app.add_option("--idle-timeout", text.idle_timeout,
                 "Close a peer that sends nothing for SECONDS (default 0: never)")->type_name("SECONDS");
  app.add_option("--write-timeout", text.write_timeout,
                 fmt::format("Close a peer that takes none of its queued replies for SECONDS "
                             "(default {}, as gotit-blocking's --write-timeout)",
                             options.write_timeout.count()))->type_name("SECONDS");
  app.add_option("--output-high-water", text.output_high_water,
                 fmt::format("Stop reading a peer whose queued replies pass BYTES; resume "
                             "below half (default {})", options.output_high_water))->type_name("BYTES");
  app.add_option("--stats-interval", text.stats_interval,
                 "Print a line of stats every SECONDS (default 0: never; SIGUSR1 prints now)")->type_name("SECONDS");
  app.add_option("--agent-port", text.agent_port,
                 "Answer HAProxy's agent check on PORT: 'ready maxconn:N' while serving, "
                 "'drain' once a stop has begun; with --workers the master answers, maxconn "
                 "summed (default: no agent port)")->type_name("PORT");
  app.add_option("--stop-grace", text.stop_grace,
                 "On SIGTERM/SIGINT keep accepting for SECONDS while the agent says 'drain', "
                 "then stop gracefully (default 0)")->type_name("SECONDS");
  app.add_option("--workers", text.workers,
                 "Worker processes on one port (SO_REUSEPORT) under a supervising master: N, or "
                 "auto for enough to hold --max-conns in total, at least one per core (default 1: "
                 "no master)")->type_name("N|auto");
}

void finish_reactor_options(const ReactorOptionText& text, ReactorOptions& options) {
  finish_server_options(text.server, options.server);
  const auto backend = parse_backend(text.backend);
  if (!backend) {
    throw UsageError(fmt::format(
        "backend must be auto, epoll, kqueue, poll or select, got '{}'", text.backend));
  }
  options.backend = *backend;
  const auto reader = parse_reader(text.reader);
  if (!reader) {
    throw UsageError(fmt::format("reader must be bufferevent or direct, got '{}'", text.reader));
  }
  options.reader = *reader;
  if (!text.max_conns.empty()) {
    options.max_conns =
        static_cast<std::size_t>(parse_count("max-conns", text.max_conns, 1, 1 << 24));
  }
  if (!text.idle_timeout.empty()) {
    options.idle_timeout = std::chrono::seconds(parse_count("idle-timeout", text.idle_timeout, 0, kDay));
  }
  if (!text.write_timeout.empty()) {
    options.write_timeout =
        std::chrono::seconds(parse_count("write-timeout", text.write_timeout, 1, kDay));
  }
  if (!text.output_high_water.empty()) {
    options.output_high_water = static_cast<std::size_t>(
        parse_count("output-high-water", text.output_high_water, 1024, 1LL << 30));
  }
  if (!text.stats_interval.empty()) {
    options.stats_interval =
        std::chrono::seconds(parse_count("stats-interval", text.stats_interval, 0, kDay));
  }
  if (!text.agent_port.empty()) {
    options.agent_port = static_cast<std::uint16_t>(parse_count("agent-port", text.agent_port, 0, 65535));
    if (*options.agent_port != 0 && *options.agent_port == options.server.listen.port) {
      throw UsageError(fmt::format("--agent-port {} is the port clients use: give it a port of its own",
                                   *options.agent_port));
    }
  }
  if (!text.stop_grace.empty()) {
    options.stop_grace = std::chrono::seconds(parse_count("stop-grace", text.stop_grace, 0, kDay));
  }
  if (text.workers == "auto") {
    options.workers = 0;
  } else if (!text.workers.empty()) {
    constexpr long long kMaxWorkers = 1024;
    try {
      options.workers = static_cast<std::size_t>(parse_count("workers", text.workers, 1, kMaxWorkers));
    } catch (const UsageError&) {
      throw UsageError(fmt::format("workers must be 1..{} or auto, got '{}'", kMaxWorkers, text.workers));
    }
  }
}

}  // namespace gotit
