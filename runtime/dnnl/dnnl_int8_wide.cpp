// The dnnl provider's int8 Conv/Gemm/MatMul groups that oneDNN cannot run exactly on this CPU (no VNNI: 8-bit
// weights, or int8 activations), and its non-overlapping ConvTranspose upsamplings (oneDNN's int8 deconvolution
// needs VNNI): the activation's rows (a Conv's windows gathered from NHWC, im2col) widened
// to 16 bits and multiplied by the widened GEMM (runtime/cpu/wide_int8_gemm.h), with the claims, layouts and
// int8 semantics of the oneDNN kernels (dnnl_int8.cpp), so such groups chain with oneDNN's ones in int8 NHWC.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "runtime/cpu/transpose_tiled.h"
#include "runtime/cpu/wide_int8_depthwise.h"
#include "runtime/cpu/wide_int8_gemm.h"
#include "runtime/dnnl/dnnl_int8_spec.h"
#include "runtime/dnnl/dnnl_wide_conv.h"
#include "runtime/thread_pool.h"

namespace ortool::rt::dnnl_ep {

Result<Tensor*> group_output(KernelContext& ctx, const Int8Spec& s, const std::vector<int64_t>& xd,
                             const std::vector<int64_t>& yd) {
  const bool empty = numel_of(xd) == 0 || numel_of(yd) == 0;
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, s.g.y.type, yd, empty ? KernelContext::Fill::Zero
                                                                            : KernelContext::Fill::Uninitialized));
  return empty ? nullptr : y;
}

Result<ConvRun> start_conv_run(KernelContext& ctx, const Int8Spec& s, std::vector<uint8_t>& scratch) {
  ConvRun r;
  const Tensor* x = ctx.input_tensor(s.g.x_input);
  ASSIGN_OR_RETURN(r.x8, activation_bytes(s, x, scratch));
  r.xd = x->dims();
  ASSIGN_OR_RETURN(r.win, conv_window_for(s, r.xd));
  r.yd = {r.xd[0], s.g.w->dims()[0], r.win.out[0], r.win.out[1]};
  ASSIGN_OR_RETURN(r.y, group_output(ctx, s, r.xd, r.yd));
  return r;
}

namespace {

namespace cf = cpu::conv_family;

class WideConvKernel final : public Kernel {
 public:
  TeamUse team_use(KernelContext&) override { return TeamUse::Pool; }  // splits through ctx.threads() only
  explicit WideConvKernel(std::shared_ptr<const Int8Spec> spec)
      : spec_(std::move(spec)), conv_(*spec_->g.w, spec_->group, [this](int64_t g) {
          const int64_t mg = spec_->g.w->dims()[0] / spec_->group;
          return requant_for(*spec_, mg, [&](int64_t c) { return g * mg + c; });
        }) {}

  Status run(KernelContext& ctx) override {
    const Int8Spec& s = *spec_;
    ASSIGN_OR_RETURN(ConvRun r, start_conv_run(ctx, s, requantized_));
    if (!r.y) return Status::ok();
    const NhwcBytesOut out(*r.y, s.layouts->out_nhwc, out_buf_);
    conv_.run(r.x8, r.xd, !s.layouts->input_nhwc(s.g.x_input), s.g.x.type == DType::Int8, s.g.x.zero_point, r.win,
              out.data(), ctx.threads());
    out.finish();
    return Status::ok();
  }

 private:
  std::shared_ptr<const Int8Spec> spec_;
  WideConv conv_;
  std::vector<uint8_t> requantized_, out_buf_;
};

// A depthwise Conv (Int8Spec::depthwise) on wide8::depthwise_int8, one image at a time.
class DepthwiseKernel final : public Kernel {
 public:
  TeamUse team_use(KernelContext&) override { return TeamUse::Pool; }  // splits through ctx.threads() only
  explicit DepthwiseKernel(std::shared_ptr<const Int8Spec> spec)
      : spec_(std::move(spec)),
        requant_(requant_for(*spec_, spec_->g.w->dims()[0], [](int64_t c) { return c; })),
        weights_(wide8::pack_depthwise(
            spec_->g.w->dims()[0], spec_->g.w->dims()[2] * spec_->g.w->dims()[3],
            [this](int64_t c, int64_t t) { return weight_at(*spec_->g.w, c * (spec_->g.w->numel() / spec_->g.w->dims()[0]) + t); },
            requant_, spec_->g.x.zero_point)) {}

  Status run(KernelContext& ctx) override {
    const Int8Spec& s = *spec_;
    ASSIGN_OR_RETURN(ConvRun r, start_conv_run(ctx, s, requantized_));
    if (!r.y) return Status::ok();
    const int64_t c = r.xd[1], in = c * r.xd[2] * r.xd[3], out_size = c * r.win.out[0] * r.win.out[1];
    const NhwcBytesOut out(*r.y, s.layouts->out_nhwc, out_buf_);
    for (int64_t i = 0; i < r.xd[0]; ++i)
      wide8::depthwise_int8(r.x8 + i * in, s.layouts->input_nhwc(s.g.x_input), s.g.x.type == DType::Int8, r.xd[2], r.xd[3],
                            r.win, weights_, requant_, out.data() + i * out_size, ctx.threads());
    out.finish();
    return Status::ok();
  }

 private:
  std::shared_ptr<const Int8Spec> spec_;
  wide8::Requant requant_;
  wide8::DepthwiseWeights weights_;  // with requant_'s constants and the zero point's share
  std::vector<uint8_t> requantized_, out_buf_;
};

// A ConvTranspose whose windows do not overlap (deconv_blocks): input pixel (iy, ix) alone makes output pixels
// (iy * kH + ky, ix * kW + kx), M channels per tap: one GEMM of the input pixels by the [C x kH*kW*M] weights
// (columns tap-major), whose rows are then copied M bytes per tap to their output pixels. (One GEMM per input
// row and tap instead ran 320 jobs of 80 rows for ppocr_det's 80x80 upsampling: 1.7 ms for 15M multiply-adds.)
class WideDeconvKernel final : public Kernel {
 public:
  TeamUse team_use(KernelContext&) override { return TeamUse::Pool; }  // splits through ctx.threads() only
  explicit WideDeconvKernel(std::shared_ptr<const Int8Spec> spec) : spec_(std::move(spec)) {
    const Int8Spec& s = *spec_;
    const Tensor& w = *s.g.w;  // [C, M, kH, kW]
    c_ = w.dims()[0];
    m_ = w.dims()[1];
    taps_ = w.dims()[2] * w.dims()[3];
    const int64_t cols = taps_ * m_;
    packed_ = wide8::pack_weights(cols, c_, [&](int64_t col, int64_t i) {
      return weight_at(w, (i * m_ + col % m_) * taps_ + col / m_);  // tap index = ky * kW + kx
    });
    requant_ = requant_for(s, cols, [&](int64_t col) { return col % m_; });
  }

  Status run(KernelContext& ctx) override {
    const Int8Spec& s = *spec_;
    const Tensor* x = ctx.input_tensor(s.g.x_input);
    ASSIGN_OR_RETURN(const uint8_t* x8, activation_bytes(s, x, requantized_));
    const std::vector<int64_t>& xd = x->dims();
    if (xd.size() != 4 || xd[1] != c_)
      return invalid("{}: input has shape {}; want [N, {}, H, W]", s.what, cf::dims_string(xd), c_);
    const int64_t kh = s.g.w->dims()[2], kw = s.g.w->dims()[3];
    const int64_t n = xd[0], h = xd[2], w = xd[3], oh = h * kh, ow = w * kw, cols = taps_ * m_;
    const std::vector<int64_t> yd{n, m_, oh, ow};
    ASSIGN_OR_RETURN(Tensor * y, group_output(ctx, s, xd, yd));
    if (!y) return Status::ok();
    const Layouts& l = *s.layouts;
    const uint8_t* src = x8;
    if (!l.input_nhwc(s.g.x_input)) {
      in_buf_.resize(static_cast<size_t>(numel_of(xd)));
      cpu::nchw_to_nhwc_bytes(x8, in_buf_.data(), n, c_, h * w);
      src = in_buf_.data();
    }
    uint8_t* dst = static_cast<uint8_t*>(y->raw_mutable());
    if (!l.out_nhwc) {
      out_buf_.resize(static_cast<size_t>(numel_of(yd)));
      dst = out_buf_.data();
    }
    const int64_t pixels = n * h * w;
    blocks_.resize(static_cast<size_t>(pixels * cols));
    const bool is_signed = s.g.x.type == DType::Int8;
    const int32_t zp = s.g.x.zero_point;
    const int64_t c = c_;
    wide8::WideJob job;
    job.rows = pixels;
    job.w = &packed_;
    job.q = &requant_;
    job.out = blocks_.data();
    job.out_stride = cols;
    job.fill = [=](int64_t r0, int64_t r1, int16_t* a, int64_t stride) {
      if (stride == c) return wide8::widen(src + r0 * c, is_signed, zp, (r1 - r0) * c, (r1 - r0) * c, a);
      for (int64_t r = r0; r < r1; ++r) wide8::widen(src + r * c, is_signed, zp, c, stride, a + (r - r0) * stride);
    };
    ThreadPool* pool = ctx.threads();
    wide8::run_jobs(std::span<const wide8::WideJob>(&job, 1), pool);
    // Each input row's blocks to their kH output rows.
    const uint8_t* blocks = blocks_.data();
    const auto m = static_cast<size_t>(m_);
    auto scatter = [&](size_t b, size_t e) {
      for (auto row = static_cast<int64_t>(b); row < static_cast<int64_t>(e); ++row) {  // row = image * H + iy
        const int64_t i = row / h, iy = row % h;
        for (int64_t ix = 0; ix < w; ++ix) {
          const uint8_t* from = blocks + (row * w + ix) * cols;
          for (int64_t ky = 0; ky < kh; ++ky) {
            uint8_t* to = dst + ((i * oh + iy * kh + ky) * ow + ix * kw) * m_;
            if (m == 1) {  // a one-channel map (a detector's probability map): bytes, not memcpy calls
              for (int64_t kx = 0; kx < kw; ++kx) to[kx] = from[ky * kw + kx];
              continue;
            }
            for (int64_t kx = 0; kx < kw; ++kx) std::memcpy(to + kx * m_, from + (ky * kw + kx) * m_, m);
          }
        }
      }
    };
    const auto rows = static_cast<size_t>(n * h);
    if (pool && pool->size() > 1 && pixels * cols >= (int64_t{1} << 17)) pool->parallel_for(rows, scatter);
    else scatter(0, rows);
    if (!l.out_nhwc) cpu::nhwc_to_nchw_bytes(out_buf_.data(), static_cast<uint8_t*>(y->raw_mutable()), n, m_, oh * ow);
    return Status::ok();
  }

 private:
  std::shared_ptr<const Int8Spec> spec_;
  int64_t c_ = 0, m_ = 0, taps_ = 0;
  wide8::PackedWeights packed_;  // [C x kH*kW*M], column tap * M + m
  wide8::Requant requant_;
  std::vector<uint8_t> requantized_, in_buf_, out_buf_, blocks_;
};

// Gemm and MatMul with a constant 2-D weight: the activation's leading dims flattened into rows.
class WideMatMulKernel final : public Kernel {
 public:
  TeamUse team_use(KernelContext&) override { return TeamUse::Pool; }  // splits through ctx.threads() only
  explicit WideMatMulKernel(std::shared_ptr<const Int8Spec> spec) : spec_(std::move(spec)) {
    const Int8Spec& s = *spec_;
    const Tensor& w = *s.g.w;
    n_ = s.g.out_channels();
    k_ = s.g.trans_b ? w.dims()[1] : w.dims()[0];
    packed_ = wide8::pack_weights(n_, k_, [&](int64_t col, int64_t i) {
      return weight_at(w, s.g.trans_b ? col * k_ + i : i * n_ + col);
    });
    requant_ = requant_for(s, n_, [](int64_t c) { return c; });
  }

  Status run(KernelContext& ctx) override {
    const Int8Spec& s = *spec_;
    const Tensor* x = ctx.input_tensor(s.g.x_input);
    ASSIGN_OR_RETURN(const uint8_t* x8, activation_bytes(s, x, requantized_));
    const std::vector<int64_t>& xd = x->dims();
    const bool gemm = s.g.rule->op == qdq::Int8Op::Gemm;
    if (xd.size() < 2 || (gemm && xd.size() != 2) || xd.back() != k_)
      return invalid("{}: input has shape {}; want [{}, {}]", s.what, cf::dims_string(xd), gemm ? "M" : "..., M", k_);
    std::vector<int64_t> yd = xd;
    yd.back() = n_;
    ASSIGN_OR_RETURN(Tensor * y, group_output(ctx, s, xd, yd));
    if (!y) return Status::ok();
    const bool is_signed = s.g.x.type == DType::Int8;
    const int32_t zp = s.g.x.zero_point;
    const int64_t k = k_;
    wide8::WideJob job;
    job.rows = numel_of(xd) / k_;
    job.w = &packed_;
    job.q = &requant_;
    job.out = static_cast<uint8_t*>(y->raw_mutable());
    job.out_stride = n_;
    job.fill = [=](int64_t r0, int64_t r1, int16_t* a, int64_t stride) {
      for (int64_t r = r0; r < r1; ++r) wide8::widen(x8 + r * k, is_signed, zp, k, stride, a + (r - r0) * stride);
    };
    wide8::run_jobs(std::span<const wide8::WideJob>(&job, 1), ctx.threads());
    return Status::ok();
  }

 private:
  std::shared_ptr<const Int8Spec> spec_;
  int64_t n_ = 0, k_ = 0;
  wide8::PackedWeights packed_;
  wide8::Requant requant_;
  std::vector<uint8_t> requantized_;
};

}  // namespace

std::unique_ptr<Kernel> make_wide_kernel(std::shared_ptr<const Int8Spec> spec) {
  if (spec->float_conv) return make_float_conv_kernel(std::move(spec));
  if (spec->depthwise) return std::make_unique<DepthwiseKernel>(std::move(spec));
  if (spec->g.rule->op == qdq::Int8Op::Conv) return std::make_unique<WideConvKernel>(std::move(spec));
  if (spec->g.rule->op == qdq::Int8Op::ConvTranspose) return std::make_unique<WideDeconvKernel>(std::move(spec));
  return std::make_unique<WideMatMulKernel>(std::move(spec));
}

}  // namespace ortool::rt::dnnl_ep
