// The xnnpack provider's Conv: 2-D float32 convolution with constant weights, bias and a fused Relu/Clip.
//
// XNNPACK's convolution is NHWC. Inside a region of xnnpack steps the values stay NHWC (see
// xnn_layout.cpp); at its borders the kernel transposes an NCHW input into a scratch buffer and its
// output back (skipped when a side is 1x1 or has one channel, where both layouts are the same bytes). The operator packs the weights when it is created: at session
// creation for fixed pads, else on first sight of each SAME padding. Setup runs every call: XNNPACK
// keeps the indirection buffer when the shape and buffers are the ones it saw last.
#include <algorithm>
#include <array>
#include <memory>
#include <span>

#include "runtime/cpu/conv.h"
#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt::xnn_ep {

namespace {

namespace cf = cpu::conv_family;
using Pads = std::array<int64_t, 4>;  // top, left, bottom, right

struct ConvSpec {
  std::vector<const ir::Node*> nodes;  // the Conv, then the fused activation if any
  std::string what;
  cf::WindowAttrs attrs;
  int64_t group = 1, cin_g = 0, cout_g = 0, kh = 0, kw = 0;
  std::vector<float> w;  // [group][cout_g][kh][kw][cin_g], XNNPACK's layout
  std::vector<float> b;  // [group * cout_g]; empty: none
  Clamp clamp;
};

Result<cf::Window> window_for(const ConvSpec& s, const std::vector<int64_t>& x) {
  const int64_t k[2] = {s.kh, s.kw};
  std::span<const int64_t> in(x.data() + 2, 2);
  return cf::resolve_window(*s.nodes.front(), s.attrs, in, k, cf::WindowKind::Conv);
}

Pads pads_of(const cf::Window& w) { return {w.pad_begin[0], w.pad_begin[1], w.pad_end[0], w.pad_end[1]}; }

Result<Operator> create_op(const ConvSpec& s, const cf::Window& win) {
  xnn_operator_t op = nullptr;
  const size_t cin = static_cast<size_t>(s.group * s.cin_g), cout = static_cast<size_t>(s.group * s.cout_g);
  TRY(check(xnn_create_convolution2d_nhwc_f32(
                static_cast<uint32_t>(win.pad_begin[0]), static_cast<uint32_t>(win.pad_end[1]),
                static_cast<uint32_t>(win.pad_end[0]), static_cast<uint32_t>(win.pad_begin[1]),
                static_cast<uint32_t>(s.kh), static_cast<uint32_t>(s.kw), static_cast<uint32_t>(win.stride[0]),
                static_cast<uint32_t>(win.stride[1]), static_cast<uint32_t>(win.dilation[0]),
                static_cast<uint32_t>(win.dilation[1]), static_cast<uint32_t>(s.group), static_cast<size_t>(s.cin_g),
                static_cast<size_t>(s.cout_g), cin, cout, s.w.data(), s.b.empty() ? nullptr : s.b.data(), s.clamp.lo,
                s.clamp.hi, 0, &op),
            s.what, "xnn_create_convolution2d_nhwc_f32"));
  return Operator(op);
}

class XnnConvKernel final : public Kernel {
 public:
  XnnConvKernel(std::shared_ptr<const ConvSpec> spec, ThreadPoolPtr pool, Layout layout)
      : spec_(std::move(spec)), pool_(std::move(pool)), layout_(layout) {}

  // The operator for these pads; created (weights packed) on first sight.
  Result<xnn_operator_t> op_for(const cf::Window& win) {
    const Pads p = pads_of(win);
    for (auto& [pads, op] : ops_)
      if (pads == p) return op.get();
    ASSIGN_OR_RETURN(Operator op, create_op(*spec_, win));
    return adopt(win, std::move(op));
  }
  xnn_operator_t adopt(const cf::Window& win, Operator op) {
    // SAME pads follow the input size; a few entries cover a model fed a few sizes.
    if (ops_.size() >= 4) ops_.erase(ops_.begin());
    ops_.emplace_back(pads_of(win), std::move(op));
    return ops_.back().second.get();
  }

  Status run(KernelContext& ctx) override {
    const ConvSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input X is required", s.what);
    if (x->dtype() != DType::Float) return invalid("{}: input X is {}, the weight is float", s.what, dtype_name(x->dtype()));
    if (x->rank() != 4 || x->dims()[1] != s.cin_g * s.group)
      return invalid("{}: input X has shape {}; want [N, {}, H, W] for a weight of {} output channels and group {}",
                     s.what, cf::dims_string(x->dims()), s.cin_g * s.group, s.cout_g * s.group, s.group);
    const auto& xd = x->dims();
    ASSIGN_OR_RETURN(cf::Window win, window_for(s, xd));
    const std::vector<int64_t> yd{xd[0], s.cout_g * s.group, win.out[0], win.out[1]};
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, yd));
    if (x->numel() == 0 || y->numel() == 0) return Status::ok();
    ASSIGN_OR_RETURN(xnn_operator_t op, op_for(win));
    const size_t n = static_cast<size_t>(xd[0]), cin = static_cast<size_t>(xd[1]), cout = static_cast<size_t>(yd[1]);
    const size_t in_hw = static_cast<size_t>(xd[2] * xd[3]), out_hw = static_cast<size_t>(yd[2] * yd[3]);
    // Already NHWC (a value kept so between xnnpack steps), or one channel or one pixel, where NCHW
    // and NHWC are the same bytes: no transpose.
    const bool in_plain = layout_.in_nhwc || cin == 1 || in_hw == 1;
    const bool out_plain = layout_.out_nhwc || cout == 1 || out_hw == 1;
    const float* src = x->data<float>();
    if (!in_plain) {
      in_buf_.resize(static_cast<size_t>(x->numel()));
      nchw_to_nhwc(src, in_buf_.data(), n, cin, in_hw, pool_.get());
      src = in_buf_.data();
    }
    float* dst = y->mutable_data<float>();
    if (!out_plain) {
      out_buf_.resize(static_cast<size_t>(y->numel()));
      dst = out_buf_.data();
    }
    TRY(check(xnn_setup_convolution2d_nhwc_f32(op, n, static_cast<size_t>(xd[2]), static_cast<size_t>(xd[3]), src, dst,
                                               pool_.get()),
              s.what, "xnn_setup_convolution2d_nhwc_f32"));
    TRY(check(xnn_run_operator(op, pool_.get()), s.what, "xnn_run_operator"));
    if (!out_plain) nhwc_to_nchw(dst, y->mutable_data<float>(), n, cout, out_hw, pool_.get());
    return Status::ok();
  }

 private:
  std::shared_ptr<const ConvSpec> spec_;
  ThreadPoolPtr pool_;
  Layout layout_;
  std::vector<std::pair<Pads, Operator>> ops_;  // most recent last
  std::vector<float> in_buf_, out_buf_;         // NHWC scratch
};

}  // namespace

std::optional<XnnClaim> claim_conv(const GraphView& view, const ir::Node& conv, const ThreadPoolPtr& pool) {
  const ir::Value* x = conv.input(0);
  const ir::Value* b = conv.input(2);
  if (!x || conv.num_inputs() > 3 || conv.num_outputs() != 1 || !conv.output(0)) return std::nullopt;
  const TensorPtr wc = fixed_tensor(view, conv.input(1)), bc = fixed_tensor(view, b);
  if (!wc || (b && !bc)) return std::nullopt;
  const Tensor& wt = *wc;
  if (wt.dtype() != DType::Float || wt.rank() != 4 || wt.numel() == 0) return std::nullopt;
  if (x->type.is_tensor() && x->type.elem != DType::Float && x->type.elem != DType::Undefined) return std::nullopt;
  if (x->type.is_tensor() && x->type.shape && x->type.shape->size() != 4) return std::nullopt;

  auto spec = std::make_shared<ConvSpec>();
  spec->group = conv.attr_int("group", 1);
  const int64_t m = wt.dims()[0];
  if (spec->group <= 0 || m % spec->group != 0) return std::nullopt;
  spec->cin_g = wt.dims()[1];
  spec->cout_g = m / spec->group;
  spec->kh = wt.dims()[2];
  spec->kw = wt.dims()[3];
  if (x->type.is_tensor() && x->type.shape) {
    const Dim& c = (*x->type.shape)[1];
    if (c.is_known() && c.value != spec->cin_g * spec->group) return std::nullopt;
  }
  if (b) {
    if (bc->dtype() != DType::Float || bc->rank() != 1 || bc->dims()[0] != m) return std::nullopt;
    spec->b.assign(bc->data<float>(), bc->data<float>() + m);
  }
  if (!cf::parse_window_attrs(conv, spec->attrs).is_ok() || !cf::check_window_ranks(conv, spec->attrs, 2).is_ok())
    return std::nullopt;
  const auto& ks = spec->attrs.kernel_shape;
  if (!ks.empty() && !std::equal(ks.begin(), ks.end(), wt.dims().begin() + 2, wt.dims().end())) return std::nullopt;
  // ONNX's [M, C/g, kH, kW] to XNNPACK's [g][M/g][kH][kW][C/g].
  const int64_t khw = spec->kh * spec->kw;
  spec->w.resize(static_cast<size_t>(wt.numel()));
  const float* w0 = wt.data<float>();
  for (int64_t o = 0; o < m; ++o)
    for (int64_t c = 0; c < spec->cin_g; ++c)
      for (int64_t k = 0; k < khw; ++k)
        spec->w[static_cast<size_t>((o * khw + k) * spec->cin_g + c)] = w0[(o * spec->cin_g + c) * khw + k];
  spec->nodes = {&conv};
  spec->clamp = fusable_clamp(view, conv);
  if (spec->clamp.node) spec->nodes.push_back(spec->clamp.node);
  spec->what = describe_nodes(spec->nodes);

  // The pads are known without the input size unless auto_pad is SAME: then make the operator per size.
  const bool same = spec->attrs.auto_pad == cf::AutoPad::SameUpper || spec->attrs.auto_pad == cf::AutoPad::SameLower;
  std::vector<int64_t> xd = static_dims(*x);
  if (xd.empty() && !same) xd = {1, spec->cin_g * spec->group, spec->kh * 64, spec->kw * 64};  // any size: pads are fixed
  // With the pads known, make the operator now (packing the weights), so a geometry XNNPACK rejects
  // stays on the cpu provider; the kernel adopts it.
  auto first = std::make_shared<std::optional<std::pair<cf::Window, Operator>>>();
  if (!xd.empty()) {
    auto win = window_for(*spec, xd);
    if (!win.is_ok()) return std::nullopt;
    auto op = create_op(*spec, *win);
    if (!op.is_ok()) return std::nullopt;
    first->emplace(std::move(*win), std::move(*op));
  }
  XnnClaim out;
  out.nhwc_in_ok = out.nhwc_out_ok = true;
  Claim& c = out.claim;
  c.nodes = spec->nodes;
  c.factory = [spec, pool, first, layout = out.layout](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<XnnConvKernel>(spec, pool, *layout);
    if (*first) {
      k->adopt(first->value().first, std::move(first->value().second));
      first->reset();
    }
    return std::unique_ptr<Kernel>(std::move(k));
  };
  return out;
}

}  // namespace ortool::rt::xnn_ep
