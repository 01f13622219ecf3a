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

LatencyHistogram latency_histogram(const std::vector<double>& ms, size_t bins) {
  LatencyHistogram h;
  if (ms.empty() || bins == 0) return h;
  auto [lo, hi] = std::minmax_element(ms.begin(), ms.end());
  if (*hi <= *lo) bins = 1;
  h.width = bins > 1 ? (*hi - *lo) / static_cast<double>(bins) : 0;
  h.counts.assign(bins, 0);
  for (size_t k = 0; k < bins; ++k) h.starts.push_back(*lo + h.width * static_cast<double>(k));
  for (double t : ms) {
    size_t k = h.width > 0 ? static_cast<size_t>((t - *lo) / h.width) : 0;
    ++h.counts[std::min(k, bins - 1)];
  }
  return h;
}

}  // namespace ortool
