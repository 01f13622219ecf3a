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
  return static_cast<int32_t>(std::clamp(std::nearbyint(v), f.lo, f.hi));  // NaN scales are refused earlier
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

}  // namespace ortool::rt::cpu::qlinear
