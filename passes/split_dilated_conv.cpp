// Pass split_dilated_conv: a stride-1 Conv on an input of known spatial size, whose dilated taps mostly read
// zero padding, becomes one 1x1 Conv per tap over the input rectangle that tap reads (a Slice), padded with
// zeros to the output (Pad) where it does not cover it, and summed (Sum; the bias on a tap that covers the
// whole output). DeepLab v3's ASPP conv with dilation 12 on a 14 x 14 map reads the input with its centre tap
// alone for the inner 10 x 10 outputs: 18% of its multiply-adds touch the input, and oneDNN ran all of them
// (12 ms; deeplabv3_mobilenet_v3_large 32 -> 24 ms). Every weight is kept once (splitting the output into
// regions instead, each with its box of taps, copied the centre tap nine times: 27 -> 42 MiB). Exact up to the
// order of float sums (padding taps add w x 0), so every weight must be finite.
#include <algorithm>
#include <cmath>
#include <span>

#include "passes/conv_params.h"
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"
#include "runtime/cpu/conv.h"

namespace ortool::passes {

namespace {

namespace cf = rt::cpu::conv_family;

// The outputs [o0, o1) along one axis whose windows read the input with tap t, and the input position of o0.
struct Span {
  int64_t o0 = 0, o1 = 0, in0 = 0;
  bool full(int64_t out) const { return o0 == 0 && o1 == out; }
};

Span span_of(const cf::Window& w, size_t d, int64_t t) {
  const int64_t shift = t * w.dilation[d] - w.pad_begin[d];  // output o reads input o + shift (stride 1)
  Span s;
  s.o0 = std::max<int64_t>(0, -shift);
  s.o1 = std::max(s.o0, std::min<int64_t>(w.out[d], w.in[d] - shift));
  s.in0 = s.o0 + shift;
  return s;
}

ir::Value* ints(ir::Graph& g, std::string_view hint, const std::vector<int64_t>& v) {
  return add_constant(g, hint, Tensor::from_vector(DType::Int64, {static_cast<int64_t>(v.size())}, v));
}

class SplitDilatedConv final : public Pass {
 public:
  std::string_view name() const override { return "split_dilated_conv"; }
  std::string_view description() const override {
    return "Split a dilated Conv whose taps mostly read zero padding into a 1x1 Conv per tap on the input it reads, summed";
  }
  std::vector<std::string_view> op_types() const override { return {"Conv"}; }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    if (onnx_opset(model) < 11) return false;  // Slice and Pad with inputs
    bool changed = false;
    for (ir::Node* n : g.nodes()) {
      if (!is_op(n, "Conv") || !n->input(0) || n->num_outputs() != 1 || !n->output(0)) continue;
      auto cp = conv_params(*n);
      if (!cp || cp->rank != 4) continue;
      const std::optional<std::vector<int64_t>> x = static_shape(n->input(0));
      if (!x || x->size() != 4) continue;
      cf::WindowAttrs attrs;
      if (!cf::parse_window_attrs(*n, attrs).is_ok() || attrs.auto_pad != cf::AutoPad::NotSet ||
          !cf::check_window_ranks(*n, attrs, 2).is_ok())
        continue;
      const std::vector<int64_t>& wd = cp->weight->dims();
      auto win = cf::resolve_window(*n, attrs, std::span<const int64_t>(x->data() + 2, 2),
                                    std::span<const int64_t>(wd.data() + 2, 2), cf::WindowKind::Conv);
      if (!win.is_ok() || win->stride[0] != 1 || win->stride[1] != 1) continue;
      const int64_t kh = wd[2], kw = wd[3], oh = win->out[0], ow = win->out[1];
      if (kh * kw < 2 || kh * kw > 25) continue;
      // Worth it when at most half the multiply-adds read the input; every output must read it with some tap
      // (else trim_conv_taps or the runtime), and with a bias some tap must cover the whole output to carry it.
      const bool has_bias = n->num_inputs() > 2 && n->input(2);
      double real = 0;
      bool some_full = false;
      std::vector<int64_t> covered_y(static_cast<size_t>(oh), 0), covered_x(static_cast<size_t>(ow), 0);
      for (int64_t ty = 0; ty < kh; ++ty)
        for (int64_t tx = 0; tx < kw; ++tx) {
          const Span sy = span_of(*win, 0, ty), sx = span_of(*win, 1, tx);
          real += static_cast<double>((sy.o1 - sy.o0) * (sx.o1 - sx.o0));
          some_full = some_full || (sy.full(oh) && sx.full(ow));
          for (int64_t o = sy.o0; o < sy.o1; ++o) ++covered_y[static_cast<size_t>(o)];
          for (int64_t o = sx.o0; o < sx.o1; ++o) ++covered_x[static_cast<size_t>(o)];
        }
      const bool all_read = std::all_of(covered_y.begin(), covered_y.end(), [](int64_t c) { return c > 0; }) &&
                            std::all_of(covered_x.begin(), covered_x.end(), [](int64_t c) { return c > 0; });
      if (!all_read || (has_bias && !some_full) || real > 0.5 * static_cast<double>(oh * ow * kh * kw)) continue;
      const float* w = cp->weight->data<float>();
      bool finite = true;
      for (int64_t i = 0; i < cp->weight->numel() && finite; ++i) finite = std::isfinite(w[i]);
      if (!finite) continue;
      if (!ctx.allow_rewrite()) return changed;

      const std::string base = n->name.empty() ? n->output(0)->name() : n->name;
      std::vector<ir::Value*> terms;
      bool bias_used = false;
      for (int64_t ty = 0; ty < kh; ++ty)
        for (int64_t tx = 0; tx < kw; ++tx) {
          const Span sy = span_of(*win, 0, ty), sx = span_of(*win, 1, tx);
          if (sy.o1 <= sy.o0 || sx.o1 <= sx.o0) continue;
          const std::string tag = base + "_t" + std::to_string(ty) + "_" + std::to_string(tx);
          const int64_t iy1 = sy.in0 + (sy.o1 - sy.o0), ix1 = sx.in0 + (sx.o1 - sx.o0);
          ir::Value* in = n->input(0);
          if (sy.in0 != 0 || sx.in0 != 0 || iy1 != (*x)[2] || ix1 != (*x)[3])
            in = g.insert_node_before(n, "Slice", "", {in, ints(g, tag + "_starts", {sy.in0, sx.in0}), ints(g, tag + "_ends", {iy1, ix1}),
                                                       ints(g, tag + "_axes", {2, 3})},
                                      {tag + "_in"}, tag + "_slice")->output(0);
          Tensor tap(DType::Float, {wd[0], wd[1], 1, 1});
          float* dst = tap.mutable_data<float>();
          for (int64_t oc = 0; oc < wd[0] * wd[1]; ++oc) dst[oc] = w[(oc * kh + ty) * kw + tx];
          std::vector<ir::Value*> ins{in, add_constant(g, tag + "_w", std::move(tap))};
          const bool full = sy.full(oh) && sx.full(ow);
          if (full && has_bias && !bias_used) {
            ins.push_back(n->input(2));
            bias_used = true;
          }
          ir::Node* part = g.insert_node_before(n, "Conv", "", ins, {tag}, tag);
          part->set_attr(ir::Attribute::make_ints("kernel_shape", {1, 1}));
          part->set_attr(ir::Attribute::make_int("group", n->attr_int("group", 1)));
          ir::Value* term = part->output(0);
          if (!full)
            term = g.insert_node_before(n, "Pad", "", {term, ints(g, tag + "_pads", {0, 0, sy.o0, sx.o0, 0, 0, oh - sy.o1, ow - sx.o1})},
                                        {tag + "_padded"}, tag + "_pad")->output(0);
          terms.push_back(term);
        }
      ir::Node* sum = g.insert_node_before(n, "Sum", "", terms, {base + "_split"}, base + "_split");
      ir::Value* out = sum->output(0);
      out->type = n->output(0)->type;
      if (!forward_outputs(g, n, {out})) {
        remove_dead_chain(g, out->producer());
        continue;
      }
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_split_dilated_conv() { return std::make_unique<SplitDilatedConv>(); }

}  // namespace ortool::passes
