#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <random>
#include <sstream>
#include <vector>

#include "catch.hpp"
#include "gotit/bench/hdr_output.hpp"
#include "gotit/bench/latency_histogram.hpp"

using gotit::LatencyHistogram;

namespace {

// The nearest-rank percentile of a sorted sample, the definition the
// histogram approximates.
std::uint64_t reference(const std::vector<std::uint64_t>& sorted, double p) {
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void check_against_reference(std::vector<std::uint64_t> values) {
  LatencyHistogram histogram;
  for (const auto v : values) histogram.record(v);
  std::sort(values.begin(), values.end());
  for (const double p : {0.0, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const double expected = static_cast<double>(reference(values, p));
    const double got = static_cast<double>(histogram.percentile(p));
    INFO("p" << p << ": expected " << expected << ", got " << got);
    CHECK(std::abs(got - expected) <= expected * LatencyHistogram::kMaxRelativeError);
  }
  CHECK(histogram.count() == values.size());
  CHECK(histogram.min() == values.front());
  CHECK(histogram.max() == values.back());
}

}  // namespace

TEST_CASE("percentiles agree with a sorted reference within the stated error") {
  std::mt19937_64 random(42);
  SECTION("log-normal latencies around 50 us") {
    std::lognormal_distribution<double> latency(std::log(50000.0), 1.0);
    std::vector<std::uint64_t> values;
    for (int i = 0; i < 100000; ++i) values.push_back(static_cast<std::uint64_t>(latency(random)));
    check_against_reference(values);
  }
  SECTION("uniform over nine decades") {
    std::uniform_real_distribution<double> exponent(0.0, 9.0);
    std::vector<std::uint64_t> values;
    for (int i = 0; i < 50000; ++i) values.push_back(static_cast<std::uint64_t>(std::pow(10.0, exponent(random))));
    check_against_reference(values);
  }
  SECTION("small values are exact") {
    std::vector<std::uint64_t> values;
    for (std::uint64_t v = 0; v < 128; ++v) values.push_back(v);
    LatencyHistogram histogram;
    for (const auto v : values) histogram.record(v);
    for (const double p : {1.0, 50.0, 100.0}) CHECK(histogram.percentile(p) == reference(values, p));
  }
}

TEST_CASE("an empty histogram answers zeros") {
  const LatencyHistogram histogram;
  CHECK(histogram.count() == 0);
  CHECK(histogram.min() == 0);
  CHECK(histogram.max() == 0);
  CHECK(histogram.mean() == 0.0);
  CHECK(histogram.percentile(50) == 0);
  CHECK(histogram.percentile(100) == 0);
}

TEST_CASE("one sample is every percentile, exactly") {
  LatencyHistogram histogram;
  histogram.record(123456789);
  for (const double p : {0.0, 50.0, 99.9, 100.0}) CHECK(histogram.percentile(p) == 123456789);
  CHECK(histogram.mean() == 123456789.0);
}

TEST_CASE("huge values do not overflow") {
  LatencyHistogram histogram;
  histogram.record(UINT64_MAX);
  histogram.record(UINT64_MAX - 1);
  histogram.record(std::uint64_t{1} << 63);
  CHECK(histogram.max() == UINT64_MAX);
  CHECK(histogram.percentile(100) == UINT64_MAX);
  const double low = static_cast<double>(std::uint64_t{1} << 63);
  CHECK(std::abs(static_cast<double>(histogram.percentile(1)) - low) <= low * 0.01);
}

TEST_CASE("percentiles outside 0..100 are clamped") {
  LatencyHistogram histogram;
  for (std::uint64_t v = 1; v <= 1000; ++v) histogram.record(v * 1000);
  CHECK(histogram.percentile(-5) == histogram.percentile(0));
  CHECK(histogram.percentile(250) == histogram.max());
}

TEST_CASE("merge is the same as recording everything in one") {
  LatencyHistogram a, b, all;
  for (std::uint64_t v = 1; v <= 5000; ++v) {
    (v % 3 ? a : b).record(v * 997);
    all.record(v * 997);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.min() == all.min());
  CHECK(a.max() == all.max());
  CHECK(a.mean() == Approx(all.mean()));
  for (const double p : {10.0, 50.0, 99.0}) CHECK(a.percentile(p) == all.percentile(p));
  LatencyHistogram empty;
  a.merge(empty);
  CHECK(a.count() == all.count());
  CHECK(a.min() == all.min());
}

TEST_CASE("--hdr-out's .hgrm parses back to the same percentiles") {
  gotit::LatencyHistogram h;
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> latency(11.0, 0.8);  // around 60 us, a long tail
  for (int i = 0; i < 20000; ++i) h.record(static_cast<std::uint64_t>(latency(random)));
  const std::string text = gotit::format_hgrm(h);
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  CHECK(line == "       Value     Percentile TotalCount 1/(1-Percentile)");
  int rows = 0;
  double last_percentile = -1;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    double value_us = 0, percentile = 0;
    std::uint64_t total = 0;
    REQUIRE(fields >> value_us >> percentile >> total);
    ++rows;
    CHECK(percentile > last_percentile);
    last_percentile = percentile;
    const double expected_us = static_cast<double>(h.percentile(percentile * 100)) / 1000.0;
    INFO(line);
    CHECK(value_us == Approx(expected_us).epsilon(gotit::LatencyHistogram::kMaxRelativeError));
    CHECK(total >= static_cast<std::uint64_t>(percentile * 20000 - 1e-6));
  }
  CHECK(rows > 50);
  CHECK(last_percentile == 1.0);
  CHECK(text.find(fmt::format("#[Max     = {:12.3f}, Total count    =        20000]", h.max() / 1000.0)) !=
        std::string::npos);
  CHECK(text.find("#[Mean    = ") != std::string::npos);
}
