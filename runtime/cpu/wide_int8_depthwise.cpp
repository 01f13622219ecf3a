// The exact 8-bit depthwise convolution (wide_int8_depthwise.h): per output pixel its taps' pixels (a pixel of
// zero points for those in the padding), then per block of 16 channels and pair of taps one vpmaddwd per half;
// the zero point comes off the raw sums as zp x (sum of the weights). (A padded copy of the image first cost more
// than the convolution on mobilenet_v2's 112x112x96 stride-2 layer.)
#include "runtime/cpu/wide_int8_depthwise.h"

#include <algorithm>
#include <cstring>

#include "runtime/cpu/transpose_tiled.h"
#include "runtime/thread_pool.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ORTOOL_DW8_AVX2 1
#endif

namespace ortool::rt::wide8 {
namespace {

constexpr int64_t kBlock = 16;

// Lane i (0-7) of the unpacklo half holds channel lo_channel(i) of the block, of the unpackhi half hi_channel(i).
constexpr int64_t lo_channel(int64_t i) { return i < 4 ? i : i + 4; }
constexpr int64_t hi_channel(int64_t i) { return i < 4 ? i + 4 : i + 8; }

// One image in NHWC (C bytes per pixel) and, for taps in the padding, a pixel of zero points as long as the
// channels rounded up to whole blocks (it adds nothing once zp x sum(w) is taken off).
struct Image {
  const uint8_t* x = nullptr;
  int64_t c = 0, h = 0, w = 0;
  const uint8_t* pad = nullptr;
};

// The taps' pixels for output pixel (oy, ox): the image's, or the pad pixel; an odd count's last pair repeats the
// first tap (its weight is 0).
inline void tap_pixels(const Image& im, const cpu::conv_family::Window& win, int64_t oy, int64_t ox, int64_t taps,
                       int64_t pairs, const uint8_t** px) {
  const int64_t kw = win.kernel[1];
  const int64_t y0 = oy * win.stride[0] - win.pad_begin[0], x0 = ox * win.stride[1] - win.pad_begin[1];
  for (int64_t t = 0; t < taps; ++t) {
    const int64_t iy = y0 + (t / kw) * win.dilation[0], ix = x0 + (t % kw) * win.dilation[1];
    px[t] = iy >= 0 && iy < im.h && ix >= 0 && ix < im.w ? im.x + (iy * im.w + ix) * im.c : im.pad;
  }
  for (int64_t t = taps; t < 2 * pairs; ++t) px[t] = px[0];
}

// Output rows [r0, r1) with the portable loop (the vector kernel's arithmetic).
void rows_portable(const Image& im, const cpu::conv_family::Window& win, const DepthwiseWeights& dw,
                   bool is_signed, const Requant& q, int64_t r0, int64_t r1, uint8_t* y) {
  const int64_t ow = win.out[1];
  std::vector<const uint8_t*> px(static_cast<size_t>(2 * dw.pairs));
  for (int64_t oy = r0; oy < r1; ++oy) {
    for (int64_t ox = 0; ox < ow; ++ox) {
      tap_pixels(im, win, oy, ox, dw.taps, dw.pairs, px.data());
      uint8_t* out = y + (oy * ow + ox) * dw.channels;
      for (int64_t ch = 0; ch < dw.channels; ++ch) {
        const int64_t b = ch / kBlock, lane = ch % kBlock;
        // Where this channel sits in the lane order.
        const int64_t half = (lane % 8) < 4 ? 0 : 1, i = half == 0 ? (lane < 8 ? lane : lane - 4) : (lane < 8 ? lane - 4 : lane - 8);
        int32_t acc = 0;
        for (int64_t t = 0; t < dw.taps; ++t) {
          const uint8_t v = px[static_cast<size_t>(t)][ch];
          const int32_t xv = is_signed ? static_cast<int32_t>(static_cast<int8_t>(v)) : static_cast<int32_t>(v);
          const int16_t* pair = dw.data.data() + (b * dw.pairs + t / 2) * 2 * kBlock + half * kBlock + 2 * i;
          acc += xv * pair[t % 2];
        }
        const auto at = static_cast<size_t>(b * kBlock + half * 8 + i);
        out[ch] = requant_one(static_cast<float>(acc - dw.comp[at]), dw.bias[at], dw.scale[at], q);
      }
    }
  }
}

#ifdef ORTOOL_DW8_AVX2
// The requantized bytes of 16 channels of one output pixel: channel `at` on of the taps' pixels `px` (2 x pairs
// of them), the block's weights at `wp`, its lane constants from k's entry `at`. Out of line, so that the two
// accumulators stay in registers (inlined into the pixel loop, one lived on the stack).
template <bool Signed>
__attribute__((target("avx2,fma"), noinline)) __m128i block16(const uint8_t* const* px, int64_t at,
                                                              const DepthwiseWeights& dw, const Requant& q) {
  const int64_t pairs = dw.pairs;
  const int16_t* wp = dw.data.data() + at / kBlock * pairs * 2 * kBlock;
  __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
  for (int64_t j = 0; j < pairs; ++j, wp += 2 * kBlock) {
    const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(px[2 * j] + at));
    const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(px[2 * j + 1] + at));
    const __m256i a0 = Signed ? _mm256_cvtepi8_epi16(b0) : _mm256_cvtepu8_epi16(b0);
    const __m256i a1 = Signed ? _mm256_cvtepi8_epi16(b1) : _mm256_cvtepu8_epi16(b1);
    const __m256i w_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp));
    const __m256i w_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + kBlock));
    acc_lo = _mm256_add_epi32(acc_lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a0, a1), w_lo));
    acc_hi = _mm256_add_epi32(acc_hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a0, a1), w_hi));
  }
  const __m256 lo = _mm256_set1_ps(q.lo), hi = _mm256_set1_ps(q.hi);
  const __m256i zp = _mm256_set1_epi32(q.zero_point);
  auto requant = [&](__m256i acc, size_t i) {
    acc = _mm256_sub_epi32(acc, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dw.comp.data() + i)));
    __m256 f = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(dw.bias.data() + i)),
                             _mm256_loadu_ps(dw.scale.data() + i));
    f = _mm256_min_ps(_mm256_max_ps(f, lo), hi);
    return _mm256_add_epi32(_mm256_cvtps_epi32(f), zp);
  };
  // packs puts each 128-bit half's lo then hi lanes side by side: channels 0-7, then 8-15, in order.
  const auto i = static_cast<size_t>(at);
  const __m256i w16 = _mm256_packs_epi32(requant(acc_lo, i), requant(acc_hi, i + 8));
  const __m128i l = _mm256_castsi256_si128(w16), h = _mm256_extracti128_si256(w16, 1);
  return q.out_signed ? _mm_packs_epi16(l, h) : _mm_packus_epi16(l, h);
}

template <bool Signed>
__attribute__((target("avx2,fma"))) void rows_avx2(const Image& im, const cpu::conv_family::Window& win,
                                                   const DepthwiseWeights& dw, const Requant& q,
                                                   int64_t r0, int64_t r1, uint8_t* y) {
  const int64_t ow = win.out[1], kw = win.kernel[1], taps = 2 * dw.pairs, whole = dw.channels / kBlock;
  const int64_t tail = dw.channels - whole * kBlock, sy = win.stride[0], sx = win.stride[1];
  const uint8_t* end = im.x + im.c * im.h * im.w;
  std::vector<const uint8_t*> px(static_cast<size_t>(taps)), tail_px(static_cast<size_t>(taps));
  // Taps' byte offsets from the window's first pixel (an odd count's last pair repeats tap 0 with weight 0).
  std::vector<int64_t> off(static_cast<size_t>(taps));
  for (int64_t t = 0; t < taps; ++t) {
    const int64_t tt = t < dw.taps ? t : 0;
    off[static_cast<size_t>(t)] = ((tt / kw) * win.dilation[0] * im.w + (tt % kw) * win.dilation[1]) * im.c;
  }
  // Output columns whose windows lie inside the image's columns.
  const int64_t reach_x = (kw - 1) * win.dilation[1], pl = win.pad_begin[1];
  const int64_t last = im.w - 1 - reach_x + pl;  // the last window start inside, times the stride (floored below)
  const int64_t x_lo = std::min(ow, (pl + sx - 1) / sx), x_hi = last < 0 ? x_lo : std::max(x_lo, std::min(ow, last / sx + 1));
  // A partial last block: loaded whole where that stays inside the tensor (the lanes past the channels read the next
  // pixel, times weights of 0), else from a copy.
  std::vector<uint8_t> tail_bytes(static_cast<size_t>(taps * kBlock), 0);
  for (int64_t t = 0; t < taps; ++t) tail_px[static_cast<size_t>(t)] = tail_bytes.data() + t * kBlock - whole * kBlock;
  for (int64_t oy = r0; oy < r1; ++oy) {
    const int64_t iy0 = oy * sy - win.pad_begin[0];
    const bool rows_inside = iy0 >= 0 && iy0 + (win.kernel[0] - 1) * win.dilation[0] < im.h;
    for (int64_t ox = 0; ox < ow; ++ox) {
      if (rows_inside && ox >= x_lo && ox < x_hi) {
        const uint8_t* corner = im.x + (iy0 * im.w + ox * sx - pl) * im.c;
        for (int64_t t = 0; t < taps; ++t) px[static_cast<size_t>(t)] = corner + off[static_cast<size_t>(t)];
      } else {
        tap_pixels(im, win, oy, ox, dw.taps, dw.pairs, px.data());
      }
      uint8_t* out = y + (oy * ow + ox) * dw.channels;
      for (int64_t b = 0; b < whole; ++b)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + b * kBlock),
                         block16<Signed>(px.data(), b * kBlock, dw, q));
      if (tail == 0) continue;
      bool direct = true;
      for (int64_t t = 0; t < taps; ++t) {
        const uint8_t* p = px[static_cast<size_t>(t)];
        direct = direct && (p == im.pad || p + (whole + 1) * kBlock <= end);
      }
      if (!direct)
        for (int64_t t = 0; t < taps; ++t)
          std::memcpy(tail_bytes.data() + t * kBlock, px[static_cast<size_t>(t)] + whole * kBlock, static_cast<size_t>(tail));
      alignas(16) uint8_t bytes[kBlock];
      _mm_store_si128(reinterpret_cast<__m128i*>(bytes),
                      block16<Signed>(direct ? px.data() : tail_px.data(), whole * kBlock, dw, q));
      std::memcpy(out + whole * kBlock, bytes, static_cast<size_t>(tail));
    }
  }
}
#endif

}  // namespace

DepthwiseWeights pack_depthwise(int64_t channels, int64_t taps, const std::function<int32_t(int64_t, int64_t)>& w,
                                const Requant& q, int32_t zp) {
  DepthwiseWeights d;
  d.channels = channels;
  d.taps = taps;
  d.pairs = (taps + 1) / 2;
  d.blocks = (channels + kBlock - 1) / kBlock;
  d.zero_point = zp;
  d.data.assign(static_cast<size_t>(d.blocks * d.pairs * 2 * kBlock), 0);
  const auto lanes = static_cast<size_t>(d.blocks * kBlock);
  d.scale.assign(lanes, 0.0f);
  d.bias.assign(lanes, 0.0f);
  d.comp.assign(lanes, 0);
  for (int64_t b = 0; b < d.blocks; ++b) {
    for (int64_t i = 0; i < 8; ++i) {
      for (int half = 0; half < 2; ++half) {
        const int64_t ch = b * kBlock + (half == 0 ? lo_channel(i) : hi_channel(i));
        if (ch >= channels) continue;
        const auto at = static_cast<size_t>(b * kBlock + half * 8 + i);
        int32_t sum = 0;
        for (int64_t t = 0; t < taps; ++t) sum += w(ch, t);
        d.scale[at] = q.scale[static_cast<size_t>(ch)];
        d.bias[at] = q.bias[static_cast<size_t>(ch)];
        d.comp[at] = zp * sum;
      }
    }
    for (int64_t j = 0; j < d.pairs; ++j) {
      int16_t* pair = d.data.data() + (b * d.pairs + j) * 2 * kBlock;
      for (int64_t i = 0; i < 8; ++i) {
        for (int half = 0; half < 2; ++half) {
          const int64_t ch = b * kBlock + (half == 0 ? lo_channel(i) : hi_channel(i));
          if (ch >= channels) continue;
          for (int64_t s = 0; s < 2 && 2 * j + s < taps; ++s)
            pair[half * kBlock + 2 * i + s] = static_cast<int16_t>(w(ch, 2 * j + s));
        }
      }
    }
  }
  return d;
}

void depthwise_int8(const uint8_t* x, bool nhwc, bool is_signed, int64_t h, int64_t w, const cpu::conv_family::Window& win,
                    const DepthwiseWeights& weights, const Requant& q, uint8_t* y, ThreadPool* pool) {
  const int64_t oh = win.out[0], ow = win.out[1], c = weights.channels;
  if (oh <= 0 || ow <= 0 || c == 0) return;
  // 64K multiply-adds before a second thread: a sixteenth of the widened GEMM's bar, which left mobilenet_v2's
  // 14x14 layers on one thread while oneDNN's kernel used two (0.048 against 0.076 ms there at two threads).
  const double work = static_cast<double>(oh * ow * c) * static_cast<double>(weights.taps);
  const bool parallel = pool && pool->size() > 1 && work >= static_cast<double>(1 << 16);
  Image im{x, c, h, w, nullptr};
  thread_local std::vector<uint8_t> nhwc_copy, pad_pixel;
  if (!nhwc) {
    nhwc_copy.resize(static_cast<size_t>(c * h * w));
    cpu::nchw_to_nhwc_bytes(x, nhwc_copy.data(), 1, c, h * w);
    im.x = nhwc_copy.data();
  }
  pad_pixel.assign(static_cast<size_t>(weights.blocks * kBlock), static_cast<uint8_t>(weights.zero_point));
  im.pad = pad_pixel.data();
  auto rows = [&](size_t r0, size_t r1) {
    const auto a = static_cast<int64_t>(r0), b = static_cast<int64_t>(r1);
#ifdef ORTOOL_DW8_AVX2
    if (vectorized()) {
      if (is_signed) rows_avx2<true>(im, win, weights, q, a, b, y);
      else rows_avx2<false>(im, win, weights, q, a, b, y);
      return;
    }
#endif
    rows_portable(im, win, weights, is_signed, q, a, b, y);
  };
  if (parallel) pool->parallel_for(static_cast<size_t>(oh), rows);
  else rows(0, static_cast<size_t>(oh));
}

}  // namespace ortool::rt::wide8
