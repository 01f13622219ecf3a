// The grouped convolution of 4-channel groups over NHWC (conv_groups4_nhwc.h): AVX2 with FMA where the CPU has
// them, else a scalar loop with the same sums in the same order.
#include "runtime/cpu/conv_groups4_nhwc.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/thread_pool.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ORTOOL_G4_AVX2 1
#endif

namespace ortool::rt::cpu {
namespace {

constexpr int64_t kLanes = 8;  // outputs per vector: two groups

// As vmaxps(lo, v) then vminps(hi, v): a NaN sum stays NaN.
inline float clip(float v, float lo, float hi) {
  v = v != v ? v : std::max(lo, v);
  return v != v ? v : std::min(hi, v);
}

// Per output pixel: the taps' input pixels (null: padding).
inline void tap_pixels(const float* image, int64_t h, int64_t w, int64_t m, const conv_family::Window& win, int64_t oy,
                       int64_t ox, const float** px) {
  const int64_t kw = win.kernel[1], taps = win.kernel[0] * kw;
  const int64_t y0 = oy * win.stride[0] - win.pad_begin[0], x0 = ox * win.stride[1] - win.pad_begin[1];
  for (int64_t t = 0; t < taps; ++t) {
    const int64_t iy = y0 + (t / kw) * win.dilation[0], ix = x0 + (t % kw) * win.dilation[1];
    px[t] = iy >= 0 && iy < h && ix >= 0 && ix < w ? image + (iy * w + ix) * m : nullptr;
  }
}

void rows_scalar(const float* image, int64_t h, int64_t w, int64_t m, const std::vector<float>& packed, const float* bias,
                 const conv_family::Window& win, float lo, float hi, int64_t r0, int64_t r1, float* out) {
  const int64_t taps = win.kernel[0] * win.kernel[1], ow = win.out[1], blocks = (m + kLanes - 1) / kLanes;
  std::vector<const float*> px(static_cast<size_t>(taps));
  for (int64_t oy = r0; oy < r1; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      tap_pixels(image, h, w, m, win, oy, ox, px.data());
      float* y = out + (oy * ow + ox) * m;
      for (int64_t b = 0; b < blocks; ++b)
        for (int64_t l = 0; l < kLanes && b * kLanes + l < m; ++l) {
          const int64_t o = b * kLanes + l;
          float acc = bias ? bias[o] : 0.0f;
          for (int64_t t = 0; t < taps; ++t) {
            if (!px[static_cast<size_t>(t)]) continue;
            const float* wt = packed.data() + ((b * taps + t) * 4) * kLanes;
            for (int64_t j = 0; j < 4; ++j) acc = std::fma(px[static_cast<size_t>(t)][o / 4 * 4 + j], wt[j * kLanes + l], acc);
          }
          y[o] = clip(acc, lo, hi);
        }
    }
}

#ifdef ORTOOL_G4_AVX2
__attribute__((target("avx2,fma"))) void rows_avx2(const float* image, int64_t h, int64_t w, int64_t m,
                                                   const std::vector<float>& packed, const float* bias,
                                                   const conv_family::Window& win, float lo, float hi, int64_t r0,
                                                   int64_t r1, float* out) {
  const int64_t taps = win.kernel[0] * win.kernel[1], ow = win.out[1], whole = m / kLanes;
  const bool half = m % kLanes != 0;  // a last block of one group: 4-wide
  std::vector<const float*> px(static_cast<size_t>(taps));
  const __m256 lo8 = _mm256_set1_ps(lo), hi8 = _mm256_set1_ps(hi);
  for (int64_t oy = r0; oy < r1; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      tap_pixels(image, h, w, m, win, oy, ox, px.data());
      float* y = out + (oy * ow + ox) * m;
      for (int64_t b = 0; b < whole; ++b) {
        __m256 acc = bias ? _mm256_loadu_ps(bias + b * kLanes) : _mm256_setzero_ps();
        const float* wt = packed.data() + b * taps * 4 * kLanes;
        for (int64_t t = 0; t < taps; ++t, wt += 4 * kLanes) {
          const float* p = px[static_cast<size_t>(t)];
          if (!p) continue;
          const __m256 x = _mm256_loadu_ps(p + b * kLanes);
          acc = _mm256_fmadd_ps(_mm256_permute_ps(x, 0x00), _mm256_loadu_ps(wt), acc);
          acc = _mm256_fmadd_ps(_mm256_permute_ps(x, 0x55), _mm256_loadu_ps(wt + kLanes), acc);
          acc = _mm256_fmadd_ps(_mm256_permute_ps(x, 0xAA), _mm256_loadu_ps(wt + 2 * kLanes), acc);
          acc = _mm256_fmadd_ps(_mm256_permute_ps(x, 0xFF), _mm256_loadu_ps(wt + 3 * kLanes), acc);
        }
        _mm256_storeu_ps(y + b * kLanes, _mm256_min_ps(hi8, _mm256_max_ps(lo8, acc)));
      }
      if (!half) continue;
      __m128 acc = bias ? _mm_loadu_ps(bias + whole * kLanes) : _mm_setzero_ps();
      const float* wt = packed.data() + whole * taps * 4 * kLanes;
      for (int64_t t = 0; t < taps; ++t, wt += 4 * kLanes) {
        const float* p = px[static_cast<size_t>(t)];
        if (!p) continue;
        const __m128 x = _mm_loadu_ps(p + whole * kLanes);
        acc = _mm_fmadd_ps(_mm_permute_ps(x, 0x00), _mm_loadu_ps(wt), acc);
        acc = _mm_fmadd_ps(_mm_permute_ps(x, 0x55), _mm_loadu_ps(wt + kLanes), acc);
        acc = _mm_fmadd_ps(_mm_permute_ps(x, 0xAA), _mm_loadu_ps(wt + 2 * kLanes), acc);
        acc = _mm_fmadd_ps(_mm_permute_ps(x, 0xFF), _mm_loadu_ps(wt + 3 * kLanes), acc);
      }
      _mm_storeu_ps(y + whole * kLanes, _mm_min_ps(_mm_set1_ps(hi), _mm_max_ps(_mm_set1_ps(lo), acc)));
    }
}

bool avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

}  // namespace

bool conv_groups4_fast() {
#ifdef ORTOOL_G4_AVX2
  return avx2();
#else
  return false;
#endif
}

std::vector<float> pack_groups4(const float* w, int64_t m, int64_t kh, int64_t kw) {
  const int64_t taps = kh * kw, blocks = (m + kLanes - 1) / kLanes;
  std::vector<float> packed(static_cast<size_t>(blocks * taps * 4 * kLanes), 0.0f);
  for (int64_t o = 0; o < m; ++o)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t t = 0; t < taps; ++t)
        packed[static_cast<size_t>((((o / kLanes) * taps + t) * 4 + j) * kLanes + o % kLanes)] = w[(o * 4 + j) * taps + t];
  return packed;
}

void conv_groups4_nhwc(const float* x, int64_t n, int64_t h, int64_t w, int64_t m, const std::vector<float>& packed,
                       const float* bias, const conv_family::Window& win, float lo, float hi, float* y, ThreadPool* pool) {
  const int64_t oh = win.out[0], ow = win.out[1];
  const double work = static_cast<double>(n * oh * ow * m) * static_cast<double>(4 * win.kernel[0] * win.kernel[1]);
  // ~1/4 ms of work before a second thread pays for its wake-up (as the widened int8 GEMM).
  const bool parallel = pool && pool->size() > 1 && work >= static_cast<double>(1 << 20);
  for (int64_t i = 0; i < n; ++i) {
    const float* image = x + i * h * w * m;
    float* out = y + i * oh * ow * m;
    auto rows = [&](size_t r0, size_t r1) {
#ifdef ORTOOL_G4_AVX2
      if (avx2()) return rows_avx2(image, h, w, m, packed, bias, win, lo, hi, static_cast<int64_t>(r0), static_cast<int64_t>(r1), out);
#endif
      rows_scalar(image, h, w, m, packed, bias, win, lo, hi, static_cast<int64_t>(r0), static_cast<int64_t>(r1), out);
    };
    if (parallel) pool->parallel_for(static_cast<size_t>(oh), rows);
    else rows(0, static_cast<size_t>(oh));
  }
}

}  // namespace ortool::rt::cpu
