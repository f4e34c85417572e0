// A latency histogram with bounded relative error, small enough to copy and
// cheap enough to record into on every reply (no allocation after
// construction, no floating point on the record path).
//
// Values are nanoseconds in 64 bits. Below 128 every value has its own
// bucket; above, each power of two [2^e, 2^(e+1)) is cut into 128 equal
// sub-buckets, so a bucket is never wider than 1/128 of its lower bound.
// A percentile reports the middle of its bucket: at most 1/256 (0.4%) away
// from the true sample, and we promise <= 1% in the tests.
//
//   value:   0 1 2 ... 127 | 128 129 ... 255 | 256 258 ... 510 | 512 516 ...
//   bucket:  one per value | width 1         | width 2         | width 4 ...
//
// Not thread-safe: one histogram per thread, merge() afterwards.
#pragma once

#include <array>
#include <cstdint>

namespace gotit {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;  // 128 sub-buckets per power of two
  static constexpr double kMaxRelativeError = 0.01;  // what we promise (0.4% actual)

  void record(std::uint64_t value_ns);
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  // min/max are exact; 0 when empty.
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  // The value below which p percent of samples lie (p in [0, 100]), within
  // kMaxRelativeError of the sample at that rank; 0 when empty.
  std::uint64_t percentile(double p) const;
  // Of the samples themselves (not of the buckets); 0 when empty.
  double stddev() const;

  // Calls visit(value, count) for each non-empty bucket, lowest first;
  // value is what percentile() reports for it (its middle, kept within
  // [min, max]). For spectrum outputs such as HdrHistogram's .hgrm.
  template <typename Visit>
  void for_each_bucket(Visit visit) const {
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] == 0) continue;
      const std::uint64_t middle = middle_of(static_cast<int>(i));
      visit(middle < min_ ? min_ : middle > max_ ? max_ : middle, counts_[i]);
    }
  }
  static constexpr int kPowersOfTwo = 64 - kSubBucketBits + 1;  // the exact range counts as one
  static constexpr int kSubBucketsPerPower = 1 << kSubBucketBits;

 private:
  static constexpr int kSubBuckets = 1 << kSubBucketBits;
  // 128 exact buckets, then 128 per power of two from 2^7 to 2^63.
  static constexpr int kBuckets = kSubBuckets + (64 - kSubBucketBits) * kSubBuckets;

  static int bucket_of(std::uint64_t value);
  static std::uint64_t middle_of(int bucket);

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  double sum_ = 0.0;  // for the mean; double is exact enough for an average
  double sum_squares_ = 0.0;  // for the standard deviation
};

}  // namespace gotit
