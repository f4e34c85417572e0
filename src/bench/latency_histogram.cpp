#include "gotit/bench/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace gotit {

int LatencyHistogram::bucket_of(std::uint64_t value) {
  if (value < kSubBuckets) return static_cast<int>(value);
  const int exponent = 63 - std::countl_zero(value);  // >= kSubBucketBits
  const int shift = exponent - kSubBucketBits;
  // The top kSubBucketBits+1 bits of the value, minus its leading 1.
  const int sub = static_cast<int>(value >> shift) - kSubBuckets;
  return kSubBuckets + shift * kSubBuckets + sub;
}

std::uint64_t LatencyHistogram::middle_of(int bucket) {
  if (bucket < kSubBuckets) return static_cast<std::uint64_t>(bucket);
  const int shift = (bucket - kSubBuckets) / kSubBuckets;
  const int sub = (bucket - kSubBuckets) % kSubBuckets;
  const std::uint64_t low = static_cast<std::uint64_t>(kSubBuckets + sub) << shift;
  const std::uint64_t width = std::uint64_t{1} << shift;
  return low + (width - 1) / 2;  // never overflows: low + width - 1 <= UINT64_MAX
}

void LatencyHistogram::record(std::uint64_t value_ns) {
  ++counts_[static_cast<std::size_t>(bucket_of(value_ns))];
  ++count_;
  min_ = std::min(min_, value_ns);
  max_ = std::max(max_, value_ns);
  sum_ += static_cast<double>(value_ns);
  sum_squares_ += static_cast<double>(value_ns) * static_cast<double>(value_ns);
}

double LatencyHistogram::stddev() const {
  if (count_ == 0) return 0.0;
  const double n = static_cast<double>(count_);
  const double mean = sum_ / n;
  return std::sqrt(std::max(0.0, sum_squares_ / n - mean * mean));
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  sum_squares_ += other.sum_squares_;
}

std::uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The rank of the sample we want, 1-based: the nearest-rank definition.
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  if (rank == 1) return min_;  // the extremes are known exactly
  if (rank == count_) return max_;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // The bucket's middle, but never outside what was actually recorded.
      return std::clamp(middle_of(static_cast<int>(i)), min_, max_);
    }
  }
  return max_;
}

}  // namespace gotit
