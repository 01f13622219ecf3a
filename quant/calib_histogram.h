// Fixed-bin histogram of one tensor's values over many samples: memory set at construction, never grown.
//
// Layout: two halves split at 0, `bins` bins each, over [0, limit] for x >= 0 and [-limit, 0) for x < 0.
// Positive bin i counts x in [i*w, (i+1)*w), negative bin i counts x in (-(i+1)*w, -i*w], w = limit/bins;
// a value equal to +-limit counts in the last bin of its half. Zero is always a bin edge, so the
// magnitude histogram |x| (TensorRT's calibration histogram) is the two halves added bin by bin, and
// the positive half alone is the histogram of an unsigned (post-Relu) tensor.
//
// Growing range: the first values set limit = max|x|. When a later sample goes past it, the limit
// doubles (as often as needed) and each half merges its bins in pairs: bin i of the new histogram is
// exactly bins 2i and 2i+1 of the old one, so no count moves to a wrong bin and memory stays the same.
// The price is resolution: after a doubling the data may fill only half of the bins (1024 of 2048 by
// default). ONNX Runtime's HistogramCollector instead adds bins at the old width, which keeps the
// resolution but lets memory grow without bound when one sample carries a huge value. Where full
// resolution matters, calibrate() offers two passes: min/max first, then histograms whose limit is set
// up front (cover()) so that no doubling happens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ortool::quant {

class Histogram {
 public:
  // `bins` per sign, rounded up to an even number of at least 2 (pairs merge when the range doubles).
  explicit Histogram(int bins = 2048);

  // Widens the range (by doubling, see above) until it covers [-limit, limit]. No-op when it already does.
  void cover(double limit);
  // Counts the finite values of `values` (NaN and Inf are skipped: the collector counts them), widening
  // the range first when `max_abs` (the largest finite |x| among them) is past the limit.
  void add(std::span<const float> values, double max_abs);

  int bins() const { return bins_; }
  double limit() const { return limit_; }
  double bin_width() const { return limit_ / bins_; }
  uint64_t total() const { return total_; }
  // Times the range doubled since construction (for reports and tests).
  int doublings() const { return doublings_; }

  std::span<const uint64_t> positive() const { return {counts_.data(), static_cast<size_t>(bins_)}; }
  std::span<const uint64_t> negative() const { return {counts_.data() + bins_, static_cast<size_t>(bins_)}; }
  // |x| histogram: positive()[i] + negative()[i], bin i over [i*w, (i+1)*w).
  std::vector<double> magnitudes() const;
  // The whole real line from -limit to limit, 2*bins bins: index j covers [-limit + j*w, -limit + (j+1)*w).
  std::vector<double> signed_bins() const;

  // Heap bytes held (fixed at construction).
  size_t bytes() const { return counts_.capacity() * sizeof(uint64_t); }

 private:
  void double_range();

  int bins_;
  double limit_ = 0;
  uint64_t total_ = 0;
  int doublings_ = 0;
  // Positive half, then negative half: one array so that binning picks the half without a branch.
  std::vector<uint64_t> counts_;
};

}  // namespace ortool::quant
