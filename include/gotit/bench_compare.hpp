#pragma once
#include "gotit/bench_options.hpp"
namespace gotit {
int run_compare(const CompareOptions& options, const char* argv0);
}
