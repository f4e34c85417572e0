#include "gotit/blocking/server.hpp"

#include <fmt/format.h>

#include "models.hpp"

namespace gotit {

std::optional<BlockingModel> parse_blocking_model(std::string_view text) {
  if (text == "iterative") return BlockingModel::iterative;
  if (text == "threads") return BlockingModel::threads;
  if (text == "fork") return BlockingModel::fork;
  return std::nullopt;
}

std::string_view to_string(BlockingModel model) {
  switch (model) {
    case BlockingModel::iterative: return "iterative";
    case BlockingModel::threads: return "threads";
    case BlockingModel::fork: return "fork";
  }
  return "?";
}

std::string format_summary(const ServerTotals& totals) {
  return fmt::format("stopped: {} connections, {} messages, {} bytes in, {} bytes out, "
                     "{} reaped by keepalive, {} drained, {} cut", totals.connections,
                     totals.messages, totals.bytes_in, totals.bytes_out, totals.reaped,
                     totals.drained, totals.cut);
}

struct BlockingServer::State {
  BlockingOptions options;
  UniqueFd listener;
  blocking::StopSignal stop;
  blocking::Counters counters;
};

namespace {

UniqueFd listen_for(const BlockingOptions& options) {
  ListenOptions listen = options.server.listen;
  // Non-blocking only for accept(): poll() says a client is waiting, but it
  // may leave before accept() runs, which must then not block the loop.
  listen.nonblocking = true;
  return listen_tcp(listen);
}

}  // namespace

BlockingServer::BlockingServer(const BlockingOptions& options)
    : state_(new State{options, listen_for(options), {}, {}}) {}

BlockingServer::~BlockingServer() = default;

int BlockingServer::listening_fd() const { return state_->listener.get(); }

ServerTotals BlockingServer::run() {
  const blocking::SessionLimits limits{state_->options.write_timeout,
                                       state_->options.server.shutdown_timeout,
                                       state_->options.server.trace};
  blocking::ModelContext context{state_->listener, state_->options.server.reply, limits,
                                 state_->stop, state_->counters};
  switch (state_->options.model) {
    case BlockingModel::iterative: blocking::run_iterative(context); break;
    case BlockingModel::threads: blocking::run_threads(context); break;
    case BlockingModel::fork: blocking::run_fork(context); break;
  }
  return state_->counters.snapshot();
}

}  // namespace gotit
