// Inference BatchNormalization as y = x * a + b per parameter: the reference kernel's coefficients, shared
// with the dnnl provider's standalone BatchNormalization step so both compute the same values.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "lib/tensor.h"

namespace ortool::rt::cpu {

// a = scale / sqrt(var + epsilon) and b = bias - mean * a, computed in double and rounded to float once.
inline void batch_norm_affine(const std::vector<double>& scale, const std::vector<double>& bias,
                              const std::vector<double>& mean, const std::vector<double>& var, float epsilon,
                              std::vector<float>& a, std::vector<float>& b) {
  a.resize(scale.size());
  b.resize(scale.size());
  for (size_t p = 0; p < a.size(); ++p) {
    const double k = scale[p] / std::sqrt(var[p] + static_cast<double>(epsilon));
    a[p] = static_cast<float>(k);
    b[p] = static_cast<float>(bias[p] - mean[p] * k);
  }
}

// The same from the node's constant inputs (any numeric type).
inline void batch_norm_affine(const Tensor& scale, const Tensor& bias, const Tensor& mean, const Tensor& var,
                              float epsilon, std::vector<float>& a, std::vector<float>& b) {
  auto values = [](const Tensor& t) {
    std::vector<double> v(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.get_double(i);
    return v;
  };
  batch_norm_affine(values(scale), values(bias), values(mean), values(var), epsilon, a, b);
}

}  // namespace ortool::rt::cpu
