// Float8 conversions from the formats' parameters (exponent and mantissa bits, bias, how NaN and
// infinity are coded), so the four types share one rounding routine.
#include "lib/float8.h"

#include <cmath>
#include <limits>

namespace ortool {

namespace {

struct Format {
  int man_bits;
  int bias;
  bool fnuz;       // 0x80 is the only NaN; no -0, no infinity
  bool has_inf;    // float8e5m2: exponent all ones, mantissa 0
  uint8_t max_code;
};

Format format_of(DType t) {
  switch (t) {
    case DType::Float8E4M3FN: return {3, 7, false, false, 0x7E};
    case DType::Float8E4M3FNUZ: return {3, 8, true, false, 0x7F};
    case DType::Float8E5M2: return {2, 15, false, true, 0x7B};
    default: return {2, 16, true, false, 0x7F};  // Float8E5M2FNUZ
  }
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

float decode(uint8_t code, const Format& f) {
  const bool neg = (code & 0x80) != 0;
  const int exp_bits = 7 - f.man_bits;
  const int exp_max = (1 << exp_bits) - 1;
  const int e = (code >> f.man_bits) & exp_max;
  const int m = code & ((1 << f.man_bits) - 1);
  if (f.fnuz && code == 0x80) return kNaN;
  if (!f.fnuz && e == exp_max) {
    if (f.has_inf) {
      if (m == 0) return neg ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
      return kNaN;
    }
    if (m == (1 << f.man_bits) - 1) return kNaN;  // e4m3fn: S.1111.111
  }
  float v = e == 0 ? std::ldexp(static_cast<float>(m), 1 - f.bias - f.man_bits)
                   : std::ldexp(1.0f + static_cast<float>(m) / static_cast<float>(1 << f.man_bits), e - f.bias);
  return neg ? -v : v;
}

}  // namespace

float float8_to_float(uint8_t code, DType t) { return decode(code, format_of(t)); }

uint8_t float_to_float8(float x, DType t, bool saturate) {
  const Format f = format_of(t);
  const uint8_t nan_code = f.fnuz ? 0x80 : 0x7F;
  if (std::isnan(x)) return nan_code;
  const uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
  const uint8_t inf_code = f.has_inf ? static_cast<uint8_t>(sign | 0x7C) : nan_code;
  const uint8_t overflow = saturate ? static_cast<uint8_t>(sign | f.max_code) : (f.has_inf ? inf_code : nan_code);
  const double a = std::fabs(static_cast<double>(x));
  if (std::isinf(a)) return overflow;
  const uint8_t zero = f.fnuz ? 0x00 : sign;
  if (a == 0) return zero;
  // Round |x| to a multiple of its exponent's quantum (subnormals share the smallest exponent's).
  const int min_exp = 1 - f.bias;
  int e = std::ilogb(a);
  if (e < min_exp) e = min_exp;
  const double quantum = std::ldexp(1.0, e - f.man_bits);
  const double v = std::nearbyint(a / quantum) * quantum;  // ties to even: the default rounding mode
  if (v == 0) return zero;
  const double max = decode(f.max_code, f);
  if (v > max) return overflow;
  int ve = std::ilogb(v);
  uint8_t code;
  if (ve < min_exp) {
    code = static_cast<uint8_t>(v / std::ldexp(1.0, min_exp - f.man_bits));
  } else {
    const int mant = static_cast<int>((v / std::ldexp(1.0, ve) - 1.0) * (1 << f.man_bits));
    code = static_cast<uint8_t>(((ve + f.bias) << f.man_bits) | mant);
  }
  return static_cast<uint8_t>(sign | code);
}

}  // namespace ortool
