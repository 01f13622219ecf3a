// Latency statistics of repeated runs (bench): percentiles, and whether the runs agree well enough to trust.
#pragma once

#include <cstddef>
#include <vector>

namespace ortool {

// Runs are "too spread to trust" when the p90 is more than this many times the median: a quiet
// machine gives p90/median near 1.0-1.2; another process competing for the cores, frequency
// scaling or a cold cache push the tail far above the median.
constexpr double kMaxTrustedSpread = 1.5;

struct LatencyStats {
  size_t runs = 0;
  double min = 0, median = 0, p90 = 0, p99 = 0, mean = 0, max = 0;  // milliseconds
  double spread = 1;        // p90 / median (1 when there is nothing to compare)
  bool too_spread = false;  // spread > kMaxTrustedSpread
};

// Nearest-rank percentile (p in [0, 100]) of sorted samples: p90 of 50 runs is the 45th fastest.
double percentile(const std::vector<double>& sorted, double p);

// Statistics of run times in milliseconds (any order); all zero for no runs.
LatencyStats latency_stats(std::vector<double> ms);

// Run times in `bins` equal bins from the fastest to the slowest run (bin k starts at
// starts[k]; the slowest run falls in the last bin). One bin when every run took the same time; empty for no runs.
struct LatencyHistogram {
  std::vector<double> starts;  // ms
  double width = 0;            // ms
  std::vector<size_t> counts;
};
LatencyHistogram latency_histogram(const std::vector<double>& ms, size_t bins);

}  // namespace ortool
