// Arithmetic on constant weights for the fusions: per-channel vectors and scaled copies.
#include "passes/weight_math.h"

#include <cmath>

#include "passes/pass_util.h"

namespace ortool::passes {

std::optional<std::vector<double>> float_values(const Tensor& t) {
  if (t.dtype() != DType::Float) return std::nullopt;
  const float* p = t.data<float>();
  if (!p && t.numel() > 0) return std::nullopt;
  return std::vector<double>(p, p + t.numel());
}

Tensor float_tensor(std::vector<int64_t> dims, const std::vector<double>& values) {
  Tensor t(DType::Float, std::move(dims));
  float* p = t.mutable_data<float>();
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < t.numel(); ++i) p[i] = static_cast<float>(values[i]);
  return t;
}

std::optional<std::vector<double>> per_channel_values(const Tensor& c, int64_t out_rank, int64_t axis,
                                                      int64_t channels) {
  if (c.dtype() != DType::Float || static_cast<int64_t>(c.rank()) > out_rank || channels <= 0) return std::nullopt;
  int64_t offset = out_rank - static_cast<int64_t>(c.rank());
  for (size_t i = 0; i < c.rank(); ++i) {
    int64_t d = c.dims()[i];
    bool channel_axis = offset + static_cast<int64_t>(i) == axis;
    if (d != 1 && !(channel_axis && d == channels)) return std::nullopt;
  }
  auto v = float_values(c);
  if (!v) return std::nullopt;
  if (v->size() == 1) return std::vector<double>(static_cast<size_t>(channels), (*v)[0]);
  if (static_cast<int64_t>(v->size()) != channels) return std::nullopt;
  return v;
}

std::optional<Tensor> scale_along_axis(const Tensor& w, int64_t axis, const std::vector<double>& s) {
  if (w.dtype() != DType::Float || axis < 0 || axis >= static_cast<int64_t>(w.rank())) return std::nullopt;
  if (w.dims()[static_cast<size_t>(axis)] != static_cast<int64_t>(s.size())) return std::nullopt;
  if (w.numel() == 0) return w;  // nothing to scale; its other dims may multiply past int64
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= w.dims()[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < w.rank(); ++i) inner *= w.dims()[i];
  Tensor out(DType::Float, w.dims());
  const float* src = w.data<float>();
  float* dst = out.mutable_data<float>();
  int64_t n = static_cast<int64_t>(s.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < n; ++c) {
      float k = static_cast<float>(s[static_cast<size_t>(c)]);
      int64_t base = (o * n + c) * inner;
      for (int64_t i = 0; i < inner; ++i) dst[base + i] = src[base + i] * k;
    }
  return out;
}

std::optional<BnAffine> inference_bn_affine(const ir::Node& bn, int64_t channels) {
  if (!is_op(&bn, "BatchNormalization") || bn.num_inputs() != 5 || bn.attr_int("training_mode", 0) != 0 ||
      bn.attr_int("spatial", 1) != 1)
    return std::nullopt;
  for (size_t i = 1; i < bn.num_outputs(); ++i)
    if (const ir::Value* o = bn.output(i); o && (o->has_uses() || o->is_graph_output())) return std::nullopt;
  std::vector<std::vector<double>> p;
  for (size_t i = 1; i < 5; ++i) {
    const Tensor* t = constant_tensor(bn.input(i));
    if (!t || t->rank() != 1 || t->dims()[0] != channels) return std::nullopt;
    auto v = float_values(*t);
    if (!v) return std::nullopt;
    p.push_back(std::move(*v));
  }
  double eps = bn.attr_float("epsilon", 1e-5f);
  BnAffine a;
  for (size_t c = 0; c < static_cast<size_t>(channels); ++c) {
    double s = p[0][c] / std::sqrt(p[3][c] + eps);
    if (!std::isfinite(s)) return std::nullopt;
    a.scale.push_back(s);
    a.shift.push_back(p[1][c] - p[2][c] * s);
  }
  return a;
}

}  // namespace ortool::passes
