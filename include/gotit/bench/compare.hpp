// gotit-bench compare: for each server (gotit's models, then installed
// peers) and each scenario of the matrix idle x conns x depth, start a
// fresh server, run the bench against it, stop it by PID, and finally write
// the results folder. A scenario a model should not be given (10,000
// processes...) is skipped and the reason printed; a scenario a model
// cannot serve (the iterative server behind an idle client) is run, and
// its timeouts reported as such.
#pragma once

#include "gotit/bench/options.hpp"

namespace gotit {

// Returns the exit code: 0 when the folder was written, 1 when no
// scenario could run at all.
int run_compare(const CompareOptions& options, const std::string& command_line);

}  // namespace gotit
