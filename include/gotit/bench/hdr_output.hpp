// The latency spectrum in HdrHistogram's text percentile format (.hgrm),
// which HdrHistogram's plotter and wrk2-style tools read:
//
//        Value     Percentile TotalCount 1/(1-Percentile)
//
//      123.456 0.000000000000          1           1.00
//      ...                                  (5 rows per halving of 1-p)
//      987.654 1.000000000000       5000
//   #[Mean    =      130.000, StdDeviation   =       12.000]
//   #[Max     =      987.654, Total count    =         5000]
//   #[Buckets =           58, SubBuckets     =          128]
//
// Values in microseconds (HdrHistogram's own output unit is whatever was
// recorded; ours is ns, scaled by 1000). A row's value is what
// LatencyHistogram::percentile reports for that bucket.
#pragma once

#include <string>

#include "gotit/bench/latency_histogram.hpp"

namespace gotit {

std::string format_hgrm(const LatencyHistogram& histogram);

}  // namespace gotit
