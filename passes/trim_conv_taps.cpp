// Pass trim_conv_taps: a Conv on an input of known spatial size drops the kernel rows and columns
// that only ever read zero padding (a dilated conv on a small feature map: DeepLab's ASPP with
// dilations 24 and 36 on 14 x 14 becomes a 1 x 1 conv, 16 -> 0.5 ms). Exact: a dropped tap adds
// weight x 0 to every output, so dropped weights must be finite.
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

// Along one spatial axis of the resolved window `w`: the kernel taps [first, last] some output reads inside
// the input, and the pads and dilation of a kernel of only those taps; nullopt when nothing changes or it
// cannot (a kept tap read only at later outputs would need negative padding).
struct AxisTrim {
  int64_t first = 0, last = 0;  // taps kept
  int64_t pad_begin = 0, pad_end = 0, dilation = 1;
};

std::optional<AxisTrim> trim_axis(const cf::Window& w, size_t d) {
  const int64_t in = w.in[d], k = w.kernel[d], stride = w.stride[d], dilation = w.dilation[d], out = w.out[d];
  const int64_t pb = w.pad_begin[d];
  int64_t first = -1, last = -1;
  for (int64_t t = 0; t < k && out > 0; ++t) {
    // Output o reads input position o * stride - pb + t * dilation: inside [0, in) for some o in [0, out)?
    const int64_t lo = -pb + t * dilation;
    const int64_t o = lo >= 0 ? 0 : (-lo + stride - 1) / stride;  // the first output at a position >= 0
    if (o < out && o * stride + lo < in) {
      if (first < 0) first = t;
      last = t;
    }
  }
  if (first < 0 || (first == 0 && last == k - 1)) return std::nullopt;
  AxisTrim a;
  a.first = first;
  a.last = last;
  a.dilation = last > first ? dilation : 1;
  a.pad_begin = pb - first * dilation;
  a.pad_end = (out - 1) * stride + (last - first) * a.dilation + 1 - in - a.pad_begin;  // the same output size
  if (a.pad_begin < 0 || a.pad_end < 0) return std::nullopt;
  return a;
}

class TrimConvTaps final : public Pass {
 public:
  std::string_view name() const override { return "trim_conv_taps"; }
  std::string_view description() const override {
    return "Drop the kernel taps of a Conv that only read zero padding (dilated convs on small inputs)";
  }
  std::vector<std::string_view> op_types() const override { return {"Conv"}; }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    for (ir::Node* n : g.nodes()) {
      if (!is_op(n, "Conv") || !n->input(0)) continue;
      auto cp = conv_params(*n);
      if (!cp) continue;
      const std::optional<std::vector<int64_t>> x = static_shape(n->input(0));
      const size_t spatial = static_cast<size_t>(cp->rank - 2);
      if (!x || x->size() != static_cast<size_t>(cp->rank) || spatial < 1) continue;
      // The window as the Conv kernel resolves it (attribute checks, output size); auto_pad's own pads stay.
      cf::WindowAttrs attrs;
      if (!cf::parse_window_attrs(*n, attrs).is_ok() || attrs.auto_pad != cf::AutoPad::NotSet ||
          !cf::check_window_ranks(*n, attrs, spatial).is_ok())
        continue;
      const std::vector<int64_t>& wd = cp->weight->dims();
      auto win = cf::resolve_window(*n, attrs, std::span<const int64_t>(x->data() + 2, spatial),
                                    std::span<const int64_t>(wd.data() + 2, spatial), cf::WindowKind::Conv);
      if (!win.is_ok()) continue;
      std::vector<AxisTrim> trims(spatial);
      bool any = false;
      for (size_t d = 0; d < spatial; ++d) {
        if (auto t = trim_axis(*win, d)) {
          trims[d] = *t;
          any = true;
        } else {
          trims[d] = {0, wd[d + 2] - 1, win->pad_begin[d], win->pad_end[d], win->dilation[d]};
        }
      }
      if (!any) continue;
      // The kept box of the weight, and a check that every dropped weight is finite.
      std::vector<int64_t> nd = {wd[0], wd[1]};
      for (const AxisTrim& t : trims) nd.push_back(t.last - t.first + 1);
      Tensor w(DType::Float, nd);
      const float* src = cp->weight->data<float>();
      float* dst = w.mutable_data<float>();
      std::vector<int64_t> idx(static_cast<size_t>(cp->rank), 0);
      bool finite = true;
      for (int64_t i = 0; i < cp->weight->numel(); ++i) {
        // Row-major position i of the old weight: keep it when inside the box.
        int64_t rem = i;
        for (int64_t d = cp->rank - 1; d >= 0; --d) {
          idx[static_cast<size_t>(d)] = rem % wd[static_cast<size_t>(d)];
          rem /= wd[static_cast<size_t>(d)];
        }
        bool inside = true;
        int64_t at = 0;
        for (int64_t d = 0; d < cp->rank; ++d) {
          int64_t c = idx[static_cast<size_t>(d)];
          if (d >= 2) {
            const AxisTrim& t = trims[static_cast<size_t>(d - 2)];
            inside = inside && c >= t.first && c <= t.last;
            c -= t.first;
          }
          at = at * nd[static_cast<size_t>(d)] + c;
        }
        if (inside) dst[at] = src[i];
        else finite = finite && std::isfinite(src[i]);
      }
      if (!finite) continue;
      if (!ctx.allow_rewrite()) return changed;
      std::vector<int64_t> kernel, new_pads(2 * spatial), new_dil;
      for (size_t d = 0; d < spatial; ++d) {
        const AxisTrim& t = trims[d];
        kernel.push_back(t.last - t.first + 1);
        new_pads[d] = t.pad_begin;
        new_pads[d + spatial] = t.pad_end;
        new_dil.push_back(t.dilation);
      }
      g.set_input(n, 1, add_constant(g, n->input(1)->name(), std::move(w)));
      if (n->has_attr("kernel_shape")) n->set_attr(ir::Attribute::make_ints("kernel_shape", kernel));
      n->set_attr(ir::Attribute::make_ints("pads", new_pads));
      n->set_attr(ir::Attribute::make_ints("dilations", new_dil));
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_trim_conv_taps() { return std::make_unique<TrimConvTaps>(); }

}  // namespace ortool::passes
