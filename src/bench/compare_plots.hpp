// The plots half of `compare`'s results folder; compare_output.cpp writes
// the tables and calls this.
#pragma once

#include <string>
#include <vector>

#include "gotit/bench/compare_output.hpp"

namespace gotit {

// Writes plot-data/*.dat and plots.gp into `dir`, then runs gnuplot on them
// when it is installed. Returns what to tell the user.
std::vector<std::string> write_compare_plots(const std::string& dir, const CompareReport& report);

}  // namespace gotit
