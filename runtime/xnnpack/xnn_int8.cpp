// The xnnpack provider's int8 groups: QDQ Conv/Gemm/MatMul and QLinearConv/QLinearMatMul as XNNPACK qc8/qs8 operators.
//
// A group (runtime/qdq_group.h) reads an 8-bit activation and writes the 8-bit output of its
// QuantizeLinear (or QLinear op); the float tensors between are never made. XNNPACK's signed
// operators compute y = clamp(round(acc * x_scale * w_scale[m] / y_scale) + y_zp, out_min, out_max)
// with acc = sum (x - x_zp) * w + bias[m], exact in int32, the rounding half to even before the zero
// point is added (as QuantizeLinear does). Convolutions use qc8 (per-channel weight scales; a
// per-tensor scale repeated), Gemm/MatMul the qs8 fully-connected operator for per-tensor weights
// and, for per-channel ones, a qc8 1x1 convolution over the rows (the same GEMM, with a scale per
// output channel). Differences from the reference stay within one step: its float sum and division
// against XNNPACK's integer sum and float multiply only disagree next to a rounding tie.
//
// uint8 activations (ortool's default) are the int8 values x - 128 with the zero point moved by 128:
// flipping the top bit converts exactly, at the group's entry and exit (fused with the NCHW/NHWC
// transposes at a region's borders). The bias, in accumulator units, is rounded to int32 as ONNX
// Runtime's quantizer does; a fused Relu/Clip is the output clamp Q(lo)..Q(hi) (Q is monotone, so
// clamping after it equals quantizing the clipped value).
//
// A DequantizeLinear of an activation shared with other readers runs on its own (xnn_qdq.cpp, or the next
// provider); the group reads its float output and quantizes it back, exactly (Q(DQ(q)) = q).
#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <span>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/cpu/conv.h"
#include "runtime/partition.h"
#include "runtime/qdq_group.h"
#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt::xnn_ep {

namespace {

// Multiply-adds below which a step runs on the calling thread: about 10 us of XNNPACK's 16-bit int8 GEMMs.
constexpr double kParallelMacs = 1 << 19;

namespace cf = cpu::conv_family;
using Pads = std::array<int64_t, 4>;  // top, left, bottom, right

struct Int8Spec {
  qdq::Int8Group g;
  std::string what;
  bool conv = false;
  bool per_channel = false;  // weight scales differ between output channels
  // Conv
  cf::WindowAttrs attrs;
  int64_t group = 1, cin_g = 0, cout_g = 0, kh = 0, kw = 0;
  // Gemm/MatMul: [rows, k] times [k, n]
  int64_t k = 0, n = 0;
  std::vector<int8_t> w;      // XNNPACK's layout: [g][M/g][kH][kW][C/g], or [N][K]
  std::vector<int32_t> bias;  // one per output channel (zeros when the group has none)
  int8_t x_zp = 0, y_zp = 0;  // in the int8 domain (uint8's moved by -128)
  int8_t out_min = -128, out_max = 127;
  uint8_t x_flip = 0, y_flip = 0;  // 0x80 for uint8 activations
};

int8_t to_int8_domain(int32_t zp, DType t) { return static_cast<int8_t>(t == DType::UInt8 ? zp - 128 : zp); }

// QuantizeLinear of a bound `v` (+-inf: the type's limits) in the int8 domain.
int8_t quantized_bound(float v, const qdq::ActQuant& q) {
  const double lo = q.type == DType::UInt8 ? 0 : -128, hi = q.type == DType::UInt8 ? 255 : 127;
  double r = std::isinf(v) ? (v < 0 ? lo : hi) : std::nearbyint(static_cast<double>(v / q.scale)) + q.zero_point;
  r = std::clamp(r, lo, hi);
  return to_int8_domain(static_cast<int32_t>(r), q.type);
}

// The spec for a matched group, or the reason XNNPACK cannot run it.
Result<std::shared_ptr<Int8Spec>> make_spec(qdq::Int8Group g) {
  auto s = std::make_shared<Int8Spec>();
  s->g = std::move(g);
  const qdq::Int8Group& G = s->g;
  s->what = describe_nodes(G.nodes);
  for (float ws : G.w_scale) s->per_channel = s->per_channel || ws != G.w_scale[0];
  s->x_zp = to_int8_domain(G.x.zero_point, G.x.type);
  s->y_zp = to_int8_domain(G.y.zero_point, G.y.type);
  s->x_flip = G.x.type == DType::UInt8 ? 0x80 : 0;
  s->y_flip = G.y.type == DType::UInt8 ? 0x80 : 0;
  s->out_min = quantized_bound(G.act_lo, G.y);
  s->out_max = quantized_bound(G.act_hi, G.y);
  if (s->out_min >= s->out_max) return unsupported("{}: the fused Relu/Clip leaves one output value", s->what);
  const int64_t m = G.out_channels();
  double max_scale = 0;
  for (float ws : G.w_scale) max_scale = std::max(max_scale, static_cast<double>(G.x.scale) * ws / G.y.scale);
  // XNNPACK's own limit.
  if (!(max_scale < 256.0)) return unsupported("{}: requantization scale x_scale * w_scale / y_scale >= 256", s->what);
  s->bias.assign(static_cast<size_t>(m), 0);
  for (size_t i = 0; i < G.bias.size(); ++i) {
    const double b = std::nearbyint(static_cast<double>(G.bias[i]));
    if (!(std::fabs(b) < 2147483647.0)) return unsupported("{}: the bias does not fit int32 accumulator units", s->what);
    // Rounding moves the output by up to half a step times the scale: more than a step past scale 1.
    if (b != G.bias[i] && max_scale >= 1.0)
      return unsupported("{}: a bias between accumulator units with requantization scale >= 1", s->what);
    s->bias[i] = static_cast<int32_t>(b);
  }
  const Tensor& w = *G.w;
  const int8_t* w0 = w.data<int8_t>();
  s->w.resize(static_cast<size_t>(w.numel()));
  switch (G.rule->op) {
    case qdq::Int8Op::Conv: {
      s->conv = true;
      s->group = G.core->attr_int("group", 1);
      if (w.rank() != 4) return unsupported("{}: not a 2-D convolution", s->what);
      if (s->group <= 0 || m % s->group != 0) return unsupported("{}: group does not divide the channels", s->what);
      if (!cf::parse_window_attrs(*G.core, s->attrs).is_ok() || !cf::check_window_ranks(*G.core, s->attrs, 2).is_ok())
        return unsupported("{}: window attributes", s->what);
      const auto& ks = s->attrs.kernel_shape;
      if (!ks.empty() && !std::equal(ks.begin(), ks.end(), w.dims().begin() + 2, w.dims().end()))
        return unsupported("{}: kernel_shape differs from the weight", s->what);
      if (qdq::declared_x_rank(G) != 4) return unsupported("{}: the activation has no declared rank 4", s->what);
      s->cin_g = w.dims()[1];
      s->cout_g = m / s->group;
      s->kh = w.dims()[2];
      s->kw = w.dims()[3];
      // ONNX's [M, C/g, kH, kW] to XNNPACK's [g][M/g][kH][kW][C/g].
      const int64_t khw = s->kh * s->kw;
      for (int64_t o = 0; o < m; ++o)
        for (int64_t c = 0; c < s->cin_g; ++c)
          for (int64_t k = 0; k < khw; ++k) s->w[static_cast<size_t>((o * khw + k) * s->cin_g + c)] = w0[(o * s->cin_g + c) * khw + k];
      return s;
    }
    case qdq::Int8Op::Gemm:
    case qdq::Int8Op::MatMul: {
      const int64_t rank = qdq::declared_x_rank(G);
      if (rank < 2 || (G.rule->op == qdq::Int8Op::Gemm && rank != 2))
        return unsupported("{}: the activation has no declared rank {}", s->what,
                           G.rule->op == qdq::Int8Op::Gemm ? "2" : ">= 2");
      s->n = m;
      s->k = G.trans_b ? w.dims()[1] : w.dims()[0];
      // XNNPACK's weight is [N][K]: B itself with transB, else B transposed.
      if (G.trans_b) std::copy(w0, w0 + w.numel(), s->w.begin());
      else
        for (int64_t j = 0; j < s->n; ++j)
          for (int64_t i = 0; i < s->k; ++i) s->w[static_cast<size_t>(j * s->k + i)] = w0[i * s->n + j];
      return s;
    }
    case qdq::Int8Op::ConvTranspose: break;
  }
  return unsupported("{}: ConvTranspose has no int8 path in the xnnpack provider", s->what);
}

Result<cf::Window> window_for(const Int8Spec& s, const std::vector<int64_t>& x) {
  const int64_t k[2] = {s.kh, s.kw};
  std::span<const int64_t> in(x.data() + 2, 2);
  return cf::resolve_window(*s.g.core, s.attrs, in, k, cf::WindowKind::Conv);
}

Pads pads_of(const cf::Window& w) { return {w.pad_begin[0], w.pad_begin[1], w.pad_end[0], w.pad_end[1]}; }

// The operator: a convolution for `win`, or the fully-connected one (win null).
Result<Operator> create_op(const Int8Spec& s, const cf::Window* win) {
  xnn_operator_t op = nullptr;
  const qdq::Int8Group& g = s.g;
  if (s.conv || s.per_channel) {
    // A Gemm/MatMul with per-channel weights: a 1x1 convolution over an image of `rows` pixels.
    const uint32_t top = win ? static_cast<uint32_t>(win->pad_begin[0]) : 0, left = win ? static_cast<uint32_t>(win->pad_begin[1]) : 0;
    const uint32_t bottom = win ? static_cast<uint32_t>(win->pad_end[0]) : 0, right = win ? static_cast<uint32_t>(win->pad_end[1]) : 0;
    const uint32_t kh = s.conv ? static_cast<uint32_t>(s.kh) : 1, kw = s.conv ? static_cast<uint32_t>(s.kw) : 1;
    const uint32_t sh = win ? static_cast<uint32_t>(win->stride[0]) : 1, sw = win ? static_cast<uint32_t>(win->stride[1]) : 1;
    const uint32_t dh = win ? static_cast<uint32_t>(win->dilation[0]) : 1, dw = win ? static_cast<uint32_t>(win->dilation[1]) : 1;
    const size_t groups = s.conv ? static_cast<size_t>(s.group) : 1;
    const size_t cin_g = s.conv ? static_cast<size_t>(s.cin_g) : static_cast<size_t>(s.k);
    const size_t cout_g = s.conv ? static_cast<size_t>(s.cout_g) : static_cast<size_t>(s.n);
    TRY(check(xnn_create_convolution2d_nhwc_qc8(top, right, bottom, left, kh, kw, sh, sw, dh, dw,
                                                static_cast<uint32_t>(groups), cin_g, cout_g, groups * cin_g,
                                                groups * cout_g, s.x_zp, g.x.scale, g.w_scale.data(), s.w.data(),
                                                s.bias.data(), s.y_zp, g.y.scale, s.out_min, s.out_max, 0, &op),
              s.what, "xnn_create_convolution2d_nhwc_qc8"));
  } else {
    TRY(check(xnn_create_fully_connected_nc_qs8(static_cast<size_t>(s.k), static_cast<size_t>(s.n),
                                                static_cast<size_t>(s.k), static_cast<size_t>(s.n), s.x_zp, g.x.scale,
                                                g.w_scale[0], s.w.data(), s.bias.data(), s.y_zp, g.y.scale, s.out_min,
                                                s.out_max, 0, &op),
              s.what, "xnn_create_fully_connected_nc_qs8"));
  }
  return Operator(op);
}

int64_t numel_of(const std::vector<int64_t>& d) {
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  return n;
}

void flip_bytes(const uint8_t* src, uint8_t* dst, size_t n, uint8_t flip) {
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ flip);
}

class XnnInt8Kernel final : public Kernel {
 public:
  XnnInt8Kernel(std::shared_ptr<const Int8Spec> spec, ThreadPoolPtr pool, Layout layout)
      : spec_(std::move(spec)), pool_(std::move(pool)), layout_(layout) {}

  // The operator for these pads (conv; win null: the one operator); created on first sight.
  Result<xnn_operator_t> op_for(const cf::Window* win) {
    const Pads p = win ? pads_of(*win) : Pads{};
    for (auto& [pads, op] : ops_)
      if (pads == p) return op.get();
    ASSIGN_OR_RETURN(Operator op, create_op(*spec_, win));
    return adopt(p, std::move(op));
  }
  xnn_operator_t adopt(const Pads& p, Operator op) {
    // SAME pads follow the input size; a few entries cover a model fed a few sizes.
    if (ops_.size() >= 4) ops_.erase(ops_.begin());
    ops_.emplace_back(p, std::move(op));
    return ops_.back().second.get();
  }

  Status run(KernelContext& ctx) override {
    const Int8Spec& s = *spec_;
    const qdq::Int8Group& g = s.g;
    const Tensor* x = ctx.input_tensor(g.x_input);
    // A shared DequantizeLinear's float output: quantized back here (exact).
    const bool requantize = x && g.x_dq_shared && x->dtype() == DType::Float;
    if (!x || (x->dtype() != g.x.type && !requantize))
      return invalid("{}: the activation is {}; its zero point says {}", s.what, x ? dtype_name(x->dtype()) : "absent",
                     dtype_name(g.x.type));
    const auto& xd = x->dims();
    std::vector<int64_t> yd;
    std::optional<cf::Window> win;
    if (s.conv) {
      if (xd.size() != 4 || xd[1] != s.cin_g * s.group)
        return invalid("{}: input has shape {}; want [N, {}, H, W]", s.what, cf::dims_string(xd), s.cin_g * s.group);
      ASSIGN_OR_RETURN(win, window_for(s, xd));
      yd = {xd[0], s.cout_g * s.group, win->out[0], win->out[1]};
    } else {
      const bool gemm = g.rule->op == qdq::Int8Op::Gemm;
      if (xd.size() < 2 || (gemm && xd.size() != 2) || xd.back() != s.k)
        return invalid("{}: input has shape {}; want [{}, {}]", s.what, cf::dims_string(xd), gemm ? "M" : "..., M", s.k);
      yd = xd;
      yd.back() = s.n;
    }
    const bool empty = x->numel() == 0 || numel_of(yd) == 0;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, g.y.type, yd, empty ? KernelContext::Fill::Zero
                                                                            : KernelContext::Fill::Uninitialized));
    if (empty) return Status::ok();
    ASSIGN_OR_RETURN(xnn_operator_t op, op_for(win ? &*win : nullptr));
    // Small steps (a classifier at batch 1) on the calling thread: waking the pool's worker, which the
    // cpu provider's pool may have just left, cost shufflenet_v2's 1024 x 1000 classifier 2-4 ms at two
    // threads against 0.11 ms on one.
    const double macs = static_cast<double>(numel_of(yd)) * static_cast<double>(g.w->numel()) /
                        static_cast<double>(s.conv ? s.cout_g * s.group : s.n);
    pthreadpool_t tp = macs < kParallelMacs ? nullptr : pool_.get();
    // Conv: NHWC images; Gemm/MatMul: rows as they lie (one "pixel" per row).
    const size_t n = s.conv ? static_cast<size_t>(xd[0]) : 1;
    const size_t cin = s.conv ? static_cast<size_t>(xd[1]) : static_cast<size_t>(s.k);
    const size_t cout = static_cast<size_t>(s.conv ? yd[1] : s.n);
    const size_t in_hw = static_cast<size_t>(x->numel()) / n / cin, out_hw = static_cast<size_t>(y->numel()) / n / cout;
    const bool in_plain = !s.conv || layout_.in_nhwc || cin == 1 || in_hw == 1;
    const bool out_plain = !s.conv || layout_.out_nhwc || cout == 1 || out_hw == 1;
    const size_t in_n = static_cast<size_t>(x->numel());
    const uint8_t* src = static_cast<const uint8_t*>(x->raw());
    uint8_t flip = s.x_flip;
    if (requantize) {  // into the int8 domain directly: Q_u8(v) - 128 = Q_s8(v) with the zero point - 128
      q_buf_.resize(in_n);
      const float* xf = x->data<float>();
      const float scale = g.x.scale;
      for (size_t i = 0; i < in_n; ++i) {
        const float r = std::nearbyint(xf[i] / scale) + static_cast<float>(s.x_zp);
        q_buf_[i] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(r, -128.0f, 127.0f)));
      }
      src = q_buf_.data();
      flip = 0;
    }
    if (!in_plain) {
      in_buf_.resize(in_n);
      nchw_to_nhwc8(src, in_buf_.data(), n, cin, in_hw, flip, tp);
      src = in_buf_.data();
    } else if (flip) {
      in_buf_.resize(in_n);
      flip_bytes(src, in_buf_.data(), in_n, flip);
      src = in_buf_.data();
    }
    uint8_t* out = static_cast<uint8_t*>(y->raw_mutable());
    uint8_t* dst = out;
    if (!out_plain) {
      out_buf_.resize(static_cast<size_t>(y->numel()));
      dst = out_buf_.data();
    }
    const auto* s8 = reinterpret_cast<const int8_t*>(src);
    auto* d8 = reinterpret_cast<int8_t*>(dst);
    if (s.conv) {
      TRY(check(xnn_setup_convolution2d_nhwc_qc8(op, n, static_cast<size_t>(xd[2]), static_cast<size_t>(xd[3]), s8, d8, tp),
                s.what, "xnn_setup_convolution2d_nhwc_qc8"));
    } else if (s.per_channel) {
      TRY(check(xnn_setup_convolution2d_nhwc_qc8(op, 1, in_hw, 1, s8, d8, tp), s.what, "xnn_setup_convolution2d_nhwc_qc8"));
    } else {
      TRY(check(xnn_setup_fully_connected_nc_qs8(op, in_hw, s8, d8, tp), s.what, "xnn_setup_fully_connected_nc_qs8"));
    }
    TRY(check(xnn_run_operator(op, tp), s.what, "xnn_run_operator"));
    if (!out_plain) nhwc_to_nchw8(dst, out, n, cout, out_hw, s.y_flip, tp);
    else if (s.y_flip) flip_bytes(out, out, static_cast<size_t>(y->numel()), s.y_flip);
    return Status::ok();
  }

 private:
  std::shared_ptr<const Int8Spec> spec_;
  ThreadPoolPtr pool_;
  Layout layout_;
  std::vector<std::pair<Pads, Operator>> ops_;  // most recent last
  std::vector<uint8_t> q_buf_, in_buf_, out_buf_;
};

}  // namespace

// The claim for one group, or the reason XNNPACK does not take it. The operator is made now when its
// pads are known (weights packed at session creation), so a geometry XNNPACK rejects stays on the
// next provider.
Result<XnnClaim> claim_group(qdq::Int8Group group, const ThreadPoolPtr& pool) {
  ASSIGN_OR_RETURN(std::shared_ptr<Int8Spec> spec, make_spec(std::move(group)));
  const qdq::Int8Group& g = spec->g;
  const ir::Value* x = g.core->input(static_cast<size_t>(g.rule->x_input));
  auto first = std::make_shared<std::optional<std::pair<Pads, Operator>>>();
  if (spec->conv) {
    const bool same = spec->attrs.auto_pad == cf::AutoPad::SameUpper || spec->attrs.auto_pad == cf::AutoPad::SameLower;
    std::vector<int64_t> xd = static_dims(*x);
    if (xd.empty() && g.x_dq && !g.x_dq_shared) xd = static_dims(*g.x_dq->input(0));
    if (xd.empty() && !same) xd = {1, spec->cin_g * spec->group, spec->kh * 64, spec->kw * 64};  // pads fixed
    if (!xd.empty()) {
      if (xd.size() != 4) return unsupported("{}: the activation is not 4-D", spec->what);
      ASSIGN_OR_RETURN(cf::Window win, window_for(*spec, xd));
      ASSIGN_OR_RETURN(Operator op, create_op(*spec, &win));
      first->emplace(pads_of(win), std::move(op));
    }
  } else {
    ASSIGN_OR_RETURN(Operator op, create_op(*spec, nullptr));
    first->emplace(Pads{}, std::move(op));
  }
  XnnClaim out;
  out.claim.nodes = g.nodes;
  // NHWC in and out between consecutive conv groups: the 8-bit activation the group's DequantizeLinear
  // reads, or the float output of a shared one (quantized back in any layout).
  out.nhwc_in_ok = spec->conv;
  out.in_node = g.rule->qoperator || g.x_dq_shared ? g.core : g.x_dq;
  out.nhwc_out_ok = spec->conv;
  out.claim.factory = [spec, pool, first, layout = out.layout](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<XnnInt8Kernel>(spec, pool, *layout);
    if (*first) {
      k->adopt(first->value().first, std::move(first->value().second));
      first->reset();
    }
    return std::unique_ptr<Kernel>(std::move(k));
  };
  return out;
}

std::vector<XnnClaim> claim_int8(const GraphView& view, const ThreadPoolPtr& pool) {
  std::vector<XnnClaim> out;
  for (size_t i = 0; i < view.order().size(); ++i) {
    const ir::Node* n = view.order()[i];
    if (view.taken()[i] || !qdq::int8_rule(*n)) continue;
    std::optional<qdq::Int8Group> g = qdq::match_int8_group(view, *n);
    if (!g) continue;
    Result<XnnClaim> c = claim_group(std::move(*g), pool);
    if (c.is_ok()) out.push_back(std::move(*c));
  }
  return out;
}

}  // namespace ortool::rt::xnn_ep

namespace ortool::rt {

std::string xnnpack_int8_refusal(const GraphView& view, const ir::Node& core) {
  if (Status s = xnn_ep::initialize(); !s.is_ok()) return s.message();
  std::optional<qdq::Int8Group> g = qdq::match_int8_group(view, core);
  if (!g) return "";
  Result<xnn_ep::XnnClaim> c = xnn_ep::claim_group(std::move(*g), nullptr);
  return c.is_ok() ? "" : c.status().message();
}

}  // namespace ortool::rt
