// Branch-free float32 math over arrays for the cpu provider's kernels: exp, sigmoid, tanh, erf, sqrt,
// and the row helpers of Softmax / LogSoftmax (max, exp(x - shift) with its sum) and of the
// reductions (sum in double).
//
// With AVX2 + FMA (the -march=native build) the arrays go 8 lanes at a time through intrinsics and
// the tail through masked loads and stores, so every element gets the same computation; otherwise
// a scalar loop of the same algorithm runs. Accuracy (tests/runtime/test_vec_math.cpp checks it):
//   exp:     Cephes range reduction x = n ln2 + r, |r| <= ln2/2, and its degree-7 polynomial;
//            relative error at most 2 ulp (1.2e-7) for normal results, one denormal step below;
//            x > 88.72 gives +inf, x < -103.97 gives 0, NaN propagates.
//   sigmoid: e = exp(-|x|), 1/(1+e) for x >= 0 and e/(1+e) below, so tiny results keep their
//            relative accuracy (and reach the denormals); saturates to exactly 0 and 1.
//   tanh:    x + x^3 P(x^2) (Cephes) for |x| < 0.625, 1 - 2/(exp(2|x|)+1) with x's sign above;
//            +-1 exactly for |x| > 9.01, -0 stays -0.
//   erf:     x P(x^2) / Q(x^2), a rational approximation of degrees 13 / 8 in x (Eigen's float erf
//            coefficients) for |x| < 3.832, +-1 beyond (where erf rounds to 1 in float); absolute error at
//            most 3e-7 (5 ulp, near |x| = 3.2), relative 2.4e-7 below 0.5, denormals kept; NaN propagates,
//            -0 stays -0. std::erf in a loop took 5 ns per value (GELU's Erf dominated ConvNeXt).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ORTOOL_VEC_MATH_AVX2 1
#endif

namespace ortool::rt::cpu::vec {

namespace detail {

// exp: the argument is clamped to [kExpLo, kExpHi]; both ends are beyond float's range, so the
// clamp never changes a representable result and the final scaling over- or underflows by itself.
inline constexpr float kExpHi = 89.0f;    // exp(89) = 4.5e38 > FLT_MAX: +inf
inline constexpr float kExpLo = -104.0f;  // exp(-104) = 6.8e-46 < half the smallest denormal: 0
inline constexpr float kLog2e = 1.44269504088896341f;
// ln2 = kLn2Hi + kLn2Lo; kLn2Hi has 9 significant bits, so n * kLn2Hi is exact for |n| <= 2^15.
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
// Cephes expf: exp(r) = 1 + r + r^2 (P0 r^5 + ... + P5) on |r| <= ln2/2.
inline constexpr float kExpP0 = 1.9875691500e-4f;
inline constexpr float kExpP1 = 1.3981999507e-3f;
inline constexpr float kExpP2 = 8.3334519073e-3f;
inline constexpr float kExpP3 = 4.1665795894e-2f;
inline constexpr float kExpP4 = 1.6666665459e-1f;
inline constexpr float kExpP5 = 5.0000001201e-1f;
// Cephes tanhf on |x| < 0.625: tanh(x) = x + x z (T0 z^4 + ... + T4), z = x^2.
inline constexpr float kTanhSmall = 0.625f;
inline constexpr float kTanhT0 = -5.70498872745e-3f;
inline constexpr float kTanhT1 = 2.06390887954e-2f;
inline constexpr float kTanhT2 = -5.37397155531e-2f;
inline constexpr float kTanhT3 = 1.33314422036e-1f;
inline constexpr float kTanhT4 = -3.33332819422e-1f;

// erf(x) = x P(x^2) / Q(x^2) on |x| < kErfOne; P from kErfP0 (highest degree), Q from kErfQ0.
inline constexpr float kErfOne = 3.832f;
inline constexpr float kErfP[7] = {-2.72614225801306e-10f, 2.77068142495902e-08f, -2.10102402082508e-06f,
                                   -5.69250639462346e-05f, -7.34990630326855e-04f, -2.95459980854025e-03f,
                                   -1.60960333262415e-02f};
inline constexpr float kErfQ[5] = {-1.45660718464996e-05f, -2.13374055278905e-04f, -1.68282697438203e-03f,
                                   -7.37332916720468e-03f, -1.42647390514189e-02f};

inline float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace detail

// ---- One element (the portable algorithm; the AVX2 code below computes the same in 8 lanes) ----

inline float exp1(float x) {
  using namespace detail;
  if (std::isnan(x)) return x;
  x = x > kExpHi ? kExpHi : x;
  x = x < kExpLo ? kExpLo : x;
  const float n = std::nearbyint(x * kLog2e);
  float r = x - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = kExpP0;
  p = p * r + kExpP1;
  p = p * r + kExpP2;
  p = p * r + kExpP3;
  p = p * r + kExpP4;
  p = p * r + kExpP5;
  const float y = p * (r * r) + r + 1.0f;
  // 2^n in two factors, each a normal float for n in [-150, 128]: denormal results round once at
  // the last multiplication and results beyond FLT_MAX become +inf there.
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  return y * bits_to_float(static_cast<uint32_t>(n1 + 127) << 23) * bits_to_float(static_cast<uint32_t>(n2 + 127) << 23);
}

inline float sigmoid1(float x) {
  const float e = exp1(-std::fabs(x));
  const float r = 1.0f / (1.0f + e);
  return x >= 0.0f ? r : e * r;
}

inline float tanh1(float x) {
  using namespace detail;
  const float ax = std::fabs(x);
  if (ax < kTanhSmall) {
    const float z = ax * ax;
    float p = kTanhT0;
    p = p * z + kTanhT1;
    p = p * z + kTanhT2;
    p = p * z + kTanhT3;
    p = p * z + kTanhT4;
    return std::copysign((p * z) * ax + ax, x);  // -0 stays -0
  }
  const float y = 1.0f - 2.0f / (exp1(2.0f * ax) + 1.0f);
  return std::copysign(y, x);  // NaN stays NaN
}

inline float erf1(float x) {
  using namespace detail;
  if (std::isnan(x)) return x;
  if (std::fabs(x) >= kErfOne) return std::copysign(1.0f, x);
  const float z = x * x;
  float p = kErfP[0], q = kErfQ[0];
  for (int i = 1; i < 7; ++i) p = p * z + kErfP[i];
  for (int i = 1; i < 5; ++i) q = q * z + kErfQ[i];
  const float y = x * (p / q);  // not (x * p) / q: a denormal x would lose its digits in x * p
  return y > 1.0f ? 1.0f : y < -1.0f ? -1.0f : y;  // just below kErfOne the quotient can pass 1 by an ulp
}

#ifdef ORTOOL_VEC_MATH_AVX2

// ---- 8 lanes ----

inline __m256 exp8(__m256 x) {
  using namespace detail;
  // MINPS/MAXPS return their second operand when either is NaN: NaN lanes keep x.
  x = _mm256_min_ps(_mm256_set1_ps(kExpHi), x);
  x = _mm256_max_ps(_mm256_set1_ps(kExpLo), x);
  // n = round(x log2e) by adding 1.5 * 2^23 (one FMA): the sum's low mantissa bits hold n.
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(kLog2e), magic);
  const __m256 n = _mm256_sub_ps(t, magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kExpP0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP5));
  const __m256 y = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // NaN lanes give garbage scale factors, but y is NaN, so the result is.
  const __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(magic));
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}

inline __m256 abs8(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

inline __m256 sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp8(_mm256_or_ps(x, _mm256_set1_ps(-0.0f)));  // exp(-|x|)
  const __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, e));
  const __m256 nonneg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);  // false for NaN: e * r is NaN
  return _mm256_blendv_ps(_mm256_mul_ps(e, r), r, nonneg);
}

inline __m256 tanh8(__m256 x) {
  using namespace detail;
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 ax = abs8(x);
  // Both branches on |x|, then x's sign (so -0 stays -0).
  // Small |x|: the odd polynomial.
  const __m256 z = _mm256_mul_ps(ax, ax);
  __m256 p = _mm256_set1_ps(kTanhT0);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kTanhT1));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kTanhT2));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kTanhT3));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kTanhT4));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax);
  // Large |x|: 1 - 2/(e^(2|x|) + 1) (NaN lanes give NaN here and take this branch).
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp8(_mm256_add_ps(ax, ax));
  const __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  const __m256 is_small = _mm256_cmp_ps(ax, _mm256_set1_ps(kTanhSmall), _CMP_LT_OQ);
  return _mm256_or_ps(_mm256_blendv_ps(big, small, is_small), _mm256_and_ps(x, sign));
}

inline __m256 erf8(__m256 x) {
  using namespace detail;
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(kErfP[0]), q = _mm256_set1_ps(kErfQ[0]);
  for (int i = 1; i < 7; ++i) p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kErfP[i]));
  for (int i = 1; i < 5; ++i) q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(kErfQ[i]));
  __m256 y = _mm256_mul_ps(x, _mm256_div_ps(p, q));  // NaN lanes: NaN
  // Within [-1, 1] (just below kErfOne the quotient can pass 1 by an ulp); NaN lanes stay NaN (second operands).
  y = _mm256_min_ps(_mm256_set1_ps(1.0f), _mm256_max_ps(_mm256_set1_ps(-1.0f), y));
  // |x| >= kErfOne (infinities too, whose z makes p / q NaN): 1 with x's sign; false for NaN lanes.
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(x, sign));
  const __m256 big = _mm256_cmp_ps(abs8(x), _mm256_set1_ps(kErfOne), _CMP_GE_OQ);
  return _mm256_blendv_ps(y, one, big);
}

namespace detail {

// Lanes [0, rem) set, for masked loads and stores of a tail of rem < 8 elements.
inline __m256i tail_mask(int64_t rem) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(rem)), iota);
}

template <typename F8>
inline void map8(const float* x, float* y, int64_t n, F8 f) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = f(_mm256_loadu_ps(x + i));
    const __m256 b = f(_mm256_loadu_ps(x + i + 8));
    _mm256_storeu_ps(y + i, a);
    _mm256_storeu_ps(y + i + 8, b);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(y + i, m, f(_mm256_maskload_ps(x + i, m)));
  }
}

inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

inline double hsum4d(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

}  // namespace detail

#endif  // ORTOOL_VEC_MATH_AVX2

// ---- Arrays: y[i] = f(x[i]) for i in [0, n); y may be x (in place) but must not overlap it otherwise ----

inline void exp_f32(const float* x, float* y, int64_t n) {
#ifdef ORTOOL_VEC_MATH_AVX2
  detail::map8(x, y, n, [](__m256 v) { return exp8(v); });
#else
  for (int64_t i = 0; i < n; ++i) y[i] = exp1(x[i]);
#endif
}

inline void sigmoid_f32(const float* x, float* y, int64_t n) {
#ifdef ORTOOL_VEC_MATH_AVX2
  detail::map8(x, y, n, [](__m256 v) { return sigmoid8(v); });
#else
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid1(x[i]);
#endif
}

inline void tanh_f32(const float* x, float* y, int64_t n) {
#ifdef ORTOOL_VEC_MATH_AVX2
  detail::map8(x, y, n, [](__m256 v) { return tanh8(v); });
#else
  for (int64_t i = 0; i < n; ++i) y[i] = tanh1(x[i]);
#endif
}

inline void erf_f32(const float* x, float* y, int64_t n) {
#ifdef ORTOOL_VEC_MATH_AVX2
  detail::map8(x, y, n, [](__m256 v) { return erf8(v); });
#else
  for (int64_t i = 0; i < n; ++i) y[i] = erf1(x[i]);
#endif
}

// IEEE square root (vectorized; std::sqrt in a loop is not, as it may set errno).
inline void sqrt_f32(const float* x, float* y, int64_t n) {
#ifdef ORTOOL_VEC_MATH_AVX2
  detail::map8(x, y, n, [](__m256 v) { return _mm256_sqrt_ps(v); });
#else
  for (int64_t i = 0; i < n; ++i) y[i] = std::sqrt(x[i]);
#endif
}

// x * sigmoid(x) (SiLU / Swish).
inline void silu_f32(const float* x, float* y, int64_t n) {
#ifdef ORTOOL_VEC_MATH_AVX2
  detail::map8(x, y, n, [](__m256 v) { return _mm256_mul_ps(v, sigmoid8(v)); });
#else
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * sigmoid1(x[i]);
#endif
}

// ---- Softmax rows ----

// The largest element of x[0, n), n >= 1. NaN elements may or may not be returned; callers pass
// the result to exp_shift_sum_f32, where any NaN element makes the sum NaN either way.
inline float max_f32(const float* x, int64_t n) {
  int64_t i = 0;
  float m = x[0];
#ifdef ORTOOL_VEC_MATH_AVX2
  if (n >= 8) {
    __m256 a = _mm256_loadu_ps(x), b = a;
    for (i = 8; i + 16 <= n; i += 16) {
      a = _mm256_max_ps(a, _mm256_loadu_ps(x + i));
      b = _mm256_max_ps(b, _mm256_loadu_ps(x + i + 8));
    }
    for (; i + 8 <= n; i += 8) a = _mm256_max_ps(a, _mm256_loadu_ps(x + i));
    m = detail::hmax8(_mm256_max_ps(a, b));
  }
#endif
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// y[i] = exp(x[i] - shift) (when y is not null) and returns the sum of those values, accumulated
// in double.
inline double exp_shift_sum_f32(const float* x, float* y, int64_t n, float shift) {
#ifdef ORTOOL_VEC_MATH_AVX2
  const __m256 s = _mm256_set1_ps(shift);
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  auto add = [&](__m256 e) {
    acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    if (y) _mm256_storeu_ps(y + i, e);
    add(e);
  }
  if (i < n) {
    const __m256i m = detail::tail_mask(n - i);
    const __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), s)), _mm256_castsi256_ps(m));
    if (y) _mm256_maskstore_ps(y + i, m, e);
    add(e);
  }
  return detail::hsum4d(_mm256_add_pd(acc0, acc1));
#else
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = exp1(x[i] - shift);
    if (y) y[i] = e;
    sum += e;
  }
  return sum;
#endif
}

// The sum of x[0, n) accumulated in double (four partial sums, so the order differs from a plain
// loop's; the result is as accurate as a double sum).
inline double sum_f32(const float* x, int64_t n) {
  int64_t i = 0;
  double sum = 0;
#ifdef ORTOOL_VEC_MATH_AVX2
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
  for (; i + 16 <= n; i += 16) {
    const __m256 u = _mm256_loadu_ps(x + i), v = _mm256_loadu_ps(x + i + 8);
    a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(u)));
    a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(u, 1)));
    a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  sum = detail::hsum4d(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
#else
  double s1 = 0, s2 = 0, s3 = 0;
  for (; i + 4 <= n; i += 4) {
    sum += x[i];
    s1 += x[i + 1];
    s2 += x[i + 2];
    s3 += x[i + 3];
  }
  sum = (sum + s1) + (s2 + s3);
#endif
  for (; i < n; ++i) sum += x[i];
  return sum;
}

// y[i] *= scale.
inline void scale_f32(float* y, int64_t n, float scale) {
  for (int64_t i = 0; i < n; ++i) y[i] *= scale;
}

}  // namespace ortool::rt::cpu::vec
