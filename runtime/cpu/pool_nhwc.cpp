// MaxPool and AveragePool over NHWC tensors (float32; 8-bit for MaxPool): per output pixel, the window's
// taps read a vector of channels each. oneDNN 2.6's AVX2 NHWC pooling took 0.95 ms for a 3 x 3 max pool over 256 x 28 x 28
// (googlenet), 20x the memory traffic's time; this loop keeps one accumulator vector in a register.
#include "runtime/cpu/pool_nhwc.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "runtime/cpu/byte_table.h"
#include "runtime/thread_pool.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace ortool::rt::cpu {

namespace {

// Max of the taps for channels [0, c), the reference's scalar rule per lane: v > acc replaces acc, a NaN
// anywhere gives NaN.
void max_taps(const float* x, const int64_t* off, size_t taps, float* out, int64_t c) {
  int64_t ch = 0;
#if defined(__AVX2__)
  const __m256 nan_v = _mm256_set1_ps(std::numeric_limits<float>::quiet_NaN());
  for (; ch + 8 <= c; ch += 8) {
    __m256 acc = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    __m256 nan = _mm256_setzero_ps();
    for (size_t k = 0; k < taps; ++k) {
      const __m256 v = _mm256_loadu_ps(x + off[k] + ch);
      acc = _mm256_max_ps(v, acc);  // v > acc ? v : acc
      nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    _mm256_storeu_ps(out + ch, _mm256_blendv_ps(acc, nan_v, nan));
  }
#endif
  for (; ch < c; ++ch) {
    float acc = -std::numeric_limits<float>::infinity();
    bool nan = false;
    for (size_t k = 0; k < taps; ++k) {
      const float v = x[off[k] + ch];
      acc = v > acc ? v : acc;
      nan |= v != v;
    }
    out[ch] = nan ? std::numeric_limits<float>::quiet_NaN() : acc;
  }
}

// Sum of the taps in their order, divided by `div`, for channels [0, c).
void average_taps(const float* x, const int64_t* off, size_t taps, int64_t div, float* out, int64_t c) {
  const float d = static_cast<float>(div);
  int64_t ch = 0;
#if defined(__AVX2__)
  const __m256 dv = _mm256_set1_ps(d);
  for (; ch + 8 <= c; ch += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t k = 0; k < taps; ++k) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + off[k] + ch));
    _mm256_storeu_ps(out + ch, _mm256_div_ps(acc, dv));
  }
#endif
  for (; ch < c; ++ch) {
    float acc = 0;
    for (size_t k = 0; k < taps; ++k) acc += x[off[k] + ch];
    out[ch] = acc / d;
  }
}

// Calls f(out_pixel, oh, ow, offsets) for every output pixel of `w` over n images, offsets being the input
// pixel offsets (in elements, `c` per pixel) of the window's taps inside the input, rows then columns.
// Output rows are split over `pool` when `work_per_row` x rows is large.
template <typename F>
void over_windows(const conv_family::Window& w, int64_t n, int64_t c, ThreadPool* pool, int64_t work_per_row, F&& f) {
  const int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
  if (n == 0 || c == 0 || OH == 0 || OW == 0) return;
  // Per axis and output coordinate: the input coordinates inside the window.
  std::vector<std::vector<int64_t>> taps[2];
  for (int d = 0; d < 2; ++d) {
    taps[d].resize(static_cast<size_t>(w.out[d]));
    for (int64_t o = 0; o < w.out[d]; ++o) {
      const int64_t start = o * w.stride[d] - w.pad_begin[d];
      for (int64_t k = 0; k < w.kernel[d]; ++k) {
        const int64_t i = start + k * w.dilation[d];
        if (i >= 0 && i < w.in[d]) taps[d][static_cast<size_t>(o)].push_back(i);
      }
    }
  }
  auto rows = [&](size_t lo, size_t hi) {
    std::vector<int64_t> off;
    for (size_t r = lo; r < hi; ++r) {
      const int64_t b = static_cast<int64_t>(r) / OH, oh = static_cast<int64_t>(r) % OH;
      for (int64_t ow = 0; ow < OW; ++ow) {
        off.clear();
        for (int64_t ih : taps[0][static_cast<size_t>(oh)])
          for (int64_t iw : taps[1][static_cast<size_t>(ow)]) off.push_back(((b * H + ih) * W + iw) * c);
        f((b * OH + oh) * OW + ow, oh, ow, off);
      }
    }
  };
  const int64_t out_rows = n * OH;
  if (pool && pool->size() > 1 && out_rows > 1 && out_rows * work_per_row >= (int64_t{1} << 17))
    pool->parallel_for(static_cast<size_t>(out_rows), rows);
  else
    rows(0, static_cast<size_t>(out_rows));
}

// Per output coordinate along axis d: the window's taps inside the padded input (AverageIncludePad's divisor).
std::vector<int64_t> padded_taps(const conv_family::Window& w, int d) {
  std::vector<int64_t> padded(static_cast<size_t>(w.out[d]));
  for (int64_t o = 0; o < w.out[d]; ++o)
    for (int64_t k = 0; k < w.kernel[d]; ++k)
      padded[static_cast<size_t>(o)] += o * w.stride[d] - w.pad_begin[d] + k * w.dilation[d] < w.in[d] + w.pad_end[d];
  return padded;
}

// Max of 8-bit taps for channels [0, c): 32, 16, then 8 channels a vector, the rest one by one.
template <bool Signed>
void max_taps_bytes(const uint8_t* x, const std::vector<int64_t>& off, uint8_t* out, int64_t c) {
  using X = std::conditional_t<Signed, int8_t, uint8_t>;
  const size_t taps = off.size();
  int64_t ch = 0;
#if defined(__AVX2__)
  for (; ch + 32 <= c; ch += 32) {
    __m256i acc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + off[0] + ch));
    for (size_t k = 1; k < taps; ++k) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + off[k] + ch));
      acc = Signed ? _mm256_max_epi8(acc, v) : _mm256_max_epu8(acc, v);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + ch), acc);
  }
  auto max16 = [](__m128i a, __m128i b) { return Signed ? _mm_max_epi8(a, b) : _mm_max_epu8(a, b); };
  for (; ch + 16 <= c; ch += 16) {
    __m128i acc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + off[0] + ch));
    for (size_t k = 1; k < taps; ++k) acc = max16(acc, _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + off[k] + ch)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + ch), acc);
  }
  for (; ch + 8 <= c; ch += 8) {
    __m128i acc = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + off[0] + ch));
    for (size_t k = 1; k < taps; ++k) acc = max16(acc, _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + off[k] + ch)));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + ch), acc);
  }
#endif
  for (; ch < c; ++ch) {
    X acc = static_cast<X>(x[off[0] + ch]);
    for (size_t k = 1; k < taps; ++k) acc = std::max(acc, static_cast<X>(x[off[k] + ch]));
    out[ch] = static_cast<uint8_t>(acc);
  }
}

}  // namespace

void pool2d_nhwc(NhwcPool kind, const conv_family::Window& w, const float* x, float* y, int64_t n, int64_t c,
                 ThreadPool* pool) {
  const std::vector<int64_t> padded[2] = {padded_taps(w, 0), padded_taps(w, 1)};
  over_windows(w, n, c, pool, w.out[1] * c * w.kernel_size(),
               [&](int64_t pixel, int64_t oh, int64_t ow, const std::vector<int64_t>& off) {
                 float* out = y + pixel * c;
                 if (off.empty()) {  // a window over padding only: the reference's empty-window values
                   std::fill(out, out + c, kind == NhwcPool::Max ? std::numeric_limits<float>::lowest() : 0.0f);
                 } else if (kind == NhwcPool::Max) {
                   max_taps(x, off.data(), off.size(), out, c);
                 } else {
                   const int64_t div = kind == NhwcPool::AverageIncludePad
                                           ? padded[0][static_cast<size_t>(oh)] * padded[1][static_cast<size_t>(ow)]
                                           : static_cast<int64_t>(off.size());
                   average_taps(x, off.data(), off.size(), div, out, c);
                 }
               });
}

void max_pool2d_nhwc_bytes(bool is_signed, const conv_family::Window& w, const uint8_t* x, uint8_t* y, int64_t n,
                           int64_t c, const uint8_t* table, ThreadPool* pool) {
  const uint8_t lowest = is_signed ? 0x80 : 0;
  over_windows(w, n, c, pool, w.out[1] * c * w.kernel_size(),
               [&](int64_t pixel, int64_t, int64_t, const std::vector<int64_t>& off) {
                 uint8_t* out = y + pixel * c;
                 if (off.empty()) {
                   std::fill(out, out + c, lowest);
                 } else if (is_signed) {
                   max_taps_bytes<true>(x, off, out, c);
                 } else {
                   max_taps_bytes<false>(x, off, out, c);
                 }
                 if (table) cpu::lookup_bytes(out, out, c, table);
               });
}

}  // namespace ortool::rt::cpu
