// Percentiles and the spread rule for bench's run times.
#include "lib/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ortool {

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

LatencyStats latency_stats(std::vector<double> ms) {
  LatencyStats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  s.runs = ms.size();
  s.min = ms.front();
  s.max = ms.back();
  s.median = percentile(ms, 50);
  s.p90 = percentile(ms, 90);
  s.p99 = percentile(ms, 99);
  s.mean = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  s.spread = s.median > 0 ? s.p90 / s.median : 1.0;
  s.too_spread = s.spread > kMaxTrustedSpread;
  return s;
}

}  // namespace ortool
