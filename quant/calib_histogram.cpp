// Fixed-bin sign-split histogram with exact range doubling (see calib_histogram.h).
#include "quant/calib_histogram.h"

#include <algorithm>
#include <cmath>

namespace ortool::quant {

Histogram::Histogram(int bins) : bins_(std::max(2, bins + (bins & 1))), pos_(bins_, 0), neg_(bins_, 0) {}

void Histogram::double_range() {
  // New bin i = old bins 2i and 2i+1 (both halves alike); the upper half of the bins empties.
  for (std::vector<uint64_t>* half : {&pos_, &neg_}) {
    std::vector<uint64_t>& h = *half;
    for (int i = 0; i < bins_ / 2; ++i) h[i] = h[2 * i] + h[2 * i + 1];
    std::fill(h.begin() + bins_ / 2, h.end(), 0);
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
    pos_[0] += n;
    total_ += n;
    return;
  }
  const double inv = bins_ / limit_;
  const size_t last = static_cast<size_t>(bins_ - 1);
  uint64_t n = 0;
  for (float x : values) {
    if (!std::isfinite(x)) continue;
    double scaled = static_cast<double>(x) * inv;
    if (scaled >= 0) {
      ++pos_[std::min(last, static_cast<size_t>(scaled))];
    } else {
      ++neg_[std::min(last, static_cast<size_t>(-scaled))];
    }
    ++n;
  }
  total_ += n;
}

std::vector<double> Histogram::magnitudes() const {
  std::vector<double> m(bins_);
  for (int i = 0; i < bins_; ++i) m[i] = static_cast<double>(pos_[i]) + static_cast<double>(neg_[i]);
  return m;
}

std::vector<double> Histogram::signed_bins() const {
  std::vector<double> s(2 * static_cast<size_t>(bins_));
  for (int i = 0; i < bins_; ++i) {
    s[bins_ - 1 - i] = static_cast<double>(neg_[i]);
    s[bins_ + i] = static_cast<double>(pos_[i]);
  }
  return s;
}

}  // namespace ortool::quant
