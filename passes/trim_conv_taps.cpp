// Pass trim_conv_taps: a Conv on an input of known spatial size drops the kernel rows and columns
// that only ever read zero padding (a dilated conv on a small feature map: DeepLab's ASPP with
// dilations 24 and 36 on 14 x 14 becomes a 1 x 1 conv, 16 -> 0.5 ms). Exact: a dropped tap adds
// weight x 0 to every output, so dropped weights must be finite.
#include <cmath>

#include "passes/conv_params.h"
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

// Along one spatial axis: the kernel taps [first, last] some output reads inside the input, and the
// Conv's attributes for a kernel of only those taps; nullopt when nothing changes or it cannot.
struct AxisTrim {
  int64_t first = 0, last = 0;  // taps kept
  int64_t pad_begin = 0, pad_end = 0, dilation = 1;
};

std::optional<AxisTrim> trim_axis(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pb, int64_t pe) {
  const int64_t span = (k - 1) * dilation + 1;
  if (in + pb + pe < span) return std::nullopt;  // no output (the Conv itself is then malformed)
  const int64_t out = (in + pb + pe - span) / stride + 1;
  int64_t first = -1, last = -1;
  for (int64_t t = 0; t < k; ++t) {
    // Output o reads input position o * stride - pb + t * dilation: inside [0, in) for some o in [0, out)?
    const int64_t lo = -pb + t * dilation, hi = (out - 1) * stride - pb + t * dilation;
    bool used = false;
    if (hi >= 0 && lo < in) {
      // The smallest o with a position >= 0, then whether that position is < in.
      const int64_t o = lo >= 0 ? 0 : (-lo + stride - 1) / stride;
      used = o < out && o * stride + lo < in;
    }
    if (used) {
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
  a.pad_end = (out - 1) * stride + (last - first) * a.dilation + 1 - in - a.pad_begin;
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
      if (!is_op(n, "Conv") || !n->input(0) || n->attr_string("auto_pad", "NOTSET") != "NOTSET") continue;
      auto cp = conv_params(*n);
      if (!cp) continue;
      const std::optional<std::vector<int64_t>> x = static_shape(n->input(0));
      const int64_t spatial = cp->rank - 2;
      if (!x || static_cast<int64_t>(x->size()) != cp->rank || spatial < 1) continue;
      const std::vector<int64_t>& wd = cp->weight->dims();
      const auto attr = [&](const char* name, int64_t fill, int64_t size) {
        std::vector<int64_t> v = n->attr_ints(name);
        return v.empty() ? std::vector<int64_t>(static_cast<size_t>(size), fill) : v;
      };
      std::vector<int64_t> strides = attr("strides", 1, spatial), dil = attr("dilations", 1, spatial);
      std::vector<int64_t> pads = attr("pads", 0, 2 * spatial);
      if (static_cast<int64_t>(strides.size()) != spatial || static_cast<int64_t>(dil.size()) != spatial ||
          static_cast<int64_t>(pads.size()) != 2 * spatial)
        continue;
      std::vector<AxisTrim> trims(static_cast<size_t>(spatial));
      bool any = false, ok = true;
      for (int64_t d = 0; d < spatial && ok; ++d) {
        const size_t i = static_cast<size_t>(d);
        const int64_t k = wd[static_cast<size_t>(d + 2)];
        if (strides[i] < 1 || dil[i] < 1 || k < 1 || (*x)[static_cast<size_t>(d + 2)] < 1) ok = false;
        if (!ok) break;
        auto t = trim_axis((*x)[static_cast<size_t>(d + 2)], k, strides[i], dil[i], pads[i], pads[i + static_cast<size_t>(spatial)]);
        if (t) {
          trims[i] = *t;
          any = true;
        } else {
          trims[i] = {0, k - 1, pads[i], pads[i + static_cast<size_t>(spatial)], dil[i]};
        }
      }
      if (!ok || !any) continue;
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
      std::vector<int64_t> kernel, new_pads(static_cast<size_t>(2 * spatial)), new_dil;
      for (int64_t d = 0; d < spatial; ++d) {
        const AxisTrim& t = trims[static_cast<size_t>(d)];
        kernel.push_back(t.last - t.first + 1);
        new_pads[static_cast<size_t>(d)] = t.pad_begin;
        new_pads[static_cast<size_t>(d + spatial)] = t.pad_end;
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
