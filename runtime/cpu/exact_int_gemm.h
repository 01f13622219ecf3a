// Integer products (MatMulInteger, ConvInteger, QLinearConv/MatMul) computed with float GEMMs, exactly: every
// product and partial sum of a chunk of K is an integer of magnitude at most chunk * max|a| * max|b|; kept at
// or below 2^24, float represents each exactly whatever the summation order, and chunks are summed as integers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace ortool::rt::cpu {

// The longest K-chunk that stays exact for operands of magnitudes up to `max_a` and `max_b` (all of K
// when either is 0: the products are all 0).
inline int64_t exact_float_chunk(double max_a, double max_b, int64_t k) {
  const double largest = max_a * max_b;
  if (!(largest > 0)) return std::max<int64_t>(k, 1);
  return std::max<int64_t>(1, static_cast<int64_t>(std::floor(16777216.0 / largest)));
}

}  // namespace ortool::rt::cpu
