// The xnnpack provider's ConvTranspose: 2-D float32 deconvolution with constant weights, bias and a fused Relu/Clip.
//
// The geometry (pads, auto_pad, output_padding, output_shape) is the cpu kernel's
// (cpu::conv_family::resolve_transpose_window): XNNPACK's paddings crop the full output like ONNX's
// pads, and its "adjustment" is ONNX's output_padding. Pads can depend on the input size (output_shape,
// with a static input shape), so operators are cached per padding; adjustment is a setup argument.
// NHWC in and out like xnn_conv.cpp: inside an xnnpack region no transpose, at its borders one.
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

struct DeconvSpec {
  std::vector<const ir::Node*> nodes;  // the ConvTranspose, then the fused activation if any
  std::string what;
  cf::WindowAttrs attrs;
  std::vector<int64_t> output_padding, output_shape;  // output_shape: its spatial dims
  int64_t group = 1, cin_g = 0, cout_g = 0, kh = 0, kw = 0;
  std::vector<float> w;  // [group][cout_g][kh][kw][cin_g], XNNPACK's layout
  std::vector<float> b;  // [group * cout_g]; empty: none
  Clamp clamp;
};

Result<cf::Window> window_for(const DeconvSpec& s, const std::vector<int64_t>& x) {
  const int64_t k[2] = {s.kh, s.kw};
  return cf::resolve_transpose_window(*s.nodes.front(), s.attrs, s.output_padding, s.output_shape,
                                      std::span<const int64_t>(x.data() + 2, 2), k);
}

Pads pads_of(const cf::Window& w) { return {w.pad_begin[0], w.pad_begin[1], w.pad_end[0], w.pad_end[1]}; }

// XNNPACK takes non-negative paddings and an adjustment below the stride; anything else stays on cpu
// (at claim time) or is an error naming the node (a shape met at run time).
bool xnnpack_can(const DeconvSpec& s, const cf::Window& w) {
  for (int64_t p : pads_of(w))
    if (p < 0) return false;
  for (size_t d = 0; d < 2; ++d) {
    const int64_t adj = s.output_padding.empty() ? 0 : s.output_padding[d];
    if (adj >= w.stride[d]) return false;
  }
  return true;
}

Result<Operator> create_op(const DeconvSpec& s, const cf::Window& win) {
  if (!xnnpack_can(s, win))
    return unsupported("{}: XNNPACK takes no negative pads or output_padding >= stride (pads {}, {}, {}, {})", s.what,
                       win.pad_begin[0], win.pad_begin[1], win.pad_end[0], win.pad_end[1]);
  xnn_operator_t op = nullptr;
  const size_t cin = static_cast<size_t>(s.group * s.cin_g), cout = static_cast<size_t>(s.group * s.cout_g);
  TRY(check(xnn_create_deconvolution2d_nhwc_f32(
                static_cast<uint32_t>(win.pad_begin[0]), static_cast<uint32_t>(win.pad_end[1]),
                static_cast<uint32_t>(win.pad_end[0]), static_cast<uint32_t>(win.pad_begin[1]),
                static_cast<uint32_t>(s.kh), static_cast<uint32_t>(s.kw), static_cast<uint32_t>(win.stride[0]),
                static_cast<uint32_t>(win.stride[1]), static_cast<uint32_t>(win.dilation[0]),
                static_cast<uint32_t>(win.dilation[1]), static_cast<uint32_t>(s.group), static_cast<size_t>(s.cin_g),
                static_cast<size_t>(s.cout_g), cin, cout, s.w.data(), s.b.empty() ? nullptr : s.b.data(), s.clamp.lo,
                s.clamp.hi, 0, &op),
            s.what, "xnn_create_deconvolution2d_nhwc_f32"));
  return Operator(op);
}

class XnnDeconvKernel final : public Kernel {
 public:
  XnnDeconvKernel(std::shared_ptr<const DeconvSpec> spec, ThreadPoolPtr pool, Layout layout)
      : spec_(std::move(spec)), pool_(std::move(pool)), layout_(layout) {}

  Result<xnn_operator_t> op_for(const cf::Window& win) {
    const Pads p = pads_of(win);
    for (auto& [pads, op] : ops_)
      if (pads == p) return op.get();
    ASSIGN_OR_RETURN(Operator op, create_op(*spec_, win));
    return adopt(win, std::move(op));
  }
  xnn_operator_t adopt(const cf::Window& win, Operator op) {
    if (ops_.size() >= 4) ops_.erase(ops_.begin());
    ops_.emplace_back(pads_of(win), std::move(op));
    return ops_.back().second.get();
  }

  Status run(KernelContext& ctx) override {
    const DeconvSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input X is required", s.what);
    if (x->dtype() != DType::Float) return invalid("{}: input X is {}, the weight is float", s.what, dtype_name(x->dtype()));
    if (x->rank() != 4 || x->dims()[1] != s.cin_g * s.group)
      return invalid("{}: input X has shape {}; want [N, {}, H, W] for a weight of {} input channels", s.what,
                     cf::dims_string(x->dims()), s.cin_g * s.group, s.cin_g * s.group);
    const auto& xd = x->dims();
    ASSIGN_OR_RETURN(cf::Window win, window_for(s, xd));
    const std::vector<int64_t> yd{xd[0], s.cout_g * s.group, win.in[0], win.in[1]};
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, yd, KernelContext::Fill::Uninitialized));
    if (x->numel() == 0 || y->numel() == 0) {  // nothing to scatter: the output is the bias alone
      float* out = y->mutable_data<float>();
      const int64_t plane = yd[2] * yd[3];
      for (int64_t i = 0; i < y->numel(); ++i)
        out[i] = s.b.empty() ? 0.0f : s.b[static_cast<size_t>((i / plane) % yd[1])];
      return Status::ok();
    }
    ASSIGN_OR_RETURN(xnn_operator_t op, op_for(win));
    const size_t n = static_cast<size_t>(xd[0]), cin = static_cast<size_t>(xd[1]), cout = static_cast<size_t>(yd[1]);
    const size_t in_hw = static_cast<size_t>(xd[2] * xd[3]), out_hw = static_cast<size_t>(yd[2] * yd[3]);
    const bool in_plain = layout_.in_nhwc || cin == 1 || in_hw == 1;
    const bool out_plain = layout_.out_nhwc || cout == 1 || out_hw == 1;
    const float* src = x->data<float>();
    if (!in_plain) {
      in_buf_.resize(static_cast<size_t>(x->numel()) + 4);  // XNNPACK may read 16 bytes past the end
      nchw_to_nhwc(src, in_buf_.data(), n, cin, in_hw, pool_.get());
      src = in_buf_.data();
    }
    float* dst = y->mutable_data<float>();
    if (!out_plain) {
      out_buf_.resize(static_cast<size_t>(y->numel()));
      dst = out_buf_.data();
    }
    const uint32_t adj_h = static_cast<uint32_t>(s.output_padding.empty() ? 0 : s.output_padding[0]);
    const uint32_t adj_w = static_cast<uint32_t>(s.output_padding.empty() ? 0 : s.output_padding[1]);
    TRY(check(xnn_setup_deconvolution2d_nhwc_f32(op, n, static_cast<size_t>(xd[2]), static_cast<size_t>(xd[3]), adj_h,
                                                 adj_w, src, dst, pool_.get()),
              s.what, "xnn_setup_deconvolution2d_nhwc_f32"));
    TRY(check(xnn_run_operator(op, pool_.get()), s.what, "xnn_run_operator"));
    if (!out_plain) nhwc_to_nchw(dst, y->mutable_data<float>(), n, cout, out_hw, pool_.get());
    return Status::ok();
  }

 private:
  std::shared_ptr<const DeconvSpec> spec_;
  ThreadPoolPtr pool_;
  Layout layout_;
  std::vector<std::pair<Pads, Operator>> ops_;  // most recent last
  std::vector<float> in_buf_, out_buf_;         // NHWC scratch
};

}  // namespace

std::optional<XnnClaim> claim_deconv(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool) {
  const ir::Value* x = node.input(0);
  const ir::Value* b = node.input(2);
  if (!x || node.num_inputs() > 3 || node.num_outputs() != 1 || !node.output(0)) return std::nullopt;
  const TensorPtr wc = fixed_tensor(view, node.input(1)), bc = fixed_tensor(view, b);
  if (!wc || (b && !bc)) return std::nullopt;
  const Tensor& wt = *wc;
  if (wt.dtype() != DType::Float || wt.rank() != 4 || wt.numel() == 0) return std::nullopt;
  if (x->type.is_tensor() && x->type.elem != DType::Float && x->type.elem != DType::Undefined) return std::nullopt;
  if (x->type.is_tensor() && x->type.shape && x->type.shape->size() != 4) return std::nullopt;

  auto spec = std::make_shared<DeconvSpec>();
  spec->group = node.attr_int("group", 1);
  const int64_t c_in = wt.dims()[0];  // ONNX's ConvTranspose weight: [C, M/group, kH, kW]
  if (spec->group <= 0 || c_in % spec->group != 0) return std::nullopt;
  spec->cin_g = c_in / spec->group;
  spec->cout_g = wt.dims()[1];
  spec->kh = wt.dims()[2];
  spec->kw = wt.dims()[3];
  const int64_t m = spec->cout_g * spec->group;
  if (x->type.is_tensor() && x->type.shape) {
    const Dim& c = (*x->type.shape)[1];
    if (c.is_known() && c.value != c_in) return std::nullopt;
  }
  if (b) {
    if (bc->dtype() != DType::Float || bc->rank() != 1 || bc->dims()[0] != m) return std::nullopt;
    spec->b.assign(bc->data<float>(), bc->data<float>() + m);
  }
  if (!cf::parse_window_attrs(node, spec->attrs).is_ok() || !cf::check_window_ranks(node, spec->attrs, 2).is_ok())
    return std::nullopt;
  const auto& ks = spec->attrs.kernel_shape;
  if (!ks.empty() && !std::equal(ks.begin(), ks.end(), wt.dims().begin() + 2, wt.dims().end())) return std::nullopt;
  spec->output_padding = node.attr_ints("output_padding");
  spec->output_shape = node.attr_ints("output_shape");
  if (spec->output_shape.size() == 4) spec->output_shape.erase(spec->output_shape.begin(), spec->output_shape.begin() + 2);
  if ((!spec->output_padding.empty() && spec->output_padding.size() != 2) ||
      (!spec->output_shape.empty() && spec->output_shape.size() != 2))
    return std::nullopt;
  for (int64_t v : spec->output_padding)
    if (v < 0) return std::nullopt;
  for (int64_t v : spec->output_shape)
    if (v < 0) return std::nullopt;
  // ONNX's [g][C/g][M/g][kH][kW] to XNNPACK's [g][M/g][kH][kW][C/g].
  const int64_t khw = spec->kh * spec->kw;
  spec->w.resize(static_cast<size_t>(wt.numel()));
  const float* w0 = wt.data<float>();
  for (int64_t g = 0; g < spec->group; ++g)
    for (int64_t ic = 0; ic < spec->cin_g; ++ic)
      for (int64_t oc = 0; oc < spec->cout_g; ++oc)
        for (int64_t k = 0; k < khw; ++k)
          spec->w[static_cast<size_t>(((g * spec->cout_g + oc) * khw + k) * spec->cin_g + ic)] =
              w0[((g * spec->cin_g + ic) * spec->cout_g + oc) * khw + k];
  spec->nodes = {&node};
  spec->clamp = fusable_clamp(view, node);
  if (spec->clamp.node) spec->nodes.push_back(spec->clamp.node);
  spec->what = describe_nodes(spec->nodes);

  // Pads depend on the input size only through output_shape (SAME's total is the same for every
  // size): without a static shape, any size shows them; with output_shape they could turn negative
  // at run time, so that case stays on cpu.
  std::vector<int64_t> xd = static_dims(*x);
  if (xd.empty() && !spec->output_shape.empty()) return std::nullopt;
  if (xd.empty()) xd = {1, c_in, 16, 16};
  auto first = std::make_shared<std::optional<std::pair<cf::Window, Operator>>>();
  auto win = window_for(*spec, xd);
  if (!win.is_ok()) return std::nullopt;
  auto op = create_op(*spec, *win);
  if (!op.is_ok()) return std::nullopt;
  first->emplace(std::move(*win), std::move(*op));
  XnnClaim out;
  out.nhwc_in_ok = out.nhwc_out_ok = true;
  Claim& c = out.claim;
  c.nodes = spec->nodes;
  c.factory = [spec, pool, first, layout = out.layout](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<XnnDeconvKernel>(spec, pool, *layout);
    if (*first) {
      k->adopt(first->value().first, std::move(first->value().second));
      first->reset();
    }
    return std::unique_ptr<Kernel>(std::move(k));
  };
  return out;
}

}  // namespace ortool::rt::xnn_ep
