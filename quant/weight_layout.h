// Which output and input channel each element of a Conv, Gemm or MatMul weight belongs to (equalization
// scales channels, bias correction sums the rounding error of an output channel against its inputs).
#pragma once

#include <cstdint>
#include <optional>

#include "lib/graph.h"
#include "lib/op_id.h"
#include "lib/tensor.h"

namespace ortool::quant {

struct WeightLayout {
  // Conv: [O, I / group, k...]; OutIn: [N, K] (Gemm transB); InOut: [K, N] (Gemm, MatMul).
  enum class Kind { Conv, OutIn, InOut } kind = Kind::Conv;
  int64_t group = 1;
};

// The layout of `w` as the weight (input 1) of `n`: Conv of rank >= 3 whose group divides the output
// channels, Gemm or MatMul of rank 2; unset otherwise.
inline std::optional<WeightLayout> weight_layout(const ir::Node& n, const Tensor& w) {
  WeightLayout l;
  if (ir::is_op(n, "Conv")) {
    l.group = n.attr_int("group", 1);
    if (w.rank() < 3 || l.group < 1 || w.dims()[0] % l.group != 0) return std::nullopt;
    return l;
  }
  if (!ir::is_op_any(n, {"Gemm", "MatMul"}) || w.rank() != 2) return std::nullopt;
  l.kind = ir::is_op(n, "Gemm") && n.attr_int("transB", 0) != 0 ? WeightLayout::Kind::OutIn : WeightLayout::Kind::InOut;
  return l;
}

inline int64_t out_channels(const Tensor& w, const WeightLayout& l) {
  return w.dims()[l.kind == WeightLayout::Kind::InOut ? 1 : 0];
}
inline int64_t in_channels(const Tensor& w, const WeightLayout& l) {
  switch (l.kind) {
    case WeightLayout::Kind::Conv: return w.dims()[1] * l.group;
    case WeightLayout::Kind::OutIn: return w.dims()[1];
    case WeightLayout::Kind::InOut: return w.dims()[0];
  }
  return 0;
}

// Calls f(flat index, output channel, input channel) for every element of `w`, in memory order.
template <typename F>
void for_each_weight(const Tensor& w, const WeightLayout& l, F&& f) {
  const int64_t d0 = w.dims()[0], d1 = w.dims()[1];
  if (l.kind == WeightLayout::Kind::Conv) {
    const int64_t k = w.numel() / (d0 * d1), per_group = d0 / l.group;
    int64_t idx = 0;
    for (int64_t o = 0; o < d0; ++o)
      for (int64_t il = 0; il < d1; ++il) {
        const int64_t in = (o / per_group) * d1 + il;
        for (int64_t j = 0; j < k; ++j) f(idx++, o, in);
      }
    return;
  }
  const bool out_first = l.kind == WeightLayout::Kind::OutIn;
  for (int64_t a = 0; a < d0; ++a)
    for (int64_t b = 0; b < d1; ++b) f(a * d1 + b, out_first ? a : b, out_first ? b : a);
}

}  // namespace ortool::quant
