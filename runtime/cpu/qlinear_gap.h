// The requantization of a quantized global average (com.microsoft QLinearGlobalAveragePool, and the
// "DQ -> GlobalAveragePool -> Q" step ONNX Runtime fuses into one) as ONNX Runtime's x86 kernel computes it:
// the int32 sum of the stored values minus zx * N, times sx / (sy * N) in float, clamped to the output
// range less zy, rounded half to even, plus zy. Averaging in float first, then quantizing, lands on the
// other side of a tie where the mean is a half step (a 2x2 plane of equal scales), a one-step difference.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace ortool::rt::cpu::qlinear {

struct GapForm {
  float scale = 1.0f;   // sx / (sy * N)
  int64_t bias = 0;     // -zx * N
  float lo = 0.0f, hi = 255.0f;  // the output range less zy
  int32_t zy = 0;
};

inline GapForm gap_form(float sx, int32_t zx, float sy, int32_t zy, int64_t n, bool u8) {
  GapForm f;
  f.scale = sx / (sy * static_cast<float>(n));
  f.bias = -static_cast<int64_t>(zx) * n;
  f.lo = (u8 ? 0.0f : -128.0f) - static_cast<float>(zy);
  f.hi = (u8 ? 255.0f : 127.0f) - static_cast<float>(zy);
  f.zy = zy;
  return f;
}

// The output value from the sum of N stored 8-bit values.
inline int32_t gap_value(const GapForm& f, int64_t sum) {
  float v = static_cast<float>(sum + f.bias) * f.scale;
  v = v == v ? std::min(std::max(v, f.lo), f.hi) : 0.0f;  // NaN only from absurd scales (0 * inf)
  return static_cast<int32_t>(std::nearbyint(v)) + f.zy;
}

}  // namespace ortool::rt::cpu::qlinear
