// Inference BatchNormalization as y = x * a + b per parameter: the reference kernel's coefficients, shared
// with the dnnl provider's standalone BatchNormalization step so both compute the same values.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

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

}  // namespace ortool::rt::cpu
