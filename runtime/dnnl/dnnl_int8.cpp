// The dnnl provider's int8 groups: QDQ Conv/ConvTranspose/Gemm/MatMul and QLinearConv/QLinearMatMul as u8s8/s8s8
// oneDNN primitives.
//
// A group (runtime/qdq_group.h) reads an 8-bit activation and writes the 8-bit output of its
// QuantizeLinear (or QLinear op): the float tensors between are never made. oneDNN 2.x int8 semantics:
// dst = saturate(round(post_ops(oscale[m] * (sum (src - src_zp) * w + bias[m]))) + dst_zp), with
// oscale = x_scale * w_scale[m] / y_scale and the bias in accumulator units (qdq::Int8Group::bias);
// a fused Relu/Clip becomes a clip post-op in output units. The int8 weights are reordered once per
// input shape (at session creation when the shape is static). Groups oneDNN cannot run exactly on this
// CPU (no VNNI: 8-bit weights or int8 activations) run the same semantics on the widened kernels
// (dnnl_int8_wide.cpp), so every Conv/Gemm/MatMul group is claimed on any x86 CPU.
//
// A DequantizeLinear of an activation read by several int8 groups (resnet's block input feeds two
// convs) is claimed alone as a pass-through: its output value then holds the 8-bit tensor, which only
// those groups read (claim_int8 checks it), so no float copy is made. When it also feeds float ops
// (resnet's residual Add) it runs as usual and its groups quantize the float output back (exact).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <span>
#include <unordered_map>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/wide_int8_gemm.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/dnnl/dnnl_deconv_geometry.h"
#include "runtime/dnnl/dnnl_int8_spec.h"
#include "runtime/dnnl/dnnl_quant_loops.h"
#include "runtime/dnnl/dnnl_row_bands.h"
#include "runtime/partition.h"
#include "runtime/qdq_group.h"
#include "runtime/thread_pool.h"
#include "runtime/team.h"

namespace ortool::rt::dnnl_ep {

namespace {

namespace cf = cpu::conv_family;
using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dt dnnl_type(DType t) { return t == DType::Int8 ? dt::s8 : dt::u8; }

// Scales, zero points (run-time arguments) and the fused activation, as oneDNN 2.x attributes.
// `repeat`: the output channels' scales repeated that many times along dst dim `channel_dim` (the
// ConvTranspose's block matmul, whose columns are (kernel tap, channel)).
dnnl::primitive_attr make_attr(const Int8Spec& s, int64_t repeat = 1, int channel_dim = 1) {
  dnnl::primitive_attr attr;
  std::vector<float> scales;
  for (int64_t t = 0; t < (s.per_channel ? repeat : 1); ++t) scales.insert(scales.end(), s.oscale.begin(), s.oscale.end());
  attr.set_output_scales(s.per_channel ? 1 << channel_dim : 0, scales);
  if (s.g.x.zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  if (s.g.y.zero_point != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
  const float lo = s.g.act_lo / s.g.y.scale, hi = s.g.act_hi / s.g.y.scale;
  dnnl::post_ops ops;
  if (std::isfinite(lo) || std::isfinite(hi)) {
    if (lo == 0.0f && !std::isfinite(hi))
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    else
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, std::max(lo, -3.0e38f), std::min(hi, 3.0e38f));
  }
  // oneDNN adds the output zero point in float before it rounds: round(v + z) differs from the
  // reference's round(v) + z where v + z lands on a tie that v was not on (v = 41.4999924, z = 90:
  // 131.5 in float, 132 instead of 131). Rounding first makes the sum exact.
  if (s.g.y.zero_point != 0) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_round, 0.0f, 0.0f);
  if (ops.len() > 0) attr.set_post_ops(ops);
  return attr;
}

dnnl::memory view_of(const md& d, const void* data) { return dnnl::memory(d, cpu_engine(), const_cast<void*>(data)); }

// One primitive with its packed weights for one input shape.
struct Prepared {
  std::vector<int64_t> src_dims, dst_dims;
  bool empty = false;
  int team = 1;
  dnnl::primitive prim;
  dnnl::memory weights, bias, src_zp, dst_zp;
  md src_user, dst_user;
  dnnl::reorder to_src, from_dst;  // only when the primitive wants another layout
  dnnl::memory src_buf, dst_buf;
  // ConvTranspose: the output rows and columns some input reaches. The others (between taps when the kernel
  // is shorter than the stride, or past the end pad with output_padding) oneDNN 2.6's int8 deconvolution
  // leaves unwritten or wrong, so they are set to their channel's bias alone, requantized (`edge`, one byte
  // per output channel; empty when every output is reached).
  std::vector<bool> reached_h, reached_w;
  std::vector<uint8_t> edge;
  // ConvTranspose whose windows do not overlap (kernel == stride, no pads or dilation, group 1: the 2x2
  // stride-2 upsampling of U-Nets and text detectors): an int8 matmul of the pixels by the weights,
  // [pixels x C] x [C x kH*kW*M], into dst_buf, whose rows are then scattered to their kH x kW output blocks.
  // oneDNN 2.6's int8 deconvolution took 0.23-0.3 ms for ppocr_det's 24 -> 1 channel 64x128 upsampling, 3.5x
  // the float one on cpu; the matmul and scatter 0.15 ms (see Int8DeconvKernel::shape for when it is used).
  bool blocks = false;
  std::vector<int8_t> block_w;  // [C, kH, kW, M]
  // A conv's bands of output rows for a Team (Int8ConvKernel::build_bands): band k, a single-threaded
  // primitive reading the input rows its windows touch, runs on team thread k every time. Empty: no team use.
  struct Band {
    int64_t in_row = 0, out_row = 0;
    dnnl::primitive prim;
    dnnl::memory weights;
    md src, dst;
  };
  std::vector<Band> bands;
  int64_t src_row_bytes = 0, dst_row_bytes = 0;
};

// What differs between the conv and the matmul: shapes and primitive descriptors.
class Int8Kernel : public Kernel {
 public:
  // `threads`: the session's (its providers get the same count as its pool), for the convs' row bands.
  Int8Kernel(std::shared_ptr<const Int8Spec> spec, int threads)
      : spec_(std::move(spec)), stream_(cpu_engine()), session_threads_(threads) {}

  Status run(KernelContext& ctx) override {
    const Int8Spec& s = *spec_;
    const Tensor* x = ctx.input_tensor(s.g.x_input);
    ASSIGN_OR_RETURN(const uint8_t* x8, activation_bytes(s, x, requantized_));
    use_threads(ctx);
    ASSIGN_OR_RETURN(Prepared * p, prepare(x->dims()));
    set_threads(p->team);
    const auto fill = p->empty ? KernelContext::Fill::Zero : KernelContext::Fill::Uninitialized;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, s.g.y.type, p->dst_dims, fill));
    if (p->empty) return Status::ok();
    if (Team* team = Team::current(); team && !p->bands.empty()) return guarded(s.what, [&]() -> Status {
      run_bands(*team, *p, x8, static_cast<uint8_t*>(y->raw_mutable()));
      return Status::ok();
    });
    return guarded(s.what, [&]() -> Status {
      dnnl::memory src = view_of(p->src_user, x8);
      dnnl::memory dst = view_of(p->dst_user, y->raw_mutable());
      if (p->src_buf) {
        p->to_src.execute(stream_, src, p->src_buf);
        src = p->src_buf;
      }
      std::unordered_map<int, dnnl::memory> args{
          {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, p->weights}, {DNNL_ARG_DST, p->dst_buf ? p->dst_buf : dst}};
      if (p->bias) args.emplace(DNNL_ARG_BIAS, p->bias);
      if (p->src_zp) args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, p->src_zp);
      if (p->dst_zp) args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, p->dst_zp);
      p->prim.execute(stream_, args);
      if (p->dst_buf && p->from_dst) p->from_dst.execute(stream_, p->dst_buf, dst);
      stream_.wait();
      after_run(*p, static_cast<uint8_t*>(y->raw_mutable()));
      return Status::ok();
    });
  }

  TeamUse team_use(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(spec_->g.x_input);
    if (!x) return TeamUse::None;
    use_threads(ctx);
    Result<Prepared*> p = prepare(x->dims());
    if (!p.is_ok()) return TeamUse::None;  // run reports it
    // A step oneDNN runs on one thread anyway runs as well on thread 0 of a team (nested: one thread).
    return !(*p)->bands.empty() ? TeamUse::Parts : (*p)->team == 1 ? TeamUse::Pool : TeamUse::None;
  }

  Result<Prepared*> prepare(const std::vector<int64_t>& x) {
    if (Prepared* hit = cache_.find(x)) return hit;
    auto p = std::make_unique<Prepared>();
    p->src_dims = x;
    TRY(shape(*p));
    for (int64_t d : x) p->empty = p->empty || d == 0;
    for (int64_t d : p->dst_dims) p->empty = p->empty || d == 0;
    if (!p->empty) TRY(guarded(spec_->what, [&]() -> Status {
      build(*p);
      const auto& eng = cpu_engine();
      const Int8Spec& s = *spec_;
      if (s.g.x.zero_point != 0) {
        p->src_zp = dnnl::memory(md({1}, dt::s32, tag::x), eng);
        *static_cast<int32_t*>(p->src_zp.get_data_handle()) = s.g.x.zero_point;
      }
      if (s.g.y.zero_point != 0) {
        p->dst_zp = dnnl::memory(md({1}, dt::s32, tag::x), eng);
        *static_cast<int32_t*>(p->dst_zp.get_data_handle()) = s.g.y.zero_point;
      }
      return Status::ok();
    }));
    return cache_.add(std::move(p));
  }

 protected:
  // Output dims (and validation of the input's shape).
  virtual Status shape(Prepared& p) const = 0;
  // The primitive, weights, bias and the layouts; throws dnnl::error when oneDNN has no implementation.
  virtual void build(Prepared& p) = 0;

  // What the output needs after the primitive ran (the ConvTranspose's).
  virtual void after_run(Prepared&, uint8_t*) {}

  // Each band's primitive on its team thread, each with its own stream.
  void run_bands(Team& team, Prepared& p, const uint8_t* x8, uint8_t* y) {
    const int k = static_cast<int>(p.bands.size());
    while (static_cast<int>(band_streams_.size()) < k) band_streams_.emplace_back(cpu_engine());
    team.for_each(k, [&](int b) {
      Prepared::Band& band = p.bands[static_cast<size_t>(b)];
      std::unordered_map<int, dnnl::memory> args{
          {DNNL_ARG_SRC, view_of(band.src, x8 + band.in_row * p.src_row_bytes)},
          {DNNL_ARG_WEIGHTS, band.weights},
          {DNNL_ARG_DST, view_of(band.dst, y + band.out_row * p.dst_row_bytes)}};
      if (p.bias) args.emplace(DNNL_ARG_BIAS, p.bias);
      if (p.src_zp) args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, p.src_zp);
      if (p.dst_zp) args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, p.dst_zp);
      dnnl::stream& st = band_streams_[static_cast<size_t>(b)];
      band.prim.execute(st, args);
      st.wait();
    });
  }

  // Weights (user layout `user`, the group's weight or `w_data`) reordered into the primitive's, the bias
  // (repeated `repeat` times, as make_attr's scales), and the activation reorders.
  template <typename PD>
  void finish(Prepared& p, const PD& pd, const md& user_w, const void* w_data = nullptr, int64_t repeat = 1) {
    const auto& eng = cpu_engine();
    const Int8Spec& s = *spec_;
    dnnl::memory uw(user_w, eng, const_cast<void*>(w_data ? w_data : s.g.w->raw()));
    p.weights = dnnl::memory(pd.weights_desc(), eng);
    dnnl::reorder(uw, p.weights).execute(stream_, uw, p.weights);
    stream_.wait();
    if (!s.g.bias.empty()) {
      p.bias = dnnl::memory(pd.bias_desc(), eng);
      for (int64_t t = 0; t < repeat; ++t)
        std::copy(s.g.bias.begin(), s.g.bias.end(), static_cast<float*>(p.bias.get_data_handle()) + t * static_cast<int64_t>(s.g.bias.size()));
    }
    if (pd.src_desc() != p.src_user) {
      p.src_buf = dnnl::memory(pd.src_desc(), eng);
      p.to_src = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p.src_user, eng, pd.src_desc()));
    }
    if (pd.dst_desc() != p.dst_user) {
      p.dst_buf = dnnl::memory(pd.dst_desc(), eng);
      p.from_dst = dnnl::reorder(dnnl::reorder::primitive_desc(eng, pd.dst_desc(), eng, p.dst_user));
    }
  }

  std::shared_ptr<const Int8Spec> spec_;
  dnnl::stream stream_;
  const int session_threads_;
  ShapeCache<Prepared> cache_;
  std::vector<uint8_t> requantized_;              // the 8-bit activation made from a float input
  std::vector<dnnl::stream> band_streams_;         // one per band (run_bands)

};

dnnl::memory::dims dims_of(const std::vector<int64_t>& d) { return dnnl::memory::dims(d.begin(), d.end()); }

class Int8ConvKernel final : public Int8Kernel {
 public:
  using Int8Kernel::Int8Kernel;

  // Throws dnnl::error when oneDNN has no implementation for the geometry.
  static dnnl::convolution_forward::primitive_desc make_pd(const Int8Spec& s, const std::vector<int64_t>& x,
                                                           const cf::Window& win) {
    const auto& w = s.g.w->dims();
    const std::vector<int64_t> y{x[0], w[0], win.out[0], win.out[1]};
    md src(dims_of(x), dnnl_type(s.g.x.type), tag::any), dst(dims_of(y), dnnl_type(s.g.y.type), tag::any);
    md wts(weight_dims(s), dt::s8, tag::any);
    dnnl::memory::dims strides{win.stride[0], win.stride[1]};
    dnnl::memory::dims dil{win.dilation[0] - 1, win.dilation[1] - 1};
    dnnl::memory::dims pl{win.pad_begin[0], win.pad_begin[1]}, pr{win.pad_end[0], win.pad_end[1]};
    const auto prop = dnnl::prop_kind::forward_inference;
    const auto alg = dnnl::algorithm::convolution_direct;
    const dnnl::primitive_attr attr = make_attr(s);
    if (!s.g.bias.empty()) {
      md bias({w[0]}, dt::f32, tag::x);
      return {dnnl::convolution_forward::desc(prop, alg, src, wts, bias, dst, strides, dil, pl, pr), attr, cpu_engine()};
    }
    return {dnnl::convolution_forward::desc(prop, alg, src, wts, dst, strides, dil, pl, pr), attr, cpu_engine()};
  }

  static dnnl::memory::dims weight_dims(const Int8Spec& s) {
    const auto& w = s.g.w->dims();
    if (s.group == 1) return {w[0], w[1], w[2], w[3]};
    return {s.group, w[0] / s.group, w[1], w[2], w[3]};
  }

 protected:
  Status shape(Prepared& p) const override {
    ASSIGN_OR_RETURN(win_, conv_window_for(*spec_, p.src_dims));
    p.dst_dims = {p.src_dims[0], spec_->g.w->dims()[0], win_.out[0], win_.out[1]};
    const double per_out = static_cast<double>(spec_->g.w->numel() / spec_->g.w->dims()[0]);
    // int8 runs ~4x the float rate: a quarter of the work per thread; not the depthwise kernels (one channel
    // per output: 32-bit multiplies), whose 28x28 ShuffleNet layers ran on one thread at 27 us each.
    const bool depthwise = spec_->g.w->dims()[1] == 1 && spec_->group > 1;
    p.team = team_for_work(static_cast<double>(numel_of(p.dst_dims)) * per_out / (depthwise ? 1 : 4));
    return Status::ok();
  }

  void build(Prepared& p) override {
    const Int8Spec& s = *spec_;
    auto pd = make_pd(s, p.src_dims, win_);
    p.prim = dnnl::convolution_forward(pd);
    const Layouts& l = *s.layouts;
    p.src_user = md(dims_of(p.src_dims), dnnl_type(s.g.x.type), l.input_nhwc(s.g.x_input) ? tag::nhwc : tag::nchw);
    p.dst_user = md(dims_of(p.dst_dims), dnnl_type(s.g.y.type), l.out_nhwc ? tag::nhwc : tag::nchw);
    finish(p, pd, md(weight_dims(s), dt::s8, s.group == 1 ? tag::oihw : tag::goihw));
    build_bands(p);
  }

 private:
  // Bands of output rows for a team of the session's threads (dnnl_row_bands.h): one image, NHWC on both sides,
  // the primitive on the user's layouts. Same int32 sums as the whole primitive: the same bytes.
  void build_bands(Prepared& p) {
    const Int8Spec& s = *spec_;
    const Layouts& l = *s.layouts;
    const double macs = static_cast<double>(numel_of(p.dst_dims)) * static_cast<double>(s.g.w->numel() / s.g.w->dims()[0]);
    const int k = row_band_count(session_threads_, macs, static_cast<double>(s.g.w->nbytes()), p.dst_dims[2]);
    if (k == 0 || p.src_dims[0] != 1 || p.src_buf || p.dst_buf || !l.input_nhwc(s.g.x_input) || !l.out_nhwc) return;
    const int64_t c = p.src_dims[1], w = p.src_dims[3], m = p.dst_dims[1], ow = p.dst_dims[3];
    set_threads(1);  // band primitives run on one thread each
    std::vector<Prepared::Band> bands;
    for (const RowBand& rb : row_bands(win_, k)) {
      const std::vector<int64_t> bx{1, c, rb.win.in[0], w};
      auto bpd = make_pd(s, bx, rb.win);
      Prepared::Band band;
      band.in_row = rb.in_row;
      band.out_row = rb.out_row;
      band.src = md(dims_of(bx), dnnl_type(s.g.x.type), tag::nhwc);
      band.dst = md(dims_of({1, m, rb.win.out[0], ow}), dnnl_type(s.g.y.type), tag::nhwc);
      if (bpd.src_desc() != band.src || bpd.dst_desc() != band.dst) {
        set_threads(p.team);
        return;  // oneDNN wants another layout for the band: no bands
      }
      band.prim = dnnl::convolution_forward(bpd);
      band.weights = band_weights(bpd.weights_desc(), p.weights,
                                  md(weight_dims(s), dt::s8, s.group == 1 ? tag::oihw : tag::goihw), s.g.w->raw(), stream_);
      bands.push_back(std::move(band));
    }
    set_threads(p.team);
    p.bands = std::move(bands);
    p.src_row_bytes = w * c;
    p.dst_row_bytes = ow * m;
  }

  mutable cf::Window win_;  // of the shape being prepared
};

// ConvTranspose: oneDNN's deconvolution with the float one's geometry and weight view (dnnl_deconv_geometry.h).
class Int8DeconvKernel final : public Int8Kernel {
 public:
  using Int8Kernel::Int8Kernel;

  // Throws dnnl::error when oneDNN has no implementation for the geometry.
  static dnnl::deconvolution_forward::primitive_desc make_pd(const Int8Spec& s, const std::vector<int64_t>& x,
                                                             const DeconvGeometry& g) {
    md src(dims_of(x), dnnl_type(s.g.x.type), tag::any), dst(dims_of(g.dst), dnnl_type(s.g.y.type), tag::any);
    md wts(deconv_weight_dims(s.g.w->dims(), s.group), dt::s8, tag::any);
    const auto prop = dnnl::prop_kind::forward_inference;
    const auto alg = dnnl::algorithm::deconvolution_direct;
    const dnnl::primitive_attr attr = make_attr(s);
    if (!s.g.bias.empty()) {
      md bias({g.dst[1]}, dt::f32, tag::x);
      return {dnnl::deconvolution_forward::desc(prop, alg, src, wts, bias, dst, g.strides, g.dilates, g.pad_l, g.pad_r),
              attr, cpu_engine()};
    }
    return {dnnl::deconvolution_forward::desc(prop, alg, src, wts, dst, g.strides, g.dilates, g.pad_l, g.pad_r), attr,
            cpu_engine()};
  }

  // Per output channel, the output of the bias alone, as oneDNN computes an output (see make_attr).
  static std::vector<uint8_t> edge_bytes(const Int8Spec& s) {
    const int64_t m = s.g.out_channels();
    const float lo = s.g.act_lo / s.g.y.scale, hi = s.g.act_hi / s.g.y.scale;
    const float tlo = s.g.y.type == DType::UInt8 ? 0.0f : -128.0f, thi = s.g.y.type == DType::UInt8 ? 255.0f : 127.0f;
    std::vector<uint8_t> out;
    for (int64_t c = 0; c < m; ++c) {
      const float b = s.g.bias.empty() ? 0.0f : s.g.bias[static_cast<size_t>(c)];
      const float v = std::clamp(s.oscale[s.per_channel ? static_cast<size_t>(c) : 0] * b, lo, hi);
      const float q = std::clamp(std::nearbyint(v) + static_cast<float>(s.g.y.zero_point), tlo, thi);
      out.push_back(static_cast<uint8_t>(static_cast<int32_t>(q)));
    }
    return out;
  }

  // The geometry for input dims `x`, cut to the outputs some input reaches: oneDNN 2.6's int8 deconvolution
  // computes wrong values with a negative right pad (output_padding past the end pad), so the primitive gets
  // a right pad of 0 and writes the reached part (`dst`) of the whole output (`full`); see Prepared::edge.
  struct Cut {
    DeconvGeometry g;
    std::vector<int64_t> full;
  };
  static Result<Cut> geometry_for(const Int8Spec& s, const std::vector<int64_t>& x) {
    if (x.size() != 4 || x[1] != s.g.w->dims()[0])
      return invalid("{}: input has shape {}; want [N, {}, H, W]", s.what, cf::dims_string(x), s.g.w->dims()[0]);
    Cut c;
    ASSIGN_OR_RETURN(c.g, deconv_geometry(*s.g.core, s.deconv, s.g.w->dims(), x));
    c.full = c.g.dst;
    for (size_t d = 0; d < 2; ++d) {
      c.g.dst[d + 2] += std::min<int64_t>(c.g.pad_r[d], 0);
      c.g.pad_r[d] = std::max<int64_t>(c.g.pad_r[d], 0);
      if (c.g.pad_l[d] < 0 || (c.g.dst[d + 2] <= 0 && c.full[d + 2] > 0))
        return unsupported("{}: outputs no input reaches, or a negative begin pad (output_shape {})", s.what,
                           cf::dims_string(s.deconv.output_shape));
    }
    return c;
  }

 protected:
  Status shape(Prepared& p) const override {
    const Int8Spec& s = *spec_;
    ASSIGN_OR_RETURN(cut_, geometry_for(s, p.src_dims));
    p.dst_dims = cut_.full;
    bool all = true;
    for (int d = 0; d < 2; ++d) {
      // Output o is reached when o + pad_l = i * stride + k * dilation for an input i and a tap k.
      std::vector<bool>& r = d == 0 ? p.reached_h : p.reached_w;
      r.assign(static_cast<size_t>(p.dst_dims[d + 2]), false);
      const int64_t stride = cut_.g.strides[d], dil = cut_.g.dilates[d] + 1, pad = cut_.g.pad_l[d];
      for (int64_t i = 0; i < p.src_dims[d + 2]; ++i)
        for (int64_t k = 0; k < s.g.w->dims()[d + 2]; ++k) {
          const int64_t o = i * stride + k * dil - pad;
          if (o >= 0 && o < cut_.g.dst[d + 2]) r[static_cast<size_t>(o)] = true;
        }
      all = all && std::find(r.begin(), r.end(), false) == r.end();
    }
    if (!all) p.edge = edge_bytes(s);
    // The block matmul where it is faster than oneDNN's deconvolution: an NHWC output (its scatter is a
    // memcpy per block row), or few output channels (the deconvolution vectorizes over them). ppocr_det's
    // 24 -> 1 channel step, NCHW out: 0.15 ms against 0.23; its 24 -> 24 one, NCHW out: 0.15 against 0.10.
    p.blocks = blocks_for(s, cut_) && (s.layouts->out_nhwc || p.dst_dims[1] < 8);
    // Multiply-adds: each input element scatters through one input channel's filters; int8 at ~4x float.
    const double per_in = static_cast<double>(spec_->g.w->numel() / spec_->g.w->dims()[0]);
    p.team = team_for_work(static_cast<double>(numel_of(p.src_dims)) * per_in / 4);
    return Status::ok();
  }

  void build(Prepared& p) override {
    const Int8Spec& s = *spec_;
    if (p.blocks) return build_blocks(p);
    auto pd = make_pd(s, p.src_dims, cut_.g);
    p.prim = dnnl::deconvolution_forward(pd);
    const Layouts& l = *s.layouts;
    p.src_user = md(dims_of(p.src_dims), dnnl_type(s.g.x.type), l.input_nhwc(s.g.x_input) ? tag::nhwc : tag::nchw);
    // The reached part of the output, in place (strides of the whole tensor): reordered into from the
    // primitive's dense buffer when it is a part.
    const auto& d = p.dst_dims;
    const int64_t h = d[2], w = d[3], m = d[1];
    const dnnl::memory::dims strides = l.out_nhwc ? dnnl::memory::dims{h * w * m, 1, w * m, m} : dnnl::memory::dims{m * h * w, h * w, w, 1};
    if (cut_.g.dst == d) p.dst_user = md(dims_of(d), dnnl_type(s.g.y.type), l.out_nhwc ? tag::nhwc : tag::nchw);
    else p.dst_user = md(dims_of(cut_.g.dst), dnnl_type(s.g.y.type), strides);
    finish(p, pd, onnx_deconv_weight_desc(s.g.w->dims(), s.group, dt::s8));
  }

  // Scatters the block matmul's rows (Prepared::blocks), or sets the outputs no input reaches (Prepared::edge)
  // in the [N, M, H, W] output. (A oneDNN reorder between 6-D strided views did the scatter 4x slower.)
  void after_run(Prepared& p, uint8_t* y) override {
    const auto& d = p.dst_dims;
    const int64_t m = d[1], h = d[2], w = d[3];
    const bool nhwc = spec_->layouts->out_nhwc;
    if (p.blocks) {
      const auto* cols = static_cast<const uint8_t*>(p.dst_buf.get_data_handle());
      const int64_t kh = spec_->g.w->dims()[2], kw = spec_->g.w->dims()[3], ih = p.src_dims[2], iw = p.src_dims[3];
      const int64_t row = kh * kw * m;
      if (nhwc) {  // each block row is kW * M contiguous bytes on both sides
        for (int64_t n = 0; n < d[0]; ++n)
          for (int64_t yy = 0; yy < ih; ++yy)
            for (int64_t xx = 0; xx < iw; ++xx) {
              const uint8_t* from = cols + ((n * ih + yy) * iw + xx) * row;
              for (int64_t i = 0; i < kh; ++i)
                std::memcpy(y + ((n * h + yy * kh + i) * w + xx * kw) * m, from + i * kw * m, static_cast<size_t>(kw * m));
            }
        return;
      }
      // NCHW: output rows written in order, each gathered from one row of input pixels' blocks.
      for (int64_t n = 0; n < d[0]; ++n)
        for (int64_t c = 0; c < m; ++c)
          for (int64_t oy = 0; oy < h; ++oy) {
            uint8_t* __restrict out = y + ((n * m + c) * h + oy) * w;
            const uint8_t* __restrict from = cols + (n * ih + oy / kh) * iw * row + (oy % kh) * kw * m + c;
            for (int64_t xx = 0; xx < iw; ++xx)
              for (int64_t j = 0; j < kw; ++j) out[xx * kw + j] = from[xx * row + j * m];
          }
      return;
    }
    if (p.edge.empty()) return;
    for (int64_t n = 0; n < d[0]; ++n)
      for (int64_t oh = 0; oh < h; ++oh)
        for (int64_t ow = 0; ow < w; ++ow) {
          if (p.reached_h[oh] && p.reached_w[ow]) continue;
          for (int64_t c = 0; c < m; ++c) y[nhwc ? ((n * h + oh) * w + ow) * m + c : ((n * m + c) * h + oh) * w + ow] = p.edge[c];
        }
  }

 public:
  // Whether the windows of geometry `c` do not overlap and cover the output (Prepared::blocks).
  static bool blocks_for(const Int8Spec& s, const Cut& c) {
    bool ok = s.group == 1 && c.g.dst == c.full;
    for (int d = 0; d < 2; ++d)
      ok = ok && c.g.dilates[d] == 0 && c.g.pad_l[d] == 0 && c.g.pad_r[d] == 0 && c.g.strides[d] == s.g.w->dims()[d + 2];
    return ok;
  }

  // The block matmul (Prepared::blocks): src [1, N*H*W, C] (NHWC) or [N, H*W, C] (NCHW, strided), weights
  // [1, C, kH*kW*M] from the ONNX [C, M, kH, kW], dst dense [., ., kH*kW*M] in dst_buf. Throws dnnl::error.
  static dnnl::matmul::primitive_desc block_pd(const Int8Spec& s, const std::vector<int64_t>& x, bool nhwc) {
    const auto& wd = s.g.w->dims();
    const int64_t n = x[0], c = x[1], hw = x[2] * x[3], cols = wd[1] * wd[2] * wd[3];
    const md src = nhwc ? md({1, n * hw, c}, dnnl_type(s.g.x.type), tag::abc)
                        : md({n, hw, c}, dnnl_type(s.g.x.type), dnnl::memory::dims{c * hw, 1, hw});
    const md wts({1, c, cols}, dt::s8, tag::any);
    const md dst(nhwc ? dnnl::memory::dims{1, n * hw, cols} : dnnl::memory::dims{n, hw, cols}, dnnl_type(s.g.y.type), tag::abc);
    const dnnl::primitive_attr attr = make_attr(s, wd[2] * wd[3], 2);
    if (!s.g.bias.empty())
      return {dnnl::matmul::desc(src, wts, md({1, 1, cols}, dt::f32, tag::abc), dst), attr, cpu_engine()};
    return {dnnl::matmul::desc(src, wts, dst), attr, cpu_engine()};
  }

 protected:
  void build_blocks(Prepared& p) {
    const Int8Spec& s = *spec_;
    const bool nhwc = s.layouts->input_nhwc(s.g.x_input);
    auto pd = block_pd(s, p.src_dims, nhwc);
    p.prim = dnnl::matmul(pd);
    p.src_user = pd.src_desc();
    p.dst_user = pd.dst_desc();
    const auto& wd = s.g.w->dims();  // [C, M, kH, kW]
    const int64_t c = wd[0], m = wd[1], kk = wd[2] * wd[3];
    p.block_w.resize(static_cast<size_t>(c * kk * m));
    const auto* w = static_cast<const int8_t*>(s.g.w->raw());
    for (int64_t ci = 0; ci < c; ++ci)
      for (int64_t o = 0; o < m; ++o)
        for (int64_t t = 0; t < kk; ++t) p.block_w[static_cast<size_t>((ci * kk + t) * m + o)] = w[(ci * m + o) * kk + t];
    finish(p, pd, md({1, c, kk * m}, dt::s8, tag::abc), p.block_w.data(), kk);
    p.dst_buf = dnnl::memory(pd.dst_desc(), cpu_engine());
  }

  mutable Cut cut_;  // of the shape being prepared
};

// Gemm and MatMul with a constant 2-D weight: the activation's leading dims flattened into M.
class Int8MatMulKernel final : public Int8Kernel {
 public:
  using Int8Kernel::Int8Kernel;

  static int64_t k_of(const Int8Spec& s) { return s.g.trans_b ? s.g.w->dims()[1] : s.g.w->dims()[0]; }

  // A few rows (a classifier at batch 1): oneDNN 2.6's int8 matmul takes its plain-layout gemm there, which
  // packs the weights on every call (0.64 ms for a 1280 x 1000 classifier on an AVX2 Zen 3); as a 1x1
  // convolution over m 1x1 images its jit kernels run on weights packed once.
  static constexpr int64_t kConvRows = 32;

  // The 1x1 convolution, or nothing where oneDNN has none.
  static std::optional<dnnl::convolution_forward::primitive_desc> conv_pd(const Int8Spec& s, int64_t m) {
    const int64_t k = k_of(s), n = s.g.out_channels();
    md src({m, k, 1, 1}, dnnl_type(s.g.x.type), tag::nhwc), dst({m, n, 1, 1}, dnnl_type(s.g.y.type), tag::nhwc);
    md wts({n, k, 1, 1}, dt::s8, tag::any);
    const dnnl::memory::dims one{1, 1}, zero{0, 0};
    const auto prop = dnnl::prop_kind::forward_inference;
    const auto alg = dnnl::algorithm::convolution_direct;
    try {
      if (!s.g.bias.empty())
        return dnnl::convolution_forward::primitive_desc(
            dnnl::convolution_forward::desc(prop, alg, src, wts, md({n}, dt::f32, tag::x), dst, one, zero, zero, zero),
            make_attr(s), cpu_engine());
      return dnnl::convolution_forward::primitive_desc(
          dnnl::convolution_forward::desc(prop, alg, src, wts, dst, one, zero, zero, zero), make_attr(s), cpu_engine());
    } catch (const dnnl::error&) {
      return std::nullopt;
    }
  }

  static dnnl::matmul::primitive_desc make_pd(const Int8Spec& s, int64_t m) {
    const int64_t k = k_of(s), n = s.g.out_channels();
    md src({m, k}, dnnl_type(s.g.x.type), tag::ab), dst({m, n}, dnnl_type(s.g.y.type), tag::ab);
    md wts({k, n}, dt::s8, tag::any);
    const dnnl::primitive_attr attr = make_attr(s);
    if (!s.g.bias.empty()) {
      md bias({1, n}, dt::f32, tag::ab);
      return {dnnl::matmul::desc(src, wts, bias, dst), attr, cpu_engine()};
    }
    return {dnnl::matmul::desc(src, wts, dst), attr, cpu_engine()};
  }

 protected:
  Status shape(Prepared& p) const override {
    const Int8Spec& s = *spec_;
    const auto& x = p.src_dims;
    const bool gemm = s.g.rule->op == qdq::Int8Op::Gemm;
    if (x.size() < 2 || (gemm && x.size() != 2) || x.back() != k_of(s))
      return invalid("{}: input has shape {}; want [{}, {}]", s.what, cf::dims_string(x), gemm ? "M" : "..., M", k_of(s));
    p.dst_dims = x;
    p.dst_dims.back() = s.g.out_channels();
    m_ = numel_of(x) / x.back();
    p.team = team_for_work(static_cast<double>(numel_of(p.dst_dims)) * static_cast<double>(k_of(s)) / 4);
    return Status::ok();
  }

  void build(Prepared& p) override {
    const Int8Spec& s = *spec_;
    if (m_ <= kConvRows) {
      if (auto conv = conv_pd(s, m_)) {
        p.prim = dnnl::convolution_forward(*conv);
        // [m, k] and [m, n] in row-major order are the 1x1 images' NHWC memory.
        p.src_user = md({m_, k_of(s), 1, 1}, dnnl_type(s.g.x.type), tag::nhwc);
        p.dst_user = md({m_, s.g.out_channels(), 1, 1}, dnnl_type(s.g.y.type), tag::nhwc);
        // The weight [k, n] (or [n, k] with transB) as [n, k, 1, 1] output channels.
        finish(p, *conv, md({s.g.out_channels(), k_of(s), 1, 1}, dt::s8, s.g.trans_b ? tag::oihw : tag::iohw));
        return;
      }
    }
    auto pd = make_pd(s, m_);
    p.prim = dnnl::matmul(pd);
    p.src_user = pd.src_desc();
    p.dst_user = pd.dst_desc();
    finish(p, pd, md({k_of(s), s.g.out_channels()}, dt::s8, s.g.trans_b ? tag::ba : tag::ab));
  }

 private:
  mutable int64_t m_ = 0;
};

// A shared DequantizeLinear of an activation, carried as its 8-bit input (see the file comment).
class CarryKernel final : public Kernel {
 public:
  TeamUse team_use(KernelContext&) override { return TeamUse::Pool; }
  Status run(KernelContext& ctx) override {
    const RValue* v = ctx.input(0);
    if (!v || !v->is_tensor()) return invalid("{}: input x is absent", ctx.node().describe());
    return ctx.set_output(0, *v);
  }
};

// The activation's dims when static: declared on the core's input, or on the 8-bit tensor its DequantizeLinear
// reads (quantizers often leave the DQ's output undeclared); empty otherwise.
std::vector<int64_t> activation_dims(const qdq::Int8Group& g) {
  std::vector<int64_t> d = static_dims(*g.core->input(static_cast<size_t>(g.rule->x_input)));
  if (d.empty() && g.x_dq) d = static_dims(*g.x_dq->input(0));
  return d;
}

// The activation's height and width when declared (the batch may be symbolic, as in most exports), else nullopt.
std::optional<std::pair<int64_t, int64_t>> activation_hw(const qdq::Int8Group& g) {
  for (const ir::Value* v : {g.core->input(static_cast<size_t>(g.rule->x_input)), g.x_dq ? g.x_dq->input(0) : nullptr}) {
    if (!v || !v->type.is_tensor() || !v->type.shape || v->type.shape->size() != 4) continue;
    const Dim &h = (*v->type.shape)[2], &w = (*v->type.shape)[3];
    if (h.is_known() && w.is_known()) return std::pair{h.value, w.value};
  }
  return std::nullopt;
}

// Whether oneDNN's int8 primitives are exact for the group on this CPU (int8_exact_for), or its depthwise
// kernels are: with a uint8 activation they widen to 32 bits (vpmovzxbd, vpmulld) on AVX2 too; with an int8
// one they halve the weights as the others do (tested: 12 of 30 random int8-activation cases off by one step).
std::atomic<bool> g_force_widened{false};

bool onednn_exact(const qdq::Int8Group& g) {
  if (widened_int8_forced()) return false;
  if (int8_exact_for(*g.w, g.x.type)) return true;
  const auto& w = g.w->dims();
  return g.rule->op == qdq::Int8Op::Conv && g.x.type == DType::UInt8 && g.w->dtype() == DType::Int8 && w.size() == 4 &&
         w[1] == 1 && g.core->attr_int("group", 1) == w[0];
}

// Products summed per output of the group: a Conv's C/group x kH x kW, a Gemm/MatMul's K, a ConvTranspose's
// C (its upsampling blocks: one tap per output).
int64_t wide_reduction(const qdq::Int8Group& g) {
  const auto& w = g.w->dims();
  switch (g.rule->op) {
    case qdq::Int8Op::Conv: return g.w->numel() / std::max<int64_t>(w.empty() ? 1 : w[0], 1);
    case qdq::Int8Op::ConvTranspose: return w.empty() ? 0 : w[0];
    default: return w.size() == 2 ? (g.trans_b ? w[1] : w[0]) : 0;
  }
}

// The backend's part of the claim rules: what oneDNN takes, checked by asking it when the input's
// shape is static (or, where oneDNN is not exact here, what the widened kernels take: any 2-D Conv, Gemm/MatMul,
// ConvTranspose upsampling blocks). Conv: 2-D, any stride/pad/dilation/group; ConvTranspose: 2-D, any stride/pad/dilation/
// output_padding/output_shape/auto_pad, grouped with per-tensor weight scales (qdq_group's rule); Gemm/MatMul:
// 2-D constant weights.
std::optional<std::shared_ptr<Int8Spec>> supported(qdq::Int8Group g) {
  auto s = make_spec(std::move(g));
  s->wide = !onednn_exact(s->g);
  // Depthwise convs without VNNI: wide8::depthwise_int8 where oneDNN is not exact (int8 activations) and, below,
  // where it is faster than oneDNN's int8 kernel (small images).
  const bool depthwise = s->g.rule->op == qdq::Int8Op::Conv && s->g.w->rank() == 4 && s->g.w->dims()[1] == 1 &&
                         s->group == s->g.w->dims()[0] && s->group > 1 && !int8_exact_on_this_cpu();
  if (depthwise && (s->wide || widened_int8_forced())) s->depthwise = s->wide = true;
  if (s->wide && wide_reduction(s->g) > wide8::kMaxReduction) return std::nullopt;  // 32-bit sums could overflow
  const std::vector<int64_t> xd = activation_dims(s->g);
  switch (s->g.rule->op) {
    case qdq::Int8Op::Conv: {
      if (s->g.w->rank() != 4 || s->group <= 0 || s->g.w->dims()[0] % s->group != 0) return std::nullopt;
      if (!cf::parse_window_attrs(*s->g.core, s->attrs).is_ok() ||
          !cf::check_window_ranks(*s->g.core, s->attrs, 2).is_ok())
        return std::nullopt;
      const auto& ks = s->attrs.kernel_shape;
      if (!ks.empty() && !std::equal(ks.begin(), ks.end(), s->g.w->dims().begin() + 2, s->g.w->dims().end()))
        return std::nullopt;
      // A declared rank: at run time a 1-D or 3-D conv of a model without shapes would be an error here.
      if (qdq::declared_x_rank(s->g) != 4) return std::nullopt;
      if (!xd.empty()) {
        auto win = conv_window_for(*s, xd);
        if (!win.is_ok()) return std::nullopt;
        // oneDNN 2.6's AVX2 int8 depthwise kernel took twice the time of wide8's on 7x7 and 14x14 outputs (shufflenet,
        // mobilenet_v2: 0.024 against 0.012 ms for 232 channels at 7x7; more at two threads) and less from 28x28 on
        // (mobilenet_v2's 112x112x32: 0.22 against 0.33).
        if (depthwise && win->out[0] * win->out[1] <= 400) s->depthwise = s->wide = true;
        if (s->wide) {
          s->float_conv = use_float_conv(*s, xd, *win);
          return s;
        }
        Status ok = guarded(s->what, [&]() -> Status {
          (void)Int8ConvKernel::make_pd(*s, xd, *win);
          return Status::ok();
        });
        if (!ok.is_ok()) return std::nullopt;
      } else if (auto hw = activation_hw(s->g); depthwise && hw) {
        // The batch symbolic, the image's size declared: the depthwise choice as above.
        auto win = conv_window_for(*s, {1, s->g.w->dims()[0], hw->first, hw->second});
        if (win.is_ok() && win->out[0] * win->out[1] <= 400) s->depthwise = s->wide = true;
      }
      if (xd.empty() && s->wide && !s->depthwise) {
        // The input's size unknown (a symbolic batch): whether oneDNN has an optimized float kernel for the conv
        // does not depend on it; asked about a probe of 64 x 64.
        const std::vector<int64_t> probe{1, s->g.w->dims()[1] * s->group, 64, 64};
        if (auto win = conv_window_for(*s, probe); win.is_ok()) s->float_conv = use_float_conv(*s, probe, *win);
      }
      return s;
    }
    case qdq::Int8Op::Gemm:
    case qdq::Int8Op::MatMul: {
      const int64_t rank = qdq::declared_x_rank(s->g);
      if (rank < 2 || (s->g.rule->op == qdq::Int8Op::Gemm && rank != 2)) return std::nullopt;
      if (s->wide) return s;
      Status ok = guarded(s->what, [&]() -> Status {
        (void)Int8MatMulKernel::make_pd(*s, xd.empty() ? 1 : numel_of(xd) / xd.back());
        return Status::ok();
      });
      if (!ok.is_ok()) return std::nullopt;
      return s;
    }
    case qdq::Int8Op::ConvTranspose: {
      if (!parse_deconv_attrs(*s->g.core, s->g.w->dims(), s->deconv) || qdq::declared_x_rank(s->g) != 4) return std::nullopt;
      // oneDNN's with VNNI only: without it, oneDNN 2.6's int8 deconvolution with an int8 (s8) activation left the
      // cpu reference by 2 steps and more even with 7-bit weights (ONEDNN_MAX_CPU_ISA=AVX2 or AVX512_CORE). There
      // the upsampling blocks run on the widened kernels, the other geometries on the next provider.
      s->wide = !int8_exact_on_this_cpu() || widened_int8_forced();
      if (s->wide && wide_reduction(s->g) > wide8::kMaxReduction) return std::nullopt;
      if (s->wide) return deconv_blocks(s->deconv, s->g.w->dims()) ? std::optional(s) : std::nullopt;
      // With an output_shape the pads depend on the input's size: taken when that is known (checked below).
      if (!s->deconv.output_shape.empty() && xd.empty()) return std::nullopt;
      s->group = s->deconv.group;
      if (!xd.empty()) {
        auto cut = Int8DeconvKernel::geometry_for(*s, xd);
        if (!cut.is_ok()) return std::nullopt;
        Status ok = guarded(s->what, [&]() -> Status {
          // The deconvolution, and the block matmul in both input layouts where the kernel may choose it.
          (void)Int8DeconvKernel::make_pd(*s, xd, cut->g);
          if (Int8DeconvKernel::blocks_for(*s, *cut)) {
            (void)Int8DeconvKernel::block_pd(*s, xd, true);
            (void)Int8DeconvKernel::block_pd(*s, xd, false);
          }
          return Status::ok();
        });
        if (!ok.is_ok()) return std::nullopt;
      }
      return s;
    }
  }
  return std::nullopt;
}

DnnlClaim int8_claim(std::shared_ptr<Int8Spec> spec, int threads) {
  DnnlClaim dc;
  dc.claim.nodes = spec->g.nodes;
  const size_t n_in = group_inputs(spec->g.nodes).size();
  dc.nhwc_ok.assign(n_in, false);
  dc.nhwc_8bit_ok.assign(n_in, false);
  dc.out_8bit = true;
  dc.layouts = spec->layouts;
  const qdq::Int8Op op = spec->g.rule->op;
  if (op == qdq::Int8Op::Conv || op == qdq::Int8Op::ConvTranspose) {
    // NHWC in and out, as oneDNN's int8 (de)convolutions want them: no reorders between consecutive groups.
    dc.nhwc_8bit_ok[spec->g.x_input] = true;
    dc.nhwc_ok[spec->g.x_input] = spec->g.x_dq_shared;  // a float DequantizeLinear output, quantized back
    dc.out_nhwc_ok = true;
    dc.out_float4_always = true;  // always 4-D (8-bit: out_8bit)
  }
  const std::vector<int64_t> xd = activation_dims(spec->g);
  dc.claim.factory = [spec, xd, threads, op](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    std::unique_ptr<Int8Kernel> k;
    TRY(guarded(spec->what, [&]() -> Status {
      if (spec->wide) return Status::ok();
      if (op == qdq::Int8Op::Conv) k = std::make_unique<Int8ConvKernel>(spec, threads);
      else if (op == qdq::Int8Op::ConvTranspose) k = std::make_unique<Int8DeconvKernel>(spec, threads);
      else k = std::make_unique<Int8MatMulKernel>(spec, threads);
      return Status::ok();
    }));
    if (spec->wide) return make_wide_kernel(spec);  // weights packed here, whatever the input's shape
    set_threads(threads);
    if (!xd.empty()) TRY(k->prepare(xd).status());  // weights packed at session creation
    return std::unique_ptr<Kernel>(std::move(k));
  };
  return dc;
}

}  // namespace

std::shared_ptr<Int8Spec> make_spec(qdq::Int8Group g) {
  auto s = std::make_shared<Int8Spec>();
  s->g = std::move(g);
  s->what = describe_nodes(s->g.nodes);
  s->group = s->g.core->attr_int("group", 1);
  for (float ws : s->g.w_scale) s->oscale.push_back(s->g.x.scale * ws / s->g.y.scale);
  for (float o : s->oscale) s->per_channel = s->per_channel || o != s->oscale[0];
  if (!s->per_channel) s->oscale.resize(1);
  return s;
}

Result<cf::Window> conv_window_for(const Int8Spec& s, const std::vector<int64_t>& x) {
  if (x.size() != 4 || x[1] != s.g.w->dims()[1] * s.group)
    return invalid("{}: input has shape {}; want [N, {}, H, W]", s.what, cf::dims_string(x), s.g.w->dims()[1] * s.group);
  std::span<const int64_t> kernel(s.g.w->dims().data() + 2, 2), in(x.data() + 2, 2);
  return cf::resolve_window(*s.g.core, s.attrs, in, kernel, cf::WindowKind::Conv);
}

Result<const uint8_t*> activation_bytes(const Int8Spec& s, const Tensor* x, std::vector<uint8_t>& scratch) {
  // A shared DequantizeLinear that also feeds float ops (resnet's residual Add) runs on its own; the
  // group then reads its float output and quantizes it back, exactly: round((q - z) * s / s) + z = q.
  const bool requantize = x && s.g.x_dq_shared && x->dtype() == DType::Float;
  if (!x || (x->dtype() != s.g.x.type && !requantize))
    return invalid("{}: the activation is {}; its zero point says {}", s.what, x ? dtype_name(x->dtype()) : "absent",
                   dtype_name(s.g.x.type));
  if (!requantize) return static_cast<const uint8_t*>(x->raw());
  scratch.resize(static_cast<size_t>(x->numel()));
  if (s.g.x.type == DType::UInt8)
    quantize_loop(x->data<float>(), scratch.data(), 0, x->numel(), s.g.x.scale, s.g.x.zero_point);
  else
    quantize_loop(x->data<float>(), reinterpret_cast<int8_t*>(scratch.data()), 0, x->numel(), s.g.x.scale,
                  s.g.x.zero_point);
  return static_cast<const uint8_t*>(scratch.data());
}

// Whether oneDNN's int8 kernels give exact results on this CPU: only with VNNI (AVX512-VNNI or
// AVX-VNNI). Without it (AVX2, AVX512 Skylake) oneDNN 2.6's u8s8 kernels go through vpmaddubsw, whose
// 16-bit pair sums saturate, and the outputs left the reference by hundreds of steps in the tests
// (ONEDNN_MAX_CPU_ISA=AVX2 or AVX512_CORE); there only groups with 7-bit weights are taken (below).
bool int8_exact_on_this_cpu() {
  static const bool exact = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto vnni512 = static_cast<unsigned>(dnnl_cpu_isa_avx512_core_vnni) & ~static_cast<unsigned>(dnnl_cpu_isa_avx512_core);
    const auto vnni256 = static_cast<unsigned>(dnnl_cpu_isa_avx2_vnni) & ~static_cast<unsigned>(dnnl_cpu_isa_avx2);
    return (isa & vnni512) != 0 || (isa & vnni256) != 0;
  }();
  return exact;
}

void force_widened_int8(bool on) { g_force_widened.store(on); }
bool widened_int8_forced() { return g_force_widened.load(); }

bool int8_exact_for(const Tensor& w, DType activation) {
  if (int8_exact_on_this_cpu()) return true;
  if (w.dtype() != DType::Int8 || activation != DType::UInt8) return false;
  const int8_t* d = w.data<int8_t>();
  return std::all_of(d, d + w.numel(), [](int8_t v) { return v >= -64 && v <= 64; });
}

bool int8_group_exact(const qdq::Int8Group& g) {
  if (!g.w) return false;
  if (!onednn_exact(g) && wide_reduction(g) > wide8::kMaxReduction) return false;
  if (g.rule->op == qdq::Int8Op::ConvTranspose) {
    DeconvAttrs a;
    return int8_exact_on_this_cpu() || (parse_deconv_attrs(*g.core, g.w->dims(), a) && deconv_blocks(a, g.w->dims()));
  }
  return true;  // Conv, Gemm, MatMul: oneDNN's kernels or the widened ones
}

bool deconv_blocks(const DeconvAttrs& a, const std::vector<int64_t>& w) {
  if (a.group != 1 || w.size() != 4 || !a.output_shape.empty()) return false;
  const auto& win = a.window;
  if (win.auto_pad != cf::AutoPad::NotSet && win.auto_pad != cf::AutoPad::Valid) return false;
  auto all = [](const std::vector<int64_t>& v, int64_t x) { return std::all_of(v.begin(), v.end(), [x](int64_t e) { return e == x; }); };
  const std::vector<int64_t> kernel{w[2], w[3]};
  return win.strides == kernel && all(win.dilations, 1) && all(win.pads, 0) && all(a.output_padding, 0);
}

std::vector<DnnlClaim> claim_int8(GraphView& view, int threads) {
  std::vector<std::shared_ptr<Int8Spec>> specs;
  // Groups oneDNN cannot run exactly here (no VNNI, or a geometry it lacks): left whole, so that a later
  // provider (xnnpack) can run them as int8; dnnl's own float and Q/DQ claims would split them.
  std::vector<const ir::Node*> declined;
  for (size_t i = 0; i < view.order().size(); ++i) {
    const ir::Node* n = view.order()[i];
    if (view.taken()[i] || !qdq::int8_rule(*n)) continue;
    std::optional<qdq::Int8Group> g = qdq::match_int8_group(view, *n);
    if (!g || !g->w) continue;
    const std::vector<const ir::Node*> nodes = g->nodes;
    std::optional<std::shared_ptr<Int8Spec>> s = supported(std::move(*g));
    if (s) specs.push_back(std::move(*s));
    else declined.insert(declined.end(), nodes.begin(), nodes.end());
  }
  std::vector<DnnlClaim> out;
  for (const auto& s : specs)
    for (const ir::Node* m : s->g.nodes) view.take(static_cast<size_t>(view.index_of(m)));
  for (const ir::Node* m : declined)
    if (!view.is_taken(m)) view.take(static_cast<size_t>(view.index_of(m)));
  std::vector<Int8OpClaim> ops = claim_int8_ops(view);
  // Shared activation DequantizeLinears: carried when every reader takes 8-bit data there (a group's
  // activation, an int8 op's input). (In graph order, so claims come out the same on every run.)
  struct Reader {
    const ir::Node* node;
    int index;  // -1: any input of the node
    const std::vector<const ir::Node*>* nodes;
  };
  std::vector<std::pair<const ir::Node*, std::vector<Reader>>> shared;
  auto add_reader = [&](const ir::Node* dq, Reader r) {
    auto it = std::find_if(shared.begin(), shared.end(), [&](const auto& e) { return e.first == dq; });
    if (it == shared.end()) it = shared.insert(shared.end(), {dq, {}});
    it->second.push_back(r);
  };
  for (const auto& s : specs)
    if (s->g.x_dq_shared) add_reader(s->g.x_dq, {s->g.core, s->g.rule->x_input, &s->g.nodes});
  for (const Int8OpClaim& c : ops)
    for (const auto& [dq, node] : c.shared) add_reader(dq, {node, -1, &c.claim.claim.nodes});
  std::sort(shared.begin(), shared.end(), [&](const auto& a, const auto& b) { return view.index_of(a.first) < view.index_of(b.first); });
  for (const auto& [dq, readers] : shared) {
    std::vector<const ir::Node*> all{dq};
    for (const Reader& r : readers) all.insert(all.end(), r.nodes->begin(), r.nodes->end());
    const ir::Value* v = dq->output(0);
    bool ok = view.read_only_by(*v, all) && !view.is_taken(dq);
    for (const ir::Use& u : v->uses()) {
      bool as_x = false;
      for (const Reader& r : readers) as_x = as_x || (u.node == r.node && (r.index < 0 || static_cast<int>(u.index) == r.index));
      ok = ok && as_x;
    }
    if (!ok) continue;  // the DequantizeLinear runs on its own and its readers quantize its output back
    DnnlClaim dc;
    dc.claim.nodes = {dq};
    dc.nhwc_ok.assign(dq->num_inputs(), false);
    dc.nhwc_8bit_ok.assign(dq->num_inputs(), false);
    dc.nhwc_8bit_ok[0] = true;
    dc.out_8bit = true;
    dc.out_nhwc_ok = true;
    dc.same_layout = true;  // a pass-through
    dc.claim.factory = [](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
      return std::unique_ptr<Kernel>(std::make_unique<CarryKernel>());
    };
    view.take(static_cast<size_t>(view.index_of(dq)));
    out.push_back(std::move(dc));
  }
  for (size_t i = 0; i < specs.size(); ++i) out.push_back(int8_claim(specs[i], threads));
  for (Int8OpClaim& c : ops) out.push_back(std::move(c.claim));
  return out;
}

}  // namespace ortool::rt::dnnl_ep
