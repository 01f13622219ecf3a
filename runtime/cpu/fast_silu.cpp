// SiLU in place: exp(-x) as Cephes' polynomial scaled by 2^n (vscalefps), 1 / (1 + e) as rcp14 and one Newton
// step (relative error about 2^-27), times x. oneDNN 2.6's fused swish post-op (exp and a division per
// vector) cost 0.3 ns an element on a Zen 5, as much as the convolutions it follows in EfficientNet.
#include "runtime/cpu/fast_silu.h"

#include <algorithm>

#include "runtime/cpu/vec_math.h"
#include "runtime/thread_pool.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ORTOOL_SILU_AVX512 1
#endif

namespace ortool::rt::cpu {

namespace {

namespace d = vec::detail;

// From x = -88 down SiLU is below 6e-37 in magnitude; there 0 * x (-0, or NaN for -inf as Sigmoid then Mul
// give it), so that exp(-x) stays finite and 1 + e has a reciprocal.
constexpr float kSiluZeroBelow = -88.0f;

#if defined(ORTOOL_SILU_AVX512)
// GCC 12's AVX-512 headers pass _mm512_undefined_ps() through masked forms and then warn about it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// The build keeps GCC 12 to AVX2 (CMakeLists.txt: its AVX-512 auto-vectorization was wrong); these intrinsics
// are compiled for AVX-512 alone and called only where the CPU has it.
#define ORTOOL_AVX512_FN __attribute__((target("avx512f")))
ORTOOL_AVX512_FN inline __m512 silu16(__m512 x) {
  // -x clamped to [-88, 88] (MIN/MAX return the second operand on NaN: NaN lanes keep it).
  __m512 t = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_sub_ps(_mm512_setzero_ps(), x));
  t = _mm512_max_ps(_mm512_set1_ps(-88.0f), t);
  const __m512 n =
      _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(d::kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(d::kLn2Hi), t);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(d::kLn2Lo), r);
  __m512 p = _mm512_set1_ps(d::kExpP0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(d::kExpP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(d::kExpP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(d::kExpP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(d::kExpP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(d::kExpP5));
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = _mm512_scalef_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, one)), n);
  const __m512 den = _mm512_add_ps(one, e);
  __m512 inv = _mm512_rcp14_ps(den);
  inv = _mm512_mul_ps(inv, _mm512_fnmadd_ps(den, inv, _mm512_set1_ps(2.0f)));
  const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kSiluZeroBelow), _CMP_LE_OQ);
  return _mm512_mask_mul_ps(_mm512_mul_ps(x, inv), tiny, x, _mm512_setzero_ps());
}

ORTOOL_AVX512_FN void silu_range_avx512(float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 a = silu16(_mm512_loadu_ps(y + i)), b = silu16(_mm512_loadu_ps(y + i + 16));
    _mm512_storeu_ps(y + i, a);
    _mm512_storeu_ps(y + i + 16, b);
  }
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, silu16(_mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, silu16(_mm512_maskz_loadu_ps(m, y + i)));
  }
}
#pragma GCC diagnostic pop
#endif

const bool kWide = [] {
#if defined(ORTOOL_SILU_AVX512)
  return __builtin_cpu_supports("avx512f") != 0;
#else
  return false;
#endif
}();

void silu_range(float* y, int64_t n) {
#if defined(ORTOOL_SILU_AVX512)
  if (kWide) return silu_range_avx512(y, n);
#endif
  vec::silu_f32(y, y, n);  // without AVX-512: the cpu kernels' SiLU (8 lanes with AVX2)
}

}  // namespace

bool silu_in_place_wide() { return kWide; }

void silu_in_place(float* y, int64_t n, ThreadPool* pool) {
  constexpr int64_t kChunk = 16384;
  if (pool && pool->size() > 1 && n >= 4 * kChunk) {
    pool->parallel_for(static_cast<size_t>((n + kChunk - 1) / kChunk), [&](size_t b, size_t e) {
      const int64_t lo = static_cast<int64_t>(b) * kChunk, hi = std::min(n, static_cast<int64_t>(e) * kChunk);
      silu_range(y + lo, hi - lo);
    });
    return;
  }
  silu_range(y, n);
}

}  // namespace ortool::rt::cpu
