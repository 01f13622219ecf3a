// An int8 Conv group run by oneDNN's float convolution on integer-valued floats: the activation minus its zero
// point and the 8-bit weights as floats, whose products and partial sums are integers below 2^24 in magnitude and
// so exact in any order; the sums are then the widened kernels' int32 sums and the requantization
// (wide8::requant_float_sums) gives their bytes. Without VNNI an image's first conv (3 input channels: im2col of
// 27 values per window, a GEMM of 28-value rows) took twice oneDNN's float conv on the widened kernels
// (shufflenet_v2's conv1 0.63 against 0.29 ms); on oneDNN's direct float kernel it costs about that plus the
// conversions in and out. Grouped convs of 4-channel groups (ResNeXt-50 32x4d), which the widened GEMM ran as
// 4-column GEMMs, take the same way on cpu::conv_groups4_nhwc instead of oneDNN (96 -> 85 ms for the model).
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>

#include "runtime/cpu/conv_groups4_nhwc.h"
#include "runtime/cpu/transpose_tiled.h"
#include "runtime/dnnl/dnnl_int8_spec.h"
#include "runtime/dnnl/dnnl_quant_loops.h"
#include "runtime/dnnl/dnnl_wide_conv.h"

namespace ortool::rt::dnnl_ep {
namespace {

namespace cf = cpu::conv_family;
using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
constexpr auto f32 = dnnl::memory::data_type::f32;

std::atomic<FloatConvMode> g_mode{FloatConvMode::Default};
std::atomic<int64_t> g_kernels_made{0};

// Every partial sum exact: per output channel, the weights' absolute sum times the largest |x - zp| at most 2^24.
bool float_sums_exact(const Int8Spec& s) {
  const Tensor& w = *s.g.w;
  const int32_t zp = s.g.x.zero_point;
  const double x_max = s.g.x.type == DType::UInt8 ? std::max(zp, 255 - zp) : std::max(zp + 128, 127 - zp);
  const int64_t m = w.dims()[0], per = m == 0 ? 0 : w.numel() / m;
  for (int64_t o = 0; o < m; ++o) {
    double l1 = 0;
    for (int64_t i = 0; i < per; ++i) l1 += std::abs(weight_at(w, o * per + i));
    if (l1 * x_max > 16777216.0) return false;
  }
  return true;
}

// Groups of 4 input and 4 output channels (ResNeXt-50 32x4d), which cpu::conv_groups4_nhwc runs over NHWC floats.
bool groups_of4(const Int8Spec& s) {
  const auto& w = s.g.w->dims();
  return s.group > 1 && w[1] == 4 && w[0] == 4 * s.group && cpu::conv_groups4_fast();
}

dnnl::memory::dims weight_dims(const Int8Spec& s) {
  const auto& w = s.g.w->dims();
  if (s.group == 1) return {w[0], w[1], w[2], w[3]};
  return {s.group, w[0] / s.group, w[1], w[2], w[3]};
}

std::vector<int64_t> out_dims(const Int8Spec& s, const std::vector<int64_t>& x, const cf::Window& win) {
  return {x[0], s.g.w->dims()[0], win.out[0], win.out[1]};
}

// Throws dnnl::error when oneDNN has no implementation. The source in layout `src` (any: the primitive's
// choice), the destination as the primitive likes it.
dnnl::convolution_forward::primitive_desc make_pd(const Int8Spec& s, const std::vector<int64_t>& x,
                                                  const cf::Window& win, tag src) {
  const std::vector<int64_t> y = out_dims(s, x, win);
  md src_md({x[0], x[1], x[2], x[3]}, f32, src), dst_md({y[0], y[1], y[2], y[3]}, f32, tag::any);
  md wts(weight_dims(s), f32, tag::any);
  dnnl::memory::dims strides{win.stride[0], win.stride[1]};
  dnnl::memory::dims dil{win.dilation[0] - 1, win.dilation[1] - 1};  // oneDNN counts the holes
  dnnl::memory::dims pl{win.pad_begin[0], win.pad_begin[1]}, pr{win.pad_end[0], win.pad_end[1]};
  return {dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                          src_md, wts, dst_md, strides, dil, pl, pr),
          cpu_engine()};
}

// The primitive's own source layout when that is plain (NCHW or NHWC: the conversion writes either), else the
// input tensor's, else the other plain one where only that has an optimized kernel.
dnnl::convolution_forward::primitive_desc choose_pd(const Int8Spec& s, const std::vector<int64_t>& x,
                                                    const cf::Window& win, bool input_nhwc) {
  auto pd = make_pd(s, x, win, tag::any);
  if (pd.src_desc() == act_desc(x, false) || pd.src_desc() == act_desc(x, true)) return pd;
  pd = make_pd(s, x, win, input_nhwc ? tag::nhwc : tag::nchw);
  if (!is_reference_impl(pd)) return pd;
  auto other = make_pd(s, x, win, input_nhwc ? tag::nchw : tag::nhwc);
  return is_reference_impl(other) ? pd : other;
}

// `x8` (8-bit values of dims `xd`, NHWC when `in_nhwc`) minus `zp` as floats at `dst`, NHWC when `out_nhwc`.
template <typename Q>
void floats_of(KernelContext& ctx, const Q* x8, int32_t zp, const std::vector<int64_t>& xd, bool in_nhwc, bool out_nhwc,
               float* dst) {
  const int64_t n = xd[0], c = xd[1], hw = xd[2] * xd[3];
  if (in_nhwc == out_nhwc) {
    split_loop(ctx, n * c * hw, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) dst[i] = static_cast<float>(static_cast<int32_t>(x8[i]) - zp);
    });
    return;
  }
  // Pixels in parallel; per image, channel planes and pixel rows exchanged.
  split_loop(ctx, n * hw, [&](int64_t lo, int64_t hi) {
    for (int64_t q = lo; q < hi; ++q) {
      const int64_t img = q / hw, p = q % hw;
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t planar = (img * c + ch) * hw + p, packed = q * c + ch;
        if (in_nhwc) dst[planar] = static_cast<float>(static_cast<int32_t>(x8[packed]) - zp);
        else dst[packed] = static_cast<float>(static_cast<int32_t>(x8[planar]) - zp);
      }
    }
  }, std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(c, 1)));
}

// One primitive for one input shape, with its packed weights and how its output is read.
struct Prepared {
  std::vector<int64_t> src_dims, dst_dims;
  int team = 1;
  dnnl::convolution_forward prim;
  dnnl::memory weights;
  md src_md, dst_md;
  bool src_nhwc = false;
  // How the sums are read: channel c of pixel p of an image at (c / 8) * block_stride + p * pixel_stride + c % 8,
  // images image_stride apart (NHWC or 8-channel blocks); other layouts are reordered to NHWC first.
  int64_t pixel_stride = 0, block_stride = 0, image_stride = 0;
  dnnl::reorder to_nhwc;
  md nhwc_md;
};

class FloatConvKernel final : public Kernel {
 public:
  explicit FloatConvKernel(std::shared_ptr<const Int8Spec> spec)
      : spec_(std::move(spec)), stream_(cpu_engine()),
        requant_(requant_for(*spec_, spec_->g.w->dims()[0], [](int64_t c) { return c; })) {
    const Tensor& w = *spec_->g.w;
    weights_.resize(static_cast<size_t>(w.numel()));
    for (int64_t i = 0; i < w.numel(); ++i) weights_[static_cast<size_t>(i)] = static_cast<float>(weight_at(w, i));
    if (groups_of4(*spec_)) {  // the packed copy alone: oneDNN never runs this group
      groups4_ = cpu::pack_groups4(weights_.data(), w.dims()[0], w.dims()[2], w.dims()[3]);
      weights_ = {};
    }
    g_kernels_made.fetch_add(1);
  }

  Status run(KernelContext& ctx) override {
    const Int8Spec& s = *spec_;
    ASSIGN_OR_RETURN(ConvRun r, start_conv_run(ctx, s, requantized_));
    if (!r.y) return Status::ok();
    const uint8_t* x8 = r.x8;
    const std::vector<int64_t>& xd = r.xd;
    const std::vector<int64_t>& yd = r.yd;
    const cf::Window& win = r.win;
    Tensor* y = r.y;
    const Layouts& l = *s.layouts;
    const int64_t n = yd[0], m = yd[1], pixels = yd[2] * yd[3];
    // Where the sums are: channel c of pixel p of image i at i * image + p * pixel + (c / 8) * block + c % 8.
    const float* sums = nullptr;
    int64_t image = pixels * m, pixel = m, block = 8;
    if (!groups4_.empty()) {
      widen(ctx, s, x8, xd, true);
      sums_.resize(static_cast<size_t>(numel_of(yd)) + 8);
      constexpr float inf = std::numeric_limits<float>::infinity();
      cpu::conv_groups4_nhwc(xf_.data(), n, xd[2], xd[3], m, groups4_, nullptr, win, -inf, inf, sums_.data(), ctx.threads());
      sums = sums_.data();
    } else {
      use_threads(ctx);  // before prepare(): the weight reorder runs on OpenMP too
      ASSIGN_OR_RETURN(Prepared * p, prepare(xd, win));
      widen(ctx, s, x8, xd, p->src_nhwc);
      // Slack after the sums: requant_float_sums reads whole blocks of 8.
      sums_.resize(p->dst_md.get_size() / sizeof(float) + 8);
      TRY(guarded(s.what, [&]() -> Status {
        set_threads(p->team);
        dnnl::memory src(p->src_md, cpu_engine(), xf_.data()), dst(p->dst_md, cpu_engine(), sums_.data());
        p->prim.execute(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, p->weights}, {DNNL_ARG_DST, dst}});
        if (p->to_nhwc) {
          nhwc_.resize(static_cast<size_t>(numel_of(yd)) + 8);
          dnnl::memory out(p->nhwc_md, cpu_engine(), nhwc_.data());
          p->to_nhwc.execute(stream_, dst, out);
        }
        stream_.wait();
        return Status::ok();
      }));
      sums = p->to_nhwc ? nhwc_.data() : sums_.data();
      image = p->image_stride;
      pixel = p->pixel_stride;
      block = p->block_stride;
    }
    const NhwcBytesOut out(*y, l.out_nhwc, out_buf_);
    for (int64_t i = 0; i < n; ++i) {
      const float* from = sums + i * image;
      uint8_t* bytes = out.data() + i * pixels * m;
      split_loop(ctx, pixels, [&](int64_t lo, int64_t hi) {
        wide8::requant_float_sums(from + lo * pixel, hi - lo, m, pixel, block, requant_, bytes + lo * m, m);
      }, std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(m, 1)));
    }
    out.finish();
    return Status::ok();
  }

 private:
  Result<Prepared*> prepare(const std::vector<int64_t>& xd, const cf::Window& win);

  // The activation minus its zero point as floats in xf_, NHWC when `nhwc`.
  void widen(KernelContext& ctx, const Int8Spec& s, const uint8_t* x8, const std::vector<int64_t>& xd, bool nhwc) {
    xf_.resize(static_cast<size_t>(numel_of(xd)));
    const bool in_nhwc = s.layouts->input_nhwc(s.g.x_input);
    if (s.g.x.type == DType::Int8)
      floats_of(ctx, reinterpret_cast<const int8_t*>(x8), s.g.x.zero_point, xd, in_nhwc, nhwc, xf_.data());
    else
      floats_of(ctx, x8, s.g.x.zero_point, xd, in_nhwc, nhwc, xf_.data());
  }

  std::shared_ptr<const Int8Spec> spec_;
  dnnl::stream stream_;
  wide8::Requant requant_;
  std::vector<float> weights_;  // the 8-bit weights as floats, [M, C/group, kH, kW] (oneDNN's path)
  std::vector<float> groups4_;  // packed for cpu::conv_groups4_nhwc (groups of 4 channels), else empty
  ShapeCache<Prepared> cache_;
  // Kernel-owned buffers (outside the session's memory meter, as the other dnnl kernels' reorder buffers).
  std::vector<float> xf_, sums_, nhwc_;
  std::vector<uint8_t> requantized_, out_buf_;
};

Result<Prepared*> FloatConvKernel::prepare(const std::vector<int64_t>& xd, const cf::Window& win) {
  if (Prepared* p = cache_.find(xd)) return p;
  const Int8Spec& s = *spec_;
  auto p = std::make_unique<Prepared>();
  p->src_dims = xd;
  p->dst_dims = out_dims(s, xd, win);
  const int64_t per_output = s.g.w->numel() / std::max<int64_t>(1, s.g.w->dims()[0]);
  p->team = team_for_work(static_cast<double>(numel_of(p->dst_dims)) * static_cast<double>(per_output));
  TRY(guarded(s.what, [&]() -> Status {
    auto pd = choose_pd(s, xd, win, s.layouts->input_nhwc(s.g.x_input));
    p->prim = dnnl::convolution_forward(pd);
    p->src_md = pd.src_desc();
    p->src_nhwc = p->src_md == act_desc(xd, true);
    p->dst_md = pd.dst_desc();
    const auto& eng = cpu_engine();
    dnnl::memory user_w(md(weight_dims(s), f32, s.group == 1 ? tag::oihw : tag::goihw), eng, weights_.data());
    p->weights = dnnl::memory(pd.weights_desc(), eng);
    dnnl::reorder(user_w, p->weights).execute(stream_, user_w, p->weights);
    stream_.wait();
    const std::vector<int64_t>& yd = p->dst_dims;
    const int64_t m = yd[1], pixels = yd[2] * yd[3];
    if (p->dst_md == act_desc(yd, true)) {
      p->pixel_stride = m;
      p->block_stride = 8;
      p->image_stride = pixels * m;
    } else if (p->dst_md == act_desc(yd, false, true)) {
      p->pixel_stride = 8;
      p->block_stride = pixels * 8;
      p->image_stride = (m + 7) / 8 * 8 * pixels;
    } else {
      p->nhwc_md = act_desc(yd, true);
      p->to_nhwc = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->dst_md, eng, p->nhwc_md));
      p->pixel_stride = m;
      p->block_stride = 8;
      p->image_stride = pixels * m;
    }
    return Status::ok();
  }));
  return cache_.add(std::move(p));
}

}  // namespace

bool use_float_conv(const Int8Spec& s, const std::vector<int64_t>& xd, const cf::Window& win) {
  if (!s.wide || s.g.rule->op != qdq::Int8Op::Conv || xd.size() != 4 || numel_of(xd) == 0) return false;
  // Few input channels and a short reduction (an image's first conv): the widened kernels' rows hold a few values
  // per tap and their requantization costs as much as the products. Measured on 3x3, 5x5 and 7x7 stride-2 convs
  // of 1, 3 and 4 channels into 16 to 64 at 224x224 (AVX2): 15-40% faster up to 36 products per output, even at
  // 49-64, but 3-20% slower from 100 (resnet18's 7x7 over 3 channels, 147: 2.7 against 2.4 ms).
  const auto& w = s.g.w->dims();
  // Groups of 4 channels: the widened GEMM filled a quarter of its 16-column panels with them (resnext50's int8
  // file 1.06x ONNX Runtime's); they run on cpu::conv_groups4_nhwc, without oneDNN.
  const bool suited = (s.group == 1 && w[1] <= 4 && w[1] * w[2] * w[3] <= 64) || groups_of4(s);
  const FloatConvMode mode = g_mode.load();
  if (mode == FloatConvMode::Never || !(suited || mode == FloatConvMode::Always) || !float_sums_exact(s)) return false;
  if (groups_of4(s)) return true;
  try {
    return !is_reference_impl(choose_pd(s, xd, win, false));
  } catch (const dnnl::error&) {
    return false;
  }
}

std::unique_ptr<Kernel> make_float_conv_kernel(std::shared_ptr<const Int8Spec> spec) {
  return std::make_unique<FloatConvKernel>(std::move(spec));
}

void set_float_int8_conv_mode(FloatConvMode mode) { g_mode.store(mode); }
int64_t float_int8_conv_kernels_made() { return g_kernels_made.load(); }

}  // namespace ortool::rt::dnnl_ep
