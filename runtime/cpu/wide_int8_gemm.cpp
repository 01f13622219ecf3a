// The widened 8-bit GEMM (wide_int8_gemm.h): an AVX2 micro-kernel of up to 6 rows x 16 columns (twelve
// accumulators, a broadcast 16-bit pair of the activation times a panel row of weight pairs per vpmaddwd),
// the requantization in its epilogue, and a portable loop with the same arithmetic.
#include "runtime/cpu/wide_int8_gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "runtime/thread_pool.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ORTOOL_WIDE8_AVX2 1
#endif

namespace ortool::rt::wide8 {
namespace {

constexpr int kRows = 6;                // micro-kernel rows
constexpr int64_t kChunkBytes = 160 << 10;  // widened activation rows per tile: about half an L2
std::atomic<bool> g_portable{false};

// rows x cols outputs (cols <= kPanel) of one panel, with the vectorized path's exact arithmetic.
void tile_portable(const int16_t* a, int64_t a_stride, int rows, int64_t pairs, const int16_t* panel, const float* scale,
                   const float* bias, const Requant& q, uint8_t* out, int64_t out_stride, int cols) {
  for (int r = 0; r < rows; ++r) {
    int32_t acc[kPanel] = {};
    const int16_t* ar = a + r * a_stride;
    for (int64_t j = 0; j < pairs; ++j) {
      const int16_t* wj = panel + j * 2 * kPanel;
      for (int c = 0; c < kPanel; ++c) acc[c] += ar[2 * j] * wj[2 * c] + ar[2 * j + 1] * wj[2 * c + 1];
    }
    if (q.output == Requant::Output::Sums) {
      std::memcpy(out + r * out_stride, acc, static_cast<size_t>(cols) * sizeof(int32_t));
      continue;
    }
    if (q.output == Requant::Output::Floats) {
      float f[kPanel];
      for (int c = 0; c < cols; ++c) {
        f[c] = static_cast<float>(acc[c]) * scale[c];  // Cast, then Mul: two roundings (no contraction: CMakeLists)
        if (q.float_bias) f[c] = f[c] + bias[c];
      }
      std::memcpy(out + r * out_stride, f, static_cast<size_t>(cols) * sizeof(float));
      continue;
    }
    for (int c = 0; c < cols; ++c) out[r * out_stride + c] = requant_one(static_cast<float>(acc[c]), bias[c], scale[c], q);
  }
}

#ifdef ORTOOL_WIDE8_AVX2
struct Epilogue {
  __m256 s0, s1, b0, b1, lo, hi;
  __m256i zp;
  bool out_signed;
  Requant::Output output;
  bool float_bias;
};

__attribute__((target("avx2,fma"))) inline __m256i requant8(__m256i v, __m256 b, __m256 s, const Epilogue& e) {
  __m256 f = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(v), b), s);
  f = _mm256_min_ps(_mm256_max_ps(f, e.lo), e.hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(f), e.zp);  // round half to even (the default MXCSR mode)
}

// One row's 16 sums (a0: columns 0-7, a1: 8-15) requantized and stored as `cols` bytes.
__attribute__((target("avx2,fma"))) inline void store_row(__m256i a0, __m256i a1, const Epilogue& e, uint8_t* o, int cols) {
  if (e.output != Requant::Output::Bytes) {  // the 32-bit sums themselves, or floats of them
    alignas(32) int32_t sums[kPanel];
    if (e.output == Requant::Output::Sums) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums), a0);
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums + 8), a1);
    } else {
      // Cast, then Mul, then Add, each rounded (this file is compiled without contraction into FMA).
      __m256 f0 = _mm256_mul_ps(_mm256_cvtepi32_ps(a0), e.s0), f1 = _mm256_mul_ps(_mm256_cvtepi32_ps(a1), e.s1);
      if (e.float_bias) f0 = _mm256_add_ps(f0, e.b0), f1 = _mm256_add_ps(f1, e.b1);
      _mm256_store_ps(reinterpret_cast<float*>(sums), f0);
      _mm256_store_ps(reinterpret_cast<float*>(sums + 8), f1);
    }
    if (cols == kPanel) {
      std::memcpy(o, sums, sizeof sums);
    } else {
      std::memcpy(o, sums, static_cast<size_t>(cols) * sizeof(int32_t));
    }
    return;
  }
  // 16 sums -> 16 saturated 16-bit values in column order -> 16 saturated bytes.
  const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(requant8(a0, e.b0, e.s0, e), requant8(a1, e.b1, e.s1, e)), 0xD8);
  const __m128i l = _mm256_castsi256_si128(w16), h = _mm256_extracti128_si256(w16, 1);
  const __m128i bytes = e.out_signed ? _mm_packs_epi16(l, h) : _mm_packus_epi16(l, h);
  if (cols == kPanel) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), bytes);
  } else {
    alignas(16) uint8_t tmp[kPanel];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
    std::memcpy(o, tmp, static_cast<size_t>(cols));
  }
}

__attribute__((target("avx2,fma"))) inline __m256i pair_of(const int16_t* p) {
  int32_t pair;  // two int16 as one 32-bit lane (memcpy: no aliasing of the int16 buffer)
  std::memcpy(&pair, p, sizeof pair);
  return _mm256_set1_epi32(pair);
}

// R rows (1..6) x 16 columns (8 with Half: the panel's first half, for a last panel of at most 8 columns); the
// accumulators are named variables so that they stay in registers (twelve do not: see tile6_avx2).
template <int R, bool Half = false>
__attribute__((target("avx2,fma"), noinline)) void tile_avx2(const int16_t* a, int64_t a_stride, int64_t pairs, const int16_t* panel,
                                                   const float* scale, const float* bias, const Requant& q, uint8_t* out,
                                                   int64_t out_stride, int cols) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const int16_t* a0 = a;
  const int16_t* a1 = a + (R > 1 ? 1 : 0) * a_stride;
  const int16_t* a2 = a + (R > 2 ? 2 : 0) * a_stride;
  const int16_t* a3 = a + (R > 3 ? 3 : 0) * a_stride;
  const int16_t* a4 = a + (R > 4 ? 4 : 0) * a_stride;
  const int16_t* a5 = a + (R > 5 ? 5 : 0) * a_stride;
  const int16_t* w = panel;
  for (int64_t j = 0; j < pairs; ++j, w += 2 * kPanel) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i w1 = Half ? w0 : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + kPanel));
    __m256i x = pair_of(a0 + 2 * j);
    c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, w0));
    if constexpr (!Half) c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, w1));
    if constexpr (R > 1) {
      x = pair_of(a1 + 2 * j);
      c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, w0));
      if constexpr (!Half) c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, w1));
    }
    if constexpr (R > 2) {
      x = pair_of(a2 + 2 * j);
      c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, w0));
      if constexpr (!Half) c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, w1));
    }
    if constexpr (R > 3) {
      x = pair_of(a3 + 2 * j);
      c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, w0));
      if constexpr (!Half) c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, w1));
    }
    if constexpr (R > 4) {
      x = pair_of(a4 + 2 * j);
      c40 = _mm256_add_epi32(c40, _mm256_madd_epi16(x, w0));
      if constexpr (!Half) c41 = _mm256_add_epi32(c41, _mm256_madd_epi16(x, w1));
    }
    if constexpr (R > 5) {
      x = pair_of(a5 + 2 * j);
      c50 = _mm256_add_epi32(c50, _mm256_madd_epi16(x, w0));
      if constexpr (!Half) c51 = _mm256_add_epi32(c51, _mm256_madd_epi16(x, w1));
    }
  }
  const Epilogue e{_mm256_loadu_ps(scale), _mm256_loadu_ps(scale + 8), _mm256_loadu_ps(bias), _mm256_loadu_ps(bias + 8),
                   _mm256_set1_ps(q.lo),   _mm256_set1_ps(q.hi),        _mm256_set1_epi32(q.zero_point), q.out_signed, q.output, q.float_bias};
  store_row(c00, c01, e, out, cols);
  if constexpr (R > 1) store_row(c10, c11, e, out + out_stride, cols);
  if constexpr (R > 2) store_row(c20, c21, e, out + 2 * out_stride, cols);
  if constexpr (R > 3) store_row(c30, c31, e, out + 3 * out_stride, cols);
  if constexpr (R > 4) store_row(c40, c41, e, out + 4 * out_stride, cols);
  if constexpr (R > 5) store_row(c50, c51, e, out + 5 * out_stride, cols);
}

// Six rows: twelve accumulators, two weight registers and two temporaries are all sixteen ymm registers, which
// GCC 12 does not allocate without spilling accumulators to the stack in the loop (measured: 2x slower), hence
// the loop in assembly. Per pair of reduction indices: 2 weight loads, 6 broadcasts, 12 vpmaddwd, 12 vpaddd.
__attribute__((target("avx2,fma"), noinline)) void tile6_avx2(const int16_t* a, int64_t a_stride, int64_t pairs,
                                                             const int16_t* panel, const float* scale, const float* bias,
                                                             const Requant& q, uint8_t* out, int64_t out_stride, int cols) {
  alignas(32) int32_t acc[12][8];
  // Rows 0-2 from a0 (+ stride, + 2 * stride), rows 3-5 from a3: two pointers to advance instead of six (the
  // loop is at the 6-per-cycle dispatch limit on Zen 3); two pairs per iteration, an odd one first.
  const int16_t* a0 = a;
  const int16_t* a3 = a + 3 * a_stride;
  const int64_t stride_bytes = a_stride * static_cast<int64_t>(sizeof(int16_t));
  const int16_t* w = panel;
  int64_t odd = pairs & 1, twos = pairs >> 1;
#define ORTOOL_WIDE8_ROW(addr, c0, c1)                 \
      "vpbroadcastd " addr ", %%ymm14\n\t"             \
      "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"        \
      "vpaddd %%ymm15, %%" c0 ", %%" c0 "\n\t"        \
      "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\t"        \
      "vpaddd %%ymm14, %%" c1 ", %%" c1 "\n\t"
#define ORTOOL_WIDE8_PAIR(da, dw)                                   \
      "vmovdqu " dw "(%[w]), %%ymm12\n\t"                           \
      "vmovdqu " dw "+32(%[w]), %%ymm13\n\t"                        \
      ORTOOL_WIDE8_ROW(da "(%[a0])", "ymm0", "ymm1")                \
      ORTOOL_WIDE8_ROW(da "(%[a0],%[s])", "ymm2", "ymm3")           \
      ORTOOL_WIDE8_ROW(da "(%[a0],%[s],2)", "ymm4", "ymm5")         \
      ORTOOL_WIDE8_ROW(da "(%[a3])", "ymm6", "ymm7")                \
      ORTOOL_WIDE8_ROW(da "(%[a3],%[s])", "ymm8", "ymm9")           \
      ORTOOL_WIDE8_ROW(da "(%[a3],%[s],2)", "ymm10", "ymm11")
  asm volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
      "vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
      "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
      "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
      "vpxor %%ymm8, %%ymm8, %%ymm8\n\t"
      "vpxor %%ymm9, %%ymm9, %%ymm9\n\t"
      "vpxor %%ymm10, %%ymm10, %%ymm10\n\t"
      "vpxor %%ymm11, %%ymm11, %%ymm11\n\t"
      "test %[odd], %[odd]\n\t"
      "jz 1f\n\t"
      ORTOOL_WIDE8_PAIR("0", "0")
      "add $4, %[a0]\n\t"
      "add $4, %[a3]\n\t"
      "add $64, %[w]\n\t"
      "1:\n\t"
      "test %[twos], %[twos]\n\t"
      "jz 3f\n\t"
      "2:\n\t"
      ORTOOL_WIDE8_PAIR("0", "0")
      ORTOOL_WIDE8_PAIR("4", "64")
      "add $8, %[a0]\n\t"
      "add $8, %[a3]\n\t"
      "sub $-128, %[w]\n\t"
      "dec %[twos]\n\t"
      "jnz 2b\n\t"
      "3:\n\t"
      "vmovdqa %%ymm0, 0(%[acc])\n\t"
      "vmovdqa %%ymm1, 32(%[acc])\n\t"
      "vmovdqa %%ymm2, 64(%[acc])\n\t"
      "vmovdqa %%ymm3, 96(%[acc])\n\t"
      "vmovdqa %%ymm4, 128(%[acc])\n\t"
      "vmovdqa %%ymm5, 160(%[acc])\n\t"
      "vmovdqa %%ymm6, 192(%[acc])\n\t"
      "vmovdqa %%ymm7, 224(%[acc])\n\t"
      "vmovdqa %%ymm8, 256(%[acc])\n\t"
      "vmovdqa %%ymm9, 288(%[acc])\n\t"
      "vmovdqa %%ymm10, 320(%[acc])\n\t"
      "vmovdqa %%ymm11, 352(%[acc])\n\t"
      : [a0] "+r"(a0), [a3] "+r"(a3), [w] "+r"(w), [twos] "+r"(twos)
      : [acc] "r"(acc), [s] "r"(stride_bytes), [odd] "r"(odd)
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15");
#undef ORTOOL_WIDE8_PAIR
#undef ORTOOL_WIDE8_ROW
  const Epilogue e{_mm256_loadu_ps(scale), _mm256_loadu_ps(scale + 8), _mm256_loadu_ps(bias), _mm256_loadu_ps(bias + 8),
                   _mm256_set1_ps(q.lo),   _mm256_set1_ps(q.hi),        _mm256_set1_epi32(q.zero_point), q.out_signed, q.output, q.float_bias};
  for (int r = 0; r < 6; ++r)
    store_row(_mm256_load_si256(reinterpret_cast<const __m256i*>(acc[2 * r])),
              _mm256_load_si256(reinterpret_cast<const __m256i*>(acc[2 * r + 1])), e, out + r * out_stride, cols);
}

__attribute__((target("avx2"))) void widen_avx2(const uint8_t* src, bool is_signed, int32_t zp, int64_t k, int16_t* dst) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zp));
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m256i w = is_signed ? _mm256_cvtepi8_epi16(b) : _mm256_cvtepu8_epi16(b);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_sub_epi16(w, z));
  }
  for (; i < k; ++i)
    dst[i] = static_cast<int16_t>((is_signed ? static_cast<int32_t>(static_cast<int8_t>(src[i])) : src[i]) - zp);
}

// Rows 2j and 2j + 1 of `b`, 16 columns from c, widened minus zp and interleaved into one panel row.
__attribute__((target("avx2"))) void pack_pair_avx2(const uint8_t* r0, const uint8_t* r1, bool is_signed, __m256i zp,
                                                  int16_t* dst) {
  const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0));
  const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1));
  const __m256i w0 = _mm256_sub_epi16(is_signed ? _mm256_cvtepi8_epi16(b0) : _mm256_cvtepu8_epi16(b0), zp);
  const __m256i w1 = _mm256_sub_epi16(is_signed ? _mm256_cvtepi8_epi16(b1) : _mm256_cvtepu8_epi16(b1), zp);
  // unpack works within 128-bit halves: lo = columns 0-3 | 8-11, hi = 4-7 | 12-15, each as (row 0, row 1) pairs.
  const __m256i lo = _mm256_unpacklo_epi16(w0, w1), hi = _mm256_unpackhi_epi16(w0, w1);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_permute2x128_si256(lo, hi, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + kPanel), _mm256_permute2x128_si256(lo, hi, 0x31));
}

// Eight channels of float sums to eight bytes, with requant8's arithmetic on float(acc) = the sum.
__attribute__((target("avx2,fma"))) inline __m128i requant_sums8(const float* sums, const float* bias, const float* scale,
                                                               const Epilogue& e) {
  __m256 f = _mm256_mul_ps(_mm256_add_ps(_mm256_loadu_ps(sums), _mm256_loadu_ps(bias)), _mm256_loadu_ps(scale));
  f = _mm256_min_ps(_mm256_max_ps(f, e.lo), e.hi);
  const __m256i v = _mm256_add_epi32(_mm256_cvtps_epi32(f), e.zp);
  const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return e.out_signed ? _mm_packs_epi16(w16, w16) : _mm_packus_epi16(w16, w16);
}

__attribute__((target("avx2,fma"))) void requant_float_sums_avx2(const float* sums, int64_t pixels, int64_t channels,
                                                                 int64_t pixel_stride, int64_t block_stride,
                                                                 const Requant& q, uint8_t* out, int64_t out_stride) {
  Epilogue e{};
  e.lo = _mm256_set1_ps(q.lo);
  e.hi = _mm256_set1_ps(q.hi);
  e.zp = _mm256_set1_epi32(q.zero_point);
  e.out_signed = q.out_signed;
  const int64_t whole = channels / 8;
  for (int64_t p = 0; p < pixels; ++p) {
    const float* src = sums + p * pixel_stride;
    uint8_t* dst = out + p * out_stride;
    for (int64_t b = 0; b < whole; ++b)
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + 8 * b),
                       requant_sums8(src + b * block_stride, q.bias.data() + 8 * b, q.scale.data() + 8 * b, e));
    if (whole * 8 < channels) {
      alignas(16) uint8_t tmp[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp),
                      requant_sums8(src + whole * block_stride, q.bias.data() + 8 * whole, q.scale.data() + 8 * whole, e));
      std::memcpy(dst + 8 * whole, tmp, static_cast<size_t>(channels - whole * 8));
    }
  }
}
#endif

bool avx2() {
#ifdef ORTOOL_WIDE8_AVX2
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

void tile(const int16_t* a, int64_t a_stride, int rows, int64_t pairs, const int16_t* panel, const float* scale,
          const float* bias, const Requant& q, uint8_t* out, int64_t out_stride, int cols) {
#ifdef ORTOOL_WIDE8_AVX2
  if (avx2() && !g_portable.load(std::memory_order_relaxed)) {
    if (cols <= kPanel / 2) {  // the last panel of 8 columns or fewer (24, 40, 232 outputs): half the work
      switch (rows) {
        case 6: return tile_avx2<6, true>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
        case 5: return tile_avx2<5, true>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
        case 4: return tile_avx2<4, true>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
        case 3: return tile_avx2<3, true>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
        case 2: return tile_avx2<2, true>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
        default: return tile_avx2<1, true>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
      }
    }
    switch (rows) {
      case 6: return tile6_avx2(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
      case 5: return tile_avx2<5>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
      case 4: return tile_avx2<4>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
      case 3: return tile_avx2<3>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
      case 2: return tile_avx2<2>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
      default: return tile_avx2<1>(a, a_stride, pairs, panel, scale, bias, q, out, out_stride, cols);
    }
  }
#endif
  tile_portable(a, a_stride, rows, pairs, panel, scale, bias, q, out, out_stride, cols);
}

// A piece of one job: rows [r0, r1), panels [p0, p1).
struct Tile {
  size_t job;
  int64_t r0, r1, p0, p1;
};

void run_tile(const WideJob& job, const Tile& t) {
  thread_local std::vector<int16_t> rows_buf;
  const PackedWeights& w = *job.w;
  const int64_t stride = 2 * w.pairs;
  const int64_t size = job.q->out_bytes();
  rows_buf.resize(static_cast<size_t>((t.r1 - t.r0) * stride + kSlack));
  job.fill(t.r0, t.r1, rows_buf.data(), stride);
  for (int64_t p = t.p0; p < t.p1; ++p) {
    const int cols = static_cast<int>(std::min(kPanel, w.n - p * kPanel));
    for (int64_t r = t.r0; r < t.r1; r += kRows) {
      const int rows = static_cast<int>(std::min<int64_t>(kRows, t.r1 - r));
      tile(rows_buf.data() + (r - t.r0) * stride, stride, rows, w.pairs, w.panel(p), job.q->scale.data() + p * kPanel,
           job.q->bias.data() + p * kPanel, *job.q, job.out + (r * job.out_stride + p * kPanel) * size, job.out_stride * size,
           cols);
    }
  }
}

}  // namespace

PackedWeights pack_weights(int64_t n, int64_t k, const std::function<int32_t(int64_t, int64_t)>& w) {
  PackedWeights p;
  p.n = n;
  p.k = k;
  p.pairs = (k + 1) / 2;
  p.data.assign(static_cast<size_t>(p.panels() * p.pairs * 2 * kPanel), 0);
  for (int64_t col = 0; col < n; ++col) {
    int16_t* base = p.data.data() + (col / kPanel) * p.pairs * 2 * kPanel + (col % kPanel) * 2;
    for (int64_t i = 0; i < k; ++i) base[(i / 2) * 2 * kPanel + (i % 2)] = static_cast<int16_t>(w(col, i));
  }
  return p;
}

void pack_bytes(const uint8_t* b, int64_t ld, bool is_signed, int32_t zp, int64_t k, int64_t n, PackedWeights& out) {
  out.n = n;
  out.k = k;
  out.pairs = (k + 1) / 2;
  // Every value is written below, padding included: no zeroing pass (this runs on every run of attention).
  out.data.resize(static_cast<size_t>(out.panels() * out.pairs * 2 * kPanel));
  auto value = [&](int64_t r, int64_t c) {
    const uint8_t v = b[r * ld + c];
    return static_cast<int16_t>((is_signed ? static_cast<int32_t>(static_cast<int8_t>(v)) : v) - zp);
  };
#ifdef ORTOOL_WIDE8_AVX2
  const bool vec = avx2() && !g_portable.load(std::memory_order_relaxed);
  const __m256i z = vec ? _mm256_set1_epi16(static_cast<int16_t>(zp)) : __m256i{};
#endif
  for (int64_t p = 0; p < out.panels(); ++p) {
    const int64_t c0 = p * kPanel, cols = std::min(kPanel, n - c0);
    int16_t* panel = out.data.data() + p * out.pairs * 2 * kPanel;
    for (int64_t j = 0; j < out.pairs; ++j) {
      int16_t* dst = panel + j * 2 * kPanel;
      const int64_t r = 2 * j;
#ifdef ORTOOL_WIDE8_AVX2
      if (vec && cols == kPanel && r + 1 < k) {
        pack_pair_avx2(b + r * ld + c0, b + (r + 1) * ld + c0, is_signed, z, dst);
        continue;
      }
#endif
      for (int64_t c = 0; c < kPanel; ++c) {
        dst[2 * c] = c < cols ? value(r, c0 + c) : int16_t{0};
        dst[2 * c + 1] = c < cols && r + 1 < k ? value(r + 1, c0 + c) : int16_t{0};
      }
    }
  }
}

void widen(const uint8_t* src, bool is_signed, int32_t zp, int64_t k, int64_t padded, int16_t* dst) {
#ifdef ORTOOL_WIDE8_AVX2
  if (avx2()) {
    widen_avx2(src, is_signed, zp, k, dst);
  } else
#endif
  {
    for (int64_t i = 0; i < k; ++i)
      dst[i] = static_cast<int16_t>((is_signed ? static_cast<int32_t>(static_cast<int8_t>(src[i])) : src[i]) - zp);
  }
  std::fill(dst + k, dst + padded, int16_t{0});
}

void requant_float_sums(const float* sums, int64_t pixels, int64_t channels, int64_t pixel_stride, int64_t block_stride,
                        const Requant& q, uint8_t* out, int64_t out_stride) {
#ifdef ORTOOL_WIDE8_AVX2
  if (avx2() && !g_portable.load(std::memory_order_relaxed))
    return requant_float_sums_avx2(sums, pixels, channels, pixel_stride, block_stride, q, out, out_stride);
#endif
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c)
      out[p * out_stride + c] = requant_one(sums[p * pixel_stride + (c / 8) * block_stride + c % 8],
                                            q.bias[static_cast<size_t>(c)], q.scale[static_cast<size_t>(c)], q);
}

void run_jobs(std::span<const WideJob> jobs, ThreadPool* pool) {
  const int threads = pool ? pool->size() : 1;
  double work = 0;
  for (const WideJob& j : jobs) work += static_cast<double>(j.rows) * static_cast<double>(j.w->n) * static_cast<double>(j.w->k);
  // ~1/4 ms of work before a second thread pays for its wake-up (as the dnnl provider's teams).
  const bool parallel = threads > 1 && work >= static_cast<double>(1 << 20);
  std::vector<Tile> tiles;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const WideJob& j = jobs[i];
    if (j.rows <= 0 || j.w->n <= 0) continue;
    const int64_t stride_bytes = 4 * std::max<int64_t>(j.w->pairs, 1);
    int64_t chunk = std::max<int64_t>(kRows, kChunkBytes / stride_bytes / kRows * kRows);
    int64_t row_tiles = (j.rows + chunk - 1) / chunk, col_tiles = 1;
    // Enough tiles of equal work for every thread (about four each, shared with the other jobs): rows split
    // finer first, then the columns where rows are few (a classifier, 7x7 maps). Uneven column splits of a
    // few panels left one thread idle at the end of mobilenet_v2's small convs.
    const int64_t want = parallel ? std::max<int64_t>(1, (4 * threads + static_cast<int64_t>(jobs.size()) - 1) /
                                                             static_cast<int64_t>(jobs.size()))
                                  : 1;
    bool even = false;  // row tiles of equal size (within one row) rather than multiples of the micro-kernel's
    if (row_tiles < want) {
      if (j.rows >= 2 * kRows * want) {
        // Rows enough for every tile: equal tiles. Tiles rounded up to multiples of 6 rows left one short
        // (a transformer's 128 rows: seven of 18 and one of 2) and one thread idle at the end: 1.67x at two
        // threads; a tile's last rows run on a smaller micro-kernel instead.
        row_tiles = want;
        even = true;
      } else {
        chunk = std::min(chunk, std::max<int64_t>(kRows, ((j.rows + want - 1) / want + kRows - 1) / kRows * kRows));
        row_tiles = (j.rows + chunk - 1) / chunk;
        if (row_tiles < want) col_tiles = std::min(j.w->panels(), (want + row_tiles - 1) / row_tiles);
      }
    }
    for (int64_t r = 0; r < row_tiles; ++r) {
      const int64_t r0 = even ? j.rows * r / row_tiles : r * chunk;
      const int64_t r1 = even ? j.rows * (r + 1) / row_tiles : std::min(j.rows, (r + 1) * chunk);
      for (int64_t c = 0; c < col_tiles; ++c)
        tiles.push_back({i, r0, r1, j.w->panels() * c / col_tiles, j.w->panels() * (c + 1) / col_tiles});
    }
  }
  if (parallel && tiles.size() > 1) {
    // One tile at a time from a shared counter: the pool's chunks of several tiles left one thread idle for
    // up to a chunk at the end of every GEMM.
    std::atomic<size_t> next{0};
    pool->parallel_for(static_cast<size_t>(threads), [&](size_t, size_t) {
      for (size_t t = next.fetch_add(1); t < tiles.size(); t = next.fetch_add(1)) run_tile(jobs[tiles[t].job], tiles[t]);
    });
  } else {
    for (const Tile& t : tiles) run_tile(jobs[t.job], t);
  }
}

bool vectorized() { return avx2() && !g_portable.load(); }
void force_portable(bool on) { g_portable.store(on); }

}  // namespace ortool::rt::wide8
