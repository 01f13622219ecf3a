// The xnnpack provider's MaxPool, AveragePool and GlobalAveragePool: 2-D float32 pooling.
//
// MaxPool and AveragePool are NHWC in XNNPACK: the kernel transposes an NCHW input and its output
// at the borders of an xnnpack region, as the conv does. GlobalAveragePool reads an NCHW input with
// XNNPACK's NCW variant and an NHWC one with the NWC variant (its [N, C, 1, 1] output is the same
// bytes in both layouts).
//
// What is claimed is what XNNPACK computes exactly as ONNX does:
//   MaxPool: pads, strides and dilations; ceil_mode becomes extra bottom/right padding, exact
//     because XNNPACK reads the nearest edge pixel for a tap in the padding, which is in the window
//     when the window is contiguous: so no padding along a dilated dim.
//   AveragePool: XNNPACK divides by the count of input pixels in the window (padding excluded),
//     which is ONNX's count_include_pad=0, and count_include_pad=1 when there are no pads; no
//     ceil_mode (its extra windows count differently in ONNX) and no dilations.
// Graphs often leave the input's type unannotated: an input that is not float or not 4-D at run
// time, or a geometry XNNPACK rejects, goes to the cpu provider's kernel.
#include <algorithm>
#include <memory>
#include <span>

#include "runtime/cpu/conv.h"
#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt::xnn_ep {

namespace {

namespace cf = cpu::conv_family;

enum class PoolKind { Max, Average, GlobalAverage };

struct PoolSpec {
  const ir::Node* node = nullptr;
  std::string what;
  PoolKind kind = PoolKind::Max;
  cf::WindowAttrs attrs;
  bool include_pad = false;
};

// One operator for one input geometry (channels, spatial size); null op: the cpu kernel runs it.
struct Prepared {
  int64_t channels = 0, h = 0, w = 0;
  int64_t out_h = 1, out_w = 1;
  Operator op;
};

// Bottom/right padding that yields exactly w.out windows along `d` (ceil_mode adds to the declared pads).
int64_t extra_pad_end(const cf::Window& w, size_t d) {
  return (w.out[d] - 1) * w.stride[d] + (w.kernel[d] - 1) * w.dilation[d] + 1 - w.in[d] - w.pad_begin[d];
}

// `nwc`: GlobalAveragePool reads NHWC (else NCHW, XNNPACK's NCW variant).
Result<Operator> create_op(const PoolSpec& s, int64_t channels, const cf::Window* w, bool nwc) {
  xnn_operator_t op = nullptr;
  const auto u = [](int64_t v) { return static_cast<uint32_t>(v); };
  const size_t c = static_cast<size_t>(channels);
  constexpr float inf = std::numeric_limits<float>::infinity();
  xnn_status st;
  const char* call;
  if (s.kind == PoolKind::GlobalAverage && nwc) {
    call = "xnn_create_global_average_pooling_nwc_f32";
    st = xnn_create_global_average_pooling_nwc_f32(c, c, c, -inf, inf, 0, &op);
  } else if (s.kind == PoolKind::GlobalAverage) {
    call = "xnn_create_global_average_pooling_ncw_f32";
    st = xnn_create_global_average_pooling_ncw_f32(c, -inf, inf, 0, &op);
  } else {
    const int64_t pe[2] = {extra_pad_end(*w, 0), extra_pad_end(*w, 1)};
    if (pe[0] < 0 || pe[1] < 0) return unsupported("{}: negative padding", s.what);
    if (s.kind == PoolKind::Max) {
      call = "xnn_create_max_pooling2d_nhwc_f32";
      st = xnn_create_max_pooling2d_nhwc_f32(u(w->pad_begin[0]), u(pe[1]), u(pe[0]), u(w->pad_begin[1]), u(w->kernel[0]),
                                             u(w->kernel[1]), u(w->stride[0]), u(w->stride[1]), u(w->dilation[0]),
                                             u(w->dilation[1]), c, c, c, -inf, inf, 0, &op);
    } else {
      call = "xnn_create_average_pooling2d_nhwc_f32";
      st = xnn_create_average_pooling2d_nhwc_f32(u(w->pad_begin[0]), u(pe[1]), u(pe[0]), u(w->pad_begin[1]),
                                                 u(w->kernel[0]), u(w->kernel[1]), u(w->stride[0]), u(w->stride[1]), c,
                                                 c, c, -inf, inf, 0, &op);
    }
  }
  TRY(check(st, s.what, call));
  return Operator(op);
}

// The geometry of `s` over input dims `x` (4-D): its operator, or a null one for the cpu kernel.
Result<std::unique_ptr<Prepared>> prepare(const PoolSpec& s, const std::vector<int64_t>& x, bool nwc) {
  auto p = std::make_unique<Prepared>();
  p->channels = x[1];
  p->h = x[2];
  p->w = x[3];
  std::optional<cf::Window> win;
  if (s.kind != PoolKind::GlobalAverage) {
    std::span<const int64_t> in(x.data() + 2, 2);
    ASSIGN_OR_RETURN(win, cf::resolve_window(*s.node, s.attrs, in, s.attrs.kernel_shape, cf::WindowKind::Pool));
    p->out_h = win->out[0];
    p->out_w = win->out[1];
    // Extra pads would enter the divisor of count_include_pad=1; every window must hold an input
    // pixel for XNNPACK (and for ONNX's answer to be a plain max or mean).
    const bool any_pad = win->pad_begin[0] || win->pad_begin[1] || win->pad_end[0] || win->pad_end[1];
    if (s.kind == PoolKind::Average && s.include_pad && any_pad) return p;
    for (size_t d = 0; d < 2; ++d) {
      const int64_t pe = extra_pad_end(*win, d);
      if (win->pad_begin[d] >= win->kernel[d] || pe >= win->kernel[d]) return p;
      // XNNPACK's max pooling reads the nearest edge pixel for a tap in the padding: inside the
      // window when it is contiguous, but maybe not one of its taps when dilated.
      if (win->dilation[d] > 1 && (win->pad_begin[d] > 0 || pe > 0)) return p;
    }
  }
  if (x[0] == 0 || x[1] == 0 || x[2] == 0 || x[3] == 0 || p->out_h <= 0 || p->out_w <= 0) return p;
  auto op = create_op(s, x[1], win ? &*win : nullptr, nwc);
  if (op.is_ok()) p->op = std::move(*op);  // else a geometry XNNPACK refuses (e.g. a 1x1 window): the cpu kernel's
  return p;
}

class XnnPoolKernel final : public Kernel {
 public:
  XnnPoolKernel(std::shared_ptr<const PoolSpec> spec, ThreadPoolPtr pool, Layout layout, const KernelInit& init)
      : spec_(std::move(spec)), pool_(std::move(pool)), layout_(layout), fallback_(init) {}

  Result<Prepared*> prepared(const std::vector<int64_t>& x, bool nwc) {
    for (size_t i = 0; i < cache_.size(); ++i) {
      const Prepared& p = *cache_[i];
      if (p.channels != x[1] || p.h != x[2] || p.w != x[3]) continue;
      auto it = cache_.begin() + static_cast<std::ptrdiff_t>(i);
      std::rotate(it, it + 1, cache_.end());
      return cache_.back().get();
    }
    ASSIGN_OR_RETURN(std::unique_ptr<Prepared> p, prepare(*spec_, x, nwc));
    if (cache_.size() >= 4) cache_.erase(cache_.begin());
    cache_.push_back(std::move(p));
    return cache_.back().get();
  }

  Status run(KernelContext& ctx) override {
    const PoolSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    if (!x || x->dtype() != DType::Float || x->rank() != 4) return fallback_.run(ctx, x ? x->dtype() : DType::Float);
    const auto& xd = x->dims();
    ASSIGN_OR_RETURN(Prepared * p, prepared(xd, layout_.in_nhwc));
    if (!p->op) {
      // NHWC only for shapes prepared at claim time: a model whose declared shape lies ends here.
      if (layout_.in_nhwc || layout_.out_nhwc)
        return invalid("{}: XNNPACK cannot pool input shape {} (the graph declares another)", s.what,
                       cf::dims_string(xd));
      return fallback_.run(ctx, DType::Float);
    }
    const size_t n = static_cast<size_t>(xd[0]), c = static_cast<size_t>(xd[1]);
    const size_t h = static_cast<size_t>(xd[2]), w = static_cast<size_t>(xd[3]);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, {xd[0], xd[1], p->out_h, p->out_w}));
    pthreadpool_t tp = pool_.get();
    if (s.kind == PoolKind::GlobalAverage) {
      const bool nwc = layout_.in_nhwc;
      TRY(check(nwc ? xnn_setup_global_average_pooling_nwc_f32(p->op.get(), n, h * w, x->data<float>(),
                                                                y->mutable_data<float>(), tp)
                    : xnn_setup_global_average_pooling_ncw_f32(p->op.get(), n, h * w, x->data<float>(),
                                                                y->mutable_data<float>(), tp),
                s.what, nwc ? "xnn_setup_global_average_pooling_nwc_f32" : "xnn_setup_global_average_pooling_ncw_f32"));
      return check(xnn_run_operator(p->op.get(), tp), s.what, "xnn_run_operator");
    }
    const size_t out_hw = static_cast<size_t>(p->out_h * p->out_w);
    const bool in_plain = layout_.in_nhwc || c == 1 || h * w == 1;
    const bool out_plain = layout_.out_nhwc || c == 1 || out_hw == 1;
    const float* src = x->data<float>();
    if (!in_plain) {
      in_buf_.resize(static_cast<size_t>(x->numel()));
      nchw_to_nhwc(src, in_buf_.data(), n, c, h * w, tp);
      src = in_buf_.data();
    }
    float* dst = y->mutable_data<float>();
    if (!out_plain) {
      out_buf_.resize(static_cast<size_t>(y->numel()));
      dst = out_buf_.data();
    }
    const bool max = s.kind == PoolKind::Max;
    TRY(check(max ? xnn_setup_max_pooling2d_nhwc_f32(p->op.get(), n, h, w, src, dst, tp)
                  : xnn_setup_average_pooling2d_nhwc_f32(p->op.get(), n, h, w, src, dst, tp),
              s.what, max ? "xnn_setup_max_pooling2d_nhwc_f32" : "xnn_setup_average_pooling2d_nhwc_f32"));
    TRY(check(xnn_run_operator(p->op.get(), tp), s.what, "xnn_run_operator"));
    if (!out_plain) nhwc_to_nchw(dst, y->mutable_data<float>(), n, c, out_hw, tp);
    return Status::ok();
  }

 private:
  std::shared_ptr<const PoolSpec> spec_;
  ThreadPoolPtr pool_;
  Layout layout_;
  CpuFallback fallback_;
  std::vector<std::unique_ptr<Prepared>> cache_;  // most recent last
  std::vector<float> in_buf_, out_buf_;           // NHWC scratch
};

}  // namespace

std::optional<XnnClaim> claim_pool(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool) {
  const ir::Value* x = node.input(0);
  // MaxPool's Indices output is the reference kernel's job.
  if (!x || node.num_inputs() != 1 || !node.output(0) || (node.num_outputs() > 1 && node.output(1))) return std::nullopt;
  if (x->type.is_tensor() && ((x->type.elem != DType::Float && x->type.elem != DType::Undefined) ||
                              (x->type.shape && x->type.shape->size() != 4)))
    return std::nullopt;
  auto spec = std::make_shared<PoolSpec>();
  spec->node = &node;
  spec->what = node.describe();
  const std::string& op = node.op_type();
  if (op == "GlobalAveragePool") {
    spec->kind = PoolKind::GlobalAverage;
  } else {
    spec->kind = op == "MaxPool" ? PoolKind::Max : PoolKind::Average;
    if (!cf::parse_window_attrs(node, spec->attrs).is_ok() || !cf::check_window_ranks(node, spec->attrs, 2).is_ok())
      return std::nullopt;
    if (spec->attrs.kernel_shape.size() != 2) return std::nullopt;
    if (spec->kind == PoolKind::Max) {
      if (view.opset(node) < 8 && node.num_outputs() > 1) return std::nullopt;
    } else {
      if (spec->attrs.ceil_mode) return std::nullopt;
      for (int64_t d : spec->attrs.dilations)
        if (d != 1) return std::nullopt;
      spec->include_pad = node.attr_int("count_include_pad", 0) != 0;
    }
  }
  const std::vector<int64_t> xd = static_dims(*x);
  if (!xd.empty()) {
    // A fixed shape: decide now, so a geometry XNNPACK rejects stays with the cpu provider.
    auto p = prepare(*spec, xd, false);
    if (!p.is_ok() || !(*p)->op) return std::nullopt;
  }
  XnnClaim out;
  // NHWC only with a fixed shape that XNNPACK takes: no cpu fallback (NCHW) at run time.
  out.nhwc_in_ok = !xd.empty();
  out.nhwc_out_ok = !xd.empty() && spec->kind != PoolKind::GlobalAverage;  // [N, C, 1, 1]: the same bytes
  Claim& c = out.claim;
  c.nodes = {&node};
  c.factory = [spec, pool, xd, layout = out.layout](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<XnnPoolKernel>(spec, pool, *layout, init);
    if (!xd.empty()) TRY(k->prepared(xd, layout->in_nhwc).status());  // the operator made at session creation
    return std::unique_ptr<Kernel>(std::move(k));
  };
  return out;
}

}  // namespace ortool::rt::xnn_ep
