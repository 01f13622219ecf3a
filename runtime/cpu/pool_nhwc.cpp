// MaxPool and AveragePool over NHWC float32 tensors: per output pixel, the window's taps read a vector
// of channels each. oneDNN 2.6's AVX2 NHWC pooling took 0.95 ms for a 3 x 3 max pool over 256 x 28 x 28
// (googlenet), 20x the memory traffic's time; this loop keeps one accumulator vector in a register.
#include "runtime/cpu/pool_nhwc.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "runtime/thread_pool.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace ortool::rt::cpu {

namespace {

// The window of one output pixel: input element offsets (in floats) of its taps, rows then columns, and
// AverageIncludePad's divisor.
struct Taps {
  std::vector<int64_t> offsets;
  int64_t padded = 0;
};

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

}  // namespace

void pool2d_nhwc(NhwcPool kind, const conv_family::Window& w, const float* x, float* y, int64_t n, int64_t c,
                 ThreadPool* pool) {
  const int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
  if (n == 0 || c == 0 || OH == 0 || OW == 0) return;
  // Per axis and output coordinate: the input coordinates inside the window, and the taps inside the
  // padded input.
  std::vector<std::vector<int64_t>> taps[2];
  std::vector<int64_t> padded[2];
  for (int d = 0; d < 2; ++d) {
    taps[d].resize(static_cast<size_t>(w.out[d]));
    padded[d].resize(static_cast<size_t>(w.out[d]));
    for (int64_t o = 0; o < w.out[d]; ++o) {
      const int64_t start = o * w.stride[d] - w.pad_begin[d];
      for (int64_t k = 0; k < w.kernel[d]; ++k) {
        const int64_t i = start + k * w.dilation[d];
        if (i >= 0 && i < w.in[d]) taps[d][static_cast<size_t>(o)].push_back(i);
        padded[d][static_cast<size_t>(o)] += i < w.in[d] + w.pad_end[d];
      }
    }
  }
  auto rows = [&](size_t lo, size_t hi) {
    std::vector<int64_t> off;
    for (size_t r = lo; r < hi; ++r) {
      const int64_t b = static_cast<int64_t>(r) / OH, oh = static_cast<int64_t>(r) % OH;
      const std::vector<int64_t>& th = taps[0][static_cast<size_t>(oh)];
      for (int64_t ow = 0; ow < OW; ++ow) {
        const std::vector<int64_t>& tw = taps[1][static_cast<size_t>(ow)];
        float* out = y + ((b * OH + oh) * OW + ow) * c;
        off.clear();
        for (int64_t ih : th)
          for (int64_t iw : tw) off.push_back(((b * H + ih) * W + iw) * c);
        if (off.empty()) {  // a ceil_mode window past the input: the reference's empty-window values
          std::fill(out, out + c, kind == NhwcPool::Max ? std::numeric_limits<float>::lowest() : 0.0f);
          continue;
        }
        if (kind == NhwcPool::Max) {
          max_taps(x, off.data(), off.size(), out, c);
        } else {
          const int64_t div = kind == NhwcPool::AverageIncludePad
                                  ? padded[0][static_cast<size_t>(oh)] * padded[1][static_cast<size_t>(ow)]
                                  : static_cast<int64_t>(off.size());
          average_taps(x, off.data(), off.size(), div, out, c);
        }
      }
    }
  };
  const int64_t out_rows = n * OH;
  const int64_t work = out_rows * OW * c * w.kernel_size();
  if (pool && pool->size() > 1 && out_rows > 1 && work >= (int64_t{1} << 17))
    pool->parallel_for(static_cast<size_t>(out_rows), rows);
  else
    rows(0, static_cast<size_t>(out_rows));
}

}  // namespace ortool::rt::cpu
