#include "gotit/bench/hdr_output.hpp"

#include <cmath>
#include <fmt/format.h>

namespace gotit {

namespace {

constexpr double kNsPerUs = 1000.0;
constexpr int kTicksPerHalfDistance = 5;  // HdrHistogram's default

// HdrHistogram's PercentileIterator: after level L the next is
// L + 100 / (ticks * 2^(floor(log2(100 / (100 - L))) + 1)), so rows crowd
// towards 100% (five per halving of what is left).
double next_level(double level) {
  const double halvings = std::floor(std::log2(100.0 / (100.0 - level)));
  return level + 100.0 / (kTicksPerHalfDistance * std::pow(2.0, halvings + 1));
}

std::string row(std::uint64_t value_ns, double level, std::uint64_t total) {
  const double fraction = level / 100.0;
  if (level >= 100.0) return fmt::format("{:12.3f} {:2.12f} {:10d}\n", value_ns / kNsPerUs, fraction, total);
  return fmt::format("{:12.3f} {:2.12f} {:10d} {:14.2f}\n", value_ns / kNsPerUs, fraction, total,
                     1.0 / (1.0 - fraction));
}

}  // namespace

std::string format_hgrm(const LatencyHistogram& h) {
  std::string out = fmt::format("{:>12} {:>14} {:>10} {:>14}\n\n", "Value", "Percentile", "TotalCount",
                                "1/(1-Percentile)");
  const double total = static_cast<double>(h.count());
  double level = 0.0;
  std::uint64_t seen = 0;
  h.for_each_bucket([&](std::uint64_t value, std::uint64_t count) {
    seen += count;
    // One row per level this bucket reaches; the last bucket gives one row
    // and then the 100% row follows, as HdrHistogram writes them.
    while (level < 100.0 && 100.0 * static_cast<double>(seen) / total >= level) {
      out += row(value, level, seen);
      level = next_level(level);
      if (seen == h.count()) break;
    }
  });
  if (h.count() > 0) out += row(h.max(), 100.0, h.count());
  out += fmt::format("#[Mean    = {:12.3f}, StdDeviation   = {:12.3f}]\n", h.mean() / kNsPerUs,
                     h.stddev() / kNsPerUs);
  out += fmt::format("#[Max     = {:12.3f}, Total count    = {:12d}]\n", h.max() / kNsPerUs, h.count());
  out += fmt::format("#[Buckets = {:12d}, SubBuckets     = {:12d}]\n", LatencyHistogram::kPowersOfTwo,
                     LatencyHistogram::kSubBucketsPerPower);
  return out;
}

}  // namespace gotit
