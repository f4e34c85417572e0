// What the driver needs from whatever holds the idle connections: an
// IdlePool in this process, or an IdleFleet of helper processes when the
// pool is larger than one process's file limit allows.
#pragma once

#include <memory>

namespace gotit {

struct BenchContext;

// Loop thread only.
class IdleHolder {
 public:
  virtual ~IdleHolder() = default;
  // Starts opening; the loop does the rest.
  virtual void start() = 0;
  // Every connect has succeeded or failed.
  virtual bool done() const = 0;
  virtual int target() const = 0;
  virtual int opened() const = 0;
  virtual int failed() const = 0;
  virtual int held() const = 0;
};

// An IdlePool when `target` fits this process's file limit beside the
// active connections, an IdleFleet otherwise. Checks first that the machine
// has the memory for the pool (throws BenchError with the numbers).
std::unique_ptr<IdleHolder> make_idle_holder(BenchContext& context, int target);

}  // namespace gotit
