// Fixed-bin sign-split histogram with exact range doubling (see calib_histogram.h).
#include "quant/calib_histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ortool::quant {

Histogram::Histogram(int bins) : bins_(std::max(2, bins + (bins & 1))), counts_(2 * static_cast<size_t>(bins_), 0) {}

void Histogram::double_range() {
  // New bin i = old bins 2i and 2i+1 (both halves alike); the upper half of the bins empties.
  for (uint64_t* h : {counts_.data(), counts_.data() + bins_}) {
    for (int i = 0; i < bins_ / 2; ++i) h[i] = h[2 * i] + h[2 * i + 1];
    std::fill(h + bins_ / 2, h + bins_, 0);
  }
  limit_ *= 2;
  ++doublings_;
}

void Histogram::cover(double limit) {
  if (!(limit > limit_) || !std::isfinite(limit)) return;
  if (limit_ == 0) {
    // Everything counted so far was exactly 0, which stays in positive bin 0 at any width.
    limit_ = limit;
    return;
  }
  while (limit_ < limit) double_range();
}

void Histogram::add(std::span<const float> values, double max_abs) {
  cover(max_abs);
  if (limit_ == 0) {
    // Only zeros so far (and in this batch).
    uint64_t n = 0;
    for (float x : values) n += x == 0.0f;
    counts_[0] += n;
    total_ += n;
    return;
  }
  const size_t slots = counts_.size();  // 2 * bins; index `slots` collects NaN and Inf
  // Two steps per block: bin indices first (a loop the compiler vectorizes), then the increments,
  // alternating between two scratch arrays so that runs of one bin (a Relu's zeros) do not wait on
  // each other's stores. Merged into counts_ at the end: 2 x 2 x bins additions per call.
  thread_local std::vector<uint64_t> scratch;
  scratch.assign(2 * (slots + 1), 0);
  uint64_t* even = scratch.data();
  uint64_t* odd = scratch.data() + slots + 1;
  // Float arithmetic: a value within a float rounding of a bin edge may land in the neighbouring
  // bin, which no range method can tell from noise. Double where bins/limit is past float's range.
  const double inv_d = bins_ / limit_;
  const bool use_float = inv_d < 1e30;
  const float inv = static_cast<float>(use_float ? inv_d : 1.0);
  const float bins_f = static_cast<float>(bins_);
  const int32_t last = bins_ - 1, half = bins_, trash = static_cast<int32_t>(slots);
  constexpr size_t kBlock = 1024;
  int32_t idx[kBlock];
  for (size_t i = 0; i < values.size(); i += kBlock) {
    const size_t m = std::min(kBlock, values.size() - i);
    const float* p = values.data() + i;
    if (use_float) {
      for (size_t k = 0; k < m; ++k) {
        const float x = p[k];
        const float a = std::fabs(x) * inv;  // NaN for NaN, inf for Inf
        const int32_t bin = a < bins_f ? static_cast<int32_t>(a) : last;
        idx[k] = std::fabs(x) <= std::numeric_limits<float>::max() ? (x < 0 ? half : 0) + bin : trash;
      }
    } else {
      for (size_t k = 0; k < m; ++k) {
        const double x = p[k];
        const double a = std::fabs(x) * inv_d;
        const int32_t bin = a < bins_ ? static_cast<int32_t>(a) : last;
        idx[k] = std::isfinite(x) ? (x < 0 ? half : 0) + bin : trash;
      }
    }
    size_t k = 0;
    for (; k + 2 <= m; k += 2) {
      ++even[idx[k]];
      ++odd[idx[k + 1]];
    }
    if (k < m) ++even[idx[k]];
  }
  uint64_t n = 0;
  for (size_t j = 0; j < slots; ++j) {
    const uint64_t c = even[j] + odd[j];
    counts_[j] += c;
    n += c;
  }
  total_ += n;
}

std::vector<double> Histogram::magnitudes() const {
  std::vector<double> m(bins_);
  for (int i = 0; i < bins_; ++i) m[i] = static_cast<double>(counts_[i]) + static_cast<double>(counts_[bins_ + i]);
  return m;
}

std::vector<double> Histogram::signed_bins() const {
  std::vector<double> s(2 * static_cast<size_t>(bins_));
  for (int i = 0; i < bins_; ++i) {
    s[bins_ - 1 - i] = static_cast<double>(counts_[bins_ + i]);
    s[bins_ + i] = static_cast<double>(counts_[i]);
  }
  return s;
}

}  // namespace ortool::quant
