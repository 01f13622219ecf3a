// The arithmetic of a quantized Add (com.microsoft QLinearAdd, and a "DQ, DQ -> Add -> Q" group run as
// one), written the way ONNX Runtime's x86 kernels compute it so both runtimes give the same bytes.
//
// The reference semantics, q = sat(round((sa (a - za) + sb (b - zb)) / sc) + zc), and ONNX Runtime's
// MLAS form, q = sat(round(a ra + (b rb + k))) with ra = sa / sc, rb = sb / sc, k = zc - (ra za + rb zb)
// and fused multiply-adds, differ by one step on a few elements (ties land differently). One step is
// within the quantization error either way, but a network that amplifies its own quantization noise
// (a text detector 13 dB from float) turns such steps into visible output differences: using the
// same form is what makes ortool agree with the runtime people deploy on.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "lib/tensor.h"

namespace ortool::rt::cpu::qlinear {

struct AddForm {
  float ra = 1.0f, rb = 1.0f, k = 0.0f;
  float lo = 0.0f, hi = 255.0f;  // the output type's range
};

inline AddForm add_form(float sa, int32_t za, float sb, int32_t zb, float sc, int32_t zc, bool u8) {
  AddForm f;
  f.ra = sa / sc;
  f.rb = sb / sc;
  f.k = static_cast<float>(zc) - std::fma(f.rb, static_cast<float>(zb), f.ra * static_cast<float>(za));
  f.lo = u8 ? 0.0f : -128.0f;
  f.hi = u8 ? 255.0f : 127.0f;
  return f;
}

// One output value from the two stored 8-bit values (zero points are inside the form).
inline int32_t add_round(const AddForm& f, float v) {
  v = v == v ? v : 0.0f;  // only absurd scale ratios (0 * inf) give NaN; no undefined conversion then
  return static_cast<int32_t>(std::clamp(std::nearbyint(v), f.lo, f.hi));
}
inline int32_t add_value(const AddForm& f, int32_t a, int32_t b) {
  return add_round(f, std::fma(static_cast<float>(a), f.ra, std::fma(static_cast<float>(b), f.rb, f.k)));
}

// Where one side is the same over a run of outputs (a scalar, or a per-channel value broadcast over a
// row), ONNX Runtime folds it into the constant once, with a separate multiply and add: k + v r.
// The product goes through double (exact there, then rounded once) so no compiler can fuse it.
inline float add_fold(const AddForm& f, float r, int32_t v) {
  const auto p = static_cast<float>(static_cast<double>(v) * static_cast<double>(r));
  return f.k + p;
}
inline int32_t add_value_folded(const AddForm& f, float r_other, int32_t other, float folded) {
  return add_round(f, std::fma(static_cast<float>(other), r_other, folded));
}

// The stored 8-bit value behind a DequantizeLinear output x = (q - z) * s, as a float: x / s lands
// within 2^-14 of the integer q - z for 8-bit values, so multiplying by 1 / s and rounding gives it
// exactly. Rounding adds and subtracts 1.5 * 2^23 (half to even, and the compiler vectorizes it).
struct Dequantized {
  float inv_scale = 1.0f;
  float zero_point = 0.0f;
  Dequantized(float scale, int32_t zp) : inv_scale(1.0f / scale), zero_point(static_cast<float>(zp)) {}
  float stored(float x) const {
    constexpr float magic = 12582912.0f;
    return ((x * inv_scale + magic) - magic) + zero_point;
  }
};

// round(v) clamped to the output range, as a float (v finite). Rounding first keeps the loop
// vectorizable (GCC 12 does not vectorize it when the clamp comes first); a |v| beyond 2^22, where the
// trick no longer rounds to integers, lies far outside the range and clamps the same.
inline float add_round_f(const AddForm& f, float v) {
  constexpr float magic = 12582912.0f;
  float r = (v + magic) - magic;
  r = r == r ? r : 0.0f;  // as in add_round (here, after the rounding, the loop still vectorizes)
  return std::min(std::max(r, f.lo), f.hi);
}

// Readers of an operand's stored values by element index, as floats: the 8-bit tensor itself, or the
// float output of its DequantizeLinear. Loops are templates over them, so each combination vectorizes.
template <typename Q>
struct StoredReader {
  const Q* p;
  float operator()(int64_t i) const { return static_cast<float>(p[i]); }
};
struct DequantizedReader {
  const float* p;
  Dequantized dq;
  float operator()(int64_t i) const { return dq.stored(p[i]); }
};

// out[i] = a(i) + b(i), i in [begin, end). The readers and the form are copied in: the 8-bit output
// may alias anything, so through references the compiler would reload them for every element and not
// vectorize.
template <typename RA, typename RB, typename T>
void add_loop(const RA& a_in, const RB& b_in, T* out, int64_t begin, int64_t end, const AddForm& f_in) {
  const RA a = a_in;
  const RB b = b_in;
  const AddForm f = f_in;
  for (int64_t i = begin; i < end; ++i)
    out[i] = static_cast<T>(static_cast<int32_t>(add_round_f(f, std::fma(a(i), f.ra, std::fma(b(i), f.rb, f.k)))));
}

// out[i] = x(i) + the other side, which is the same for every i and was folded into `k` (add_fold);
// `r` is x's ratio.
template <typename R, typename T>
void add_folded_loop(const R& x_in, float r, float k, T* out, int64_t begin, int64_t end, const AddForm& f_in) {
  const R x = x_in;
  const AddForm f = f_in;
  for (int64_t i = begin; i < end; ++i)
    out[i] = static_cast<T>(static_cast<int32_t>(add_round_f(f, std::fma(x(i), r, k))));
}

// out[begin + j] = x(begin + j) + the other side's channel j, folded into k[j] (add_fold), for j < n: one NHWC
// pixel's channels against a per-channel operand.
template <typename R, typename T>
void add_channels_loop(const R& x_in, float r, const float* k, T* out, int64_t begin, int64_t n, const AddForm& f_in) {
  const R x = x_in;
  const AddForm f = f_in;
  for (int64_t j = 0; j < n; ++j)
    out[begin + j] = static_cast<T>(static_cast<int32_t>(add_round_f(f, std::fma(x(begin + j), r, k[j]))));
}

// A reader of another whose index is shifted by `off`: a broadcast row's operand read at out index i.
template <typename R>
struct Shifted {
  R r;
  int64_t off;
  float operator()(int64_t i) const { return r(i + off); }
};

// Calls fn(reader) with the reader for `t`: 8-bit stored values, or DequantizeLinear output (`dq`).
template <typename Fn>
void with_reader(const Tensor& t, const Dequantized& dq, Fn&& fn) {
  switch (t.dtype()) {
    case DType::UInt8: fn(StoredReader<uint8_t>{t.data<uint8_t>()}); break;
    case DType::Int8: fn(StoredReader<int8_t>{t.data<int8_t>()}); break;
    default: fn(DequantizedReader{t.data<float>(), dq}); break;
  }
}

}  // namespace ortool::rt::cpu::qlinear
