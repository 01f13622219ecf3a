// Per-tensor quantize and dequantize loops with the reference kernels' arithmetic, for the fast providers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace ortool::rt {

// clamp(round_half_even(t) + z) for t in quantization steps (x / scale; a NaN gives z), for Q = uint8_t or int8_t.
// Clamping t to [lo - z, hi - z] first (integers, so it commutes with rounding) keeps the value small enough for
// the add-and-subtract rounding of 1.5 * 2^23, which the compiler vectorizes (std::nearbyint and std::isnan stop
// it) and which rounds half to even in the default rounding mode.
template <typename Q>
inline Q quantize_steps(float t, float z) {
  constexpr float lo = std::is_same_v<Q, uint8_t> ? 0.0f : -128.0f, hi = std::is_same_v<Q, uint8_t> ? 255.0f : 127.0f;
  constexpr float magic = 12582912.0f;  // 1.5 * 2^23
  t = t == t ? t : 0.0f;  // NaN: the zero point
  t = std::min(std::max(t, lo - z), hi - z);
  return static_cast<Q>(static_cast<int32_t>(((t + magic) - magic) + z));
}

// clamp(round_half_even(x / scale) + z) as QuantizeLinear computes it.
template <typename Q>
inline Q quantize_one(float x, float scale, int32_t zero_point) {
  return quantize_steps<Q>(x / scale, static_cast<float>(zero_point));
}

template <typename Q>
void quantize_loop(const float* x, Q* y, int64_t b, int64_t e, float scale, int32_t zero_point) {
  for (int64_t i = b; i < e; ++i) y[i] = quantize_one<Q>(x[i], scale, zero_point);
}

// float(x - z) * scale, as DequantizeLinear computes it.
template <typename Q>
inline float dequantize_one(Q x, float scale, int32_t zero_point) {
  return static_cast<float>(static_cast<int32_t>(x) - zero_point) * scale;
}

template <typename Q>
void dequantize_loop(const Q* x, float* y, int64_t b, int64_t e, float scale, int32_t zero_point) {
  for (int64_t i = b; i < e; ++i) y[i] = dequantize_one(x[i], scale, zero_point);
}

}  // namespace ortool::rt
