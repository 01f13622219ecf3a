// The widened 2-D convolution (dnnl_wide_conv.h): the input widened once, windows copied into GEMM rows.
#include "runtime/dnnl/dnnl_wide_conv.h"

#include <algorithm>

#include "runtime/cpu/transpose_tiled.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/thread_pool.h"

namespace ortool::rt::dnnl_ep {

namespace {

// Pixels [lo, hi) of [N, C, H, W] bytes widened (minus `zp`) into [N, H, W, C] (the first conv of a model reads
// its NCHW input); pixel p is image p / hw's pixel p % hw.
void widen_to_nhwc(const uint8_t* src, bool is_signed, int32_t zp, int64_t c, int64_t hw, int64_t lo, int64_t hi,
                   int16_t* dst) {
  for (int64_t q = lo; q < hi; ++q) {
    const uint8_t* from = src + (q / hw) * c * hw + q % hw;
    for (int64_t ch = 0; ch < c; ++ch) {
      const uint8_t v = from[ch * hw];
      dst[q * c + ch] = static_cast<int16_t>((is_signed ? static_cast<int32_t>(static_cast<int8_t>(v)) : v) - zp);
    }
  }
}

}  // namespace

int32_t weight_at(const Tensor& w, int64_t i) {
  return w.dtype() == DType::Int8 ? static_cast<int32_t>(w.data<int8_t>()[i]) : static_cast<int32_t>(w.data<uint8_t>()[i]);
}

WideConv::WideConv(const Tensor& w, int64_t group, const std::function<wide8::Requant(int64_t g)>& requant_of)
    : group_(group) {
  m_ = w.dims()[0];
  cg_ = w.dims()[1];
  kh_ = w.dims()[2];
  kw_ = w.dims()[3];
  mg_ = m_ / group;
  // Reduction index i = (ky * kW + kx) * C/group + c: a window's taps in NHWC order, each tap's channels contiguous.
  for (int64_t g = 0; g < group; ++g) {
    packed_.push_back(wide8::pack_weights(mg_, kh_ * kw_ * cg_, [&](int64_t col, int64_t i) {
      const int64_t tap = i / cg_, c = i % cg_;
      return weight_at(w, (((g * mg_ + col) * cg_ + c) * kh_ + tap / kw_) * kw_ + tap % kw_);
    }));
    requant_.push_back(requant_of(g));
  }
}

void WideConv::run(const uint8_t* x8, const std::vector<int64_t>& xd, bool nchw, bool is_signed, int32_t zp,
                   const cpu::conv_family::Window& win, uint8_t* dst, ThreadPool* pool) {
  const int64_t n = xd[0], c = xd[1], h = xd[2], w = xd[3], oh = win.out[0], ow = win.out[1];
  const int64_t sh = win.stride[0], sw = win.stride[1], dh = win.dilation[0], dw = win.dilation[1];
  const int64_t ph = win.pad_begin[0], pw = win.pad_begin[1];
  const int64_t size = requant_[0].out_bytes();
  // A 1x1 window at stride 1 without pads: the output pixels' rows are the input pixels, widened in place.
  const bool pointwise = kh_ == 1 && kw_ == 1 && sh == 1 && sw == 1 && oh == h && ow == w;
  const uint8_t* src = x8;
  if (pointwise && nchw) {
    in_buf_.resize(static_cast<size_t>(numel_of(xd)));
    cpu::nchw_to_nhwc_bytes(x8, in_buf_.data(), n, c, h * w);
    src = in_buf_.data();
  }
  if (!pointwise) {
    // Every input value is read by up to kH x kW windows: widened once here, copied into the windows' rows.
    wide_.resize(static_cast<size_t>(numel_of(xd) + wide8::kSlack));
    // In pieces of about 16K values over the session's threads (alone, it held the second thread back).
    const int64_t pixels = n * h * w, piece = std::max<int64_t>(1, (1 << 14) / c);
    auto part = [&](size_t b, size_t e) {
      const int64_t lo = static_cast<int64_t>(b) * piece, hi = std::min(pixels, static_cast<int64_t>(e) * piece);
      if (nchw) widen_to_nhwc(x8, is_signed, zp, c, h * w, lo, hi, wide_.data());
      else wide8::widen(x8 + lo * c, is_signed, zp, (hi - lo) * c, (hi - lo) * c, wide_.data() + lo * c);
    };
    const auto pieces = static_cast<size_t>((pixels + piece - 1) / piece);
    if (pool && pool->size() > 1 && pieces > 1) pool->parallel_for(pieces, part);
    else part(0, pieces);
  }
  std::vector<wide8::WideJob> jobs;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t g = 0; g < group_; ++g) {
      wide8::WideJob job;
      job.rows = oh * ow;
      job.w = &packed_[static_cast<size_t>(g)];
      job.q = &requant_[static_cast<size_t>(g)];
      job.out = dst + (i * oh * ow * m_ + g * mg_) * size;
      job.out_stride = m_;
      const int64_t k = kh_ * kw_ * cg_, cg = cg_;
      if (pointwise) {
        const uint8_t* image = src + i * h * w * c + g * cg;
        job.fill = [=](int64_t r0, int64_t r1, int16_t* a, int64_t stride) {
          if (cg == c && stride == c)  // whole pixels, no padding of the rows: one run
            return wide8::widen(image + r0 * c, is_signed, zp, (r1 - r0) * c, (r1 - r0) * c, a);
          for (int64_t r = r0; r < r1; ++r) wide8::widen(image + r * c, is_signed, zp, cg, stride, a + (r - r0) * stride);
        };
        jobs.push_back(std::move(job));
        continue;
      }
      const int16_t* image = wide_.data() + i * h * w * c + g * cg;
      const int64_t kh = kh_, kw = kw_;
      job.fill = [=](int64_t r0, int64_t r1, int16_t* a, int64_t stride) {
        int64_t oy = r0 / ow, ox = r0 % ow;
        for (int64_t r = r0; r < r1; ++r, ++ox) {
          if (ox == ow) {
            ox = 0;
            ++oy;
          }
          int16_t* row = a + (r - r0) * stride;
          const int64_t ix0 = ox * sw - pw;
          // Left to right, so what copy_short writes past a run is overwritten by the next one (or the
          // row's zero tail, or the next row; the buffer has slack after the last).
          if (dw == 1 && cg == c) {
            // One image row's taps are contiguous in NHWC: one copy per kernel row of the part inside the image
            // (the same columns for every kernel row).
            const int64_t kx0 = std::clamp<int64_t>(-ix0, 0, kw), kx1 = std::clamp<int64_t>(w - ix0, kx0, kw);
            const int64_t run = (kx1 - kx0) * c, span = kw * c;
            const int16_t* from = image + (ix0 + kx0) * c;
            for (int64_t ky = 0, iy = oy * sh - ph; ky < kh; ++ky, iy += dh) {
              int16_t* taps = row + ky * span;
              if (iy < 0 || iy >= h) {
                std::fill(taps, taps + span, int16_t{0});  // padding: the zero point, 0 once widened
                continue;
              }
              if (kx0 > 0) std::fill(taps, taps + kx0 * c, int16_t{0});
              wide8::copy_short(from + iy * w * c, run, taps + kx0 * c);
              if (kx1 < kw) std::fill(taps + kx1 * c, taps + span, int16_t{0});
            }
          } else {
            for (int64_t ky = 0, iy = oy * sh - ph; ky < kh; ++ky, iy += dh) {
              int16_t* taps = row + ky * kw * cg;
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t ix = ix0 + kx * dw;
                int16_t* tap = taps + kx * cg;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  std::fill(tap, tap + cg, int16_t{0});
                else
                  wide8::copy_short(image + (iy * w + ix) * c, cg, tap);
              }
            }
          }
          for (int64_t t = k; t < stride; ++t) row[t] = 0;  // K odd: the last pair's second value
        }
      };
      jobs.push_back(std::move(job));
    }
  }
  wide8::run_jobs(jobs, pool);
}

}  // namespace ortool::rt::dnnl_ep
