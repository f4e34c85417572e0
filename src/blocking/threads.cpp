// --model threads: a thread per connection. The accepting thread only
// accepts; each connection thread blocks in its own poll/read/write.
// Threads are tracked, not detached, so that a stop can wait for every
// connection to finish its replies before the process exits.
#include <sys/socket.h>

#include <condition_variable>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>

#include "models.hpp"
#include "gotit/common/log.hpp"

namespace gotit::blocking {
namespace {

// The connection threads. Owns each connection's socket, so that a stop can
// shutdown() the sockets of stragglers safely. Used by the accepting thread;
// each connection thread touches only its own entry, under the mutex.
class ConnectionThreads {
 public:
  ConnectionThreads() = default;
  // Only reached with threads left when the accept loop failed: no grace.
  ~ConnectionThreads() { finish_all(std::chrono::seconds(0)); }
  ConnectionThreads(const ConnectionThreads&) = delete;
  ConnectionThreads& operator=(const ConnectionThreads&) = delete;

  void start(AcceptedClient connection, const ModelContext& context);
  // Joins the threads whose connection has ended (keeps the list short).
  void join_finished();
  // Waits up to `grace` for every connection to end, cuts off the rest with
  // shutdown() (a blocked read or write then returns), joins them all.
  void finish_all(std::chrono::milliseconds grace);

 private:
  struct Entry {
    AcceptedClient connection;
    std::thread thread;
    bool done = false;  // the session returned and the socket is closed
  };
  void session(Entry& entry, const ModelContext& context);

  std::mutex mutex_;
  std::condition_variable ended_;
  std::list<Entry> entries_;  // a list: entries never move while their thread runs
  std::size_t running_ = 0;
};

void ConnectionThreads::start(AcceptedClient connection, const ModelContext& context) {
  std::lock_guard lock(mutex_);
  Entry& entry = entries_.emplace_back(Entry{std::move(connection), {}, false});
  try {
    // The new thread inherits this mask: signals go to the accepting thread.
    BlockStopSignals blocked;
    entry.thread = std::thread([this, &entry, &context] { session(entry, context); });
    ++running_;
  } catch (const std::system_error& error) {  // out of threads: lose this client only
    log::error("cannot start a connection thread: {}", error.what());
    entries_.pop_back();
  }
}

void ConnectionThreads::session(Entry& entry, const ModelContext& context) {
  serve_client(entry.connection, context.reply, context.limits, context.stop.fd(),
               context.counters);
  std::lock_guard lock(mutex_);
  entry.connection.fd.reset();  // the client sees the close now, not at the next join
  entry.done = true;
  --running_;
  ended_.notify_all();
}

void ConnectionThreads::join_finished() {
  std::list<Entry> finished;
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto next = std::next(it);
      if (it->done) finished.splice(finished.end(), entries_, it);
      it = next;
    }
  }
  for (Entry& entry : finished) entry.thread.join();  // outside the lock: the thread may still be unlocking
}

void ConnectionThreads::finish_all(std::chrono::milliseconds grace) {
  {
    std::unique_lock lock(mutex_);
    if (!ended_.wait_for(lock, grace, [this] { return running_ == 0; }) && grace.count() > 0) {
      log::error("stopping: cutting off {} connections still busy after {:g} s", running_, std::chrono::duration<double>(grace).count());
    }
    if (running_ > 0) {
      for (Entry& entry : entries_) {
        if (!entry.done) ::shutdown(entry.connection.fd.get(), SHUT_RDWR);
      }
    }
  }
  for (Entry& entry : entries_) entry.thread.join();
  entries_.clear();
}

}  // namespace

void run_threads(ModelContext& context) {
  ConnectionThreads threads;
  for (;;) {
    if (wait_for_client(context.listener.get(), context.stop.fd()) == Wake::stop) break;
    std::optional<AcceptedClient> connection = accept_client(context.listener.get(), context.stop.fd());
    if (connection) threads.start(std::move(*connection), context);
    threads.join_finished();
  }
  accept_queued(context.listener.get(), context.stop.fd(),
                [&](AcceptedClient connection) { threads.start(std::move(connection), context); });
  context.listener.reset();  // stop accepting
  threads.finish_all(context.limits.shutdown_timeout + kStopBackstop);
}

}  // namespace gotit::blocking
