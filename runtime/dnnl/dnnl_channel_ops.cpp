// The dnnl provider's channel moves between its steps: ShuffleNet's channel shuffle (Reshape to
// [N, g, C/g, H, W], Transpose 0,2,1,3,4, Reshape back; with the Concat before it when that is its
// only reader, in one pass) and a Slice of a channel range, on tensors in NCHW or NHWC order, so
// that the blocks of shufflenet stay one NHWC region.
//
// These are plain copies with no arithmetic (oneDNN's generic strided reorder is slower than a
// loop here). Claimed only when the data input comes from a dnnl step that always writes a float
// 4-D tensor; a run whose shapes do not fit the pattern after all is an error naming the nodes.
#include <algorithm>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

std::optional<std::vector<int64_t>> fixed_ints(const GraphView& view, const ir::Value* v) {
  const TensorPtr t = fixed_tensor(view, v);
  if (!t || t->dtype() != DType::Int64 || t->rank() != 1) return std::nullopt;
  return std::vector<int64_t>(t->data<int64_t>(), t->data<int64_t>() + t->numel());
}

std::optional<std::vector<int64_t>> resolve_reshape(const std::vector<int64_t>& in, const std::vector<int64_t>& shape) {
  int64_t total = 1, known = 1;
  for (int64_t d : in) total *= d;
  std::vector<int64_t> out(shape.size());
  int infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) return std::nullopt;
      infer = static_cast<int>(i);
      continue;
    }
    out[i] = shape[i] == 0 ? (i < in.size() ? in[i] : -1) : shape[i];
    if (out[i] < 0) return std::nullopt;
    known *= out[i];
  }
  if (infer >= 0) {
    if (known == 0 || total % known != 0) return std::nullopt;
    out[static_cast<size_t>(infer)] = total / known;
  } else if (known != total) {
    return std::nullopt;
  }
  return out;
}

namespace {

std::string dims_str(const std::vector<int64_t>& d) { return fmt::format("[{}]", fmt::join(d, ", ")); }

struct ShuffleSpec {
  std::vector<const ir::Node*> nodes;  // [Concat,] Reshape, Transpose, Reshape
  std::string what;
  size_t parts = 1;                     // data inputs: the Concat's inputs, or the first Reshape's
  std::vector<int64_t> shape5, shape4;  // the Reshapes' targets
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
};

// Channel shuffle of the channel-wise concatenation of the data inputs (one input: no Concat).
class ShuffleKernel final : public Kernel {
 public:
  explicit ShuffleKernel(std::shared_ptr<const ShuffleSpec> spec) : spec_(std::move(spec)) {}

  Status run(KernelContext& ctx) override {
    const ShuffleSpec& s = *spec_;
    std::vector<const Tensor*> xs;
    int64_t c = 0;
    for (size_t i = 0; i < s.parts; ++i) {
      const Tensor* t = ctx.input_tensor(i);
      if (!t || t->dtype() != DType::Float || t->rank() != 4)
        return invalid("{}: input {} is not a float 4-D tensor, as its producing step writes", s.what, i);
      const auto& d0 = xs.empty() ? t->dims() : xs[0]->dims();
      if (t->dims()[0] != d0[0] || t->dims()[2] != d0[2] || t->dims()[3] != d0[3])
        return invalid("{}: input {} has shape {}, input 0 {}: only the channel dim may differ", s.what, i,
                       dims_str(t->dims()), dims_str(d0));
      xs.push_back(t);
      c += t->dims()[1];
    }
    const int64_t n = xs[0]->dims()[0], h = xs[0]->dims()[2], w = xs[0]->dims()[3];
    const std::vector<int64_t> d{n, c, h, w};
    const auto r5 = resolve_reshape(d, s.shape5);
    const int64_t g = r5 ? (*r5)[1] : 0;
    const bool split = r5 && g > 0 && c % g == 0 && *r5 == std::vector<int64_t>{n, g, c / g, h, w};
    const auto r4 = split ? resolve_reshape({n, c / g, g, h, w}, s.shape4) : std::nullopt;
    if (!r4 || *r4 != d)
      return unsupported("{}: reshapes {} and {} of a tensor of shape {} are not a channel shuffle", s.what,
                         dims_str(s.shape5), dims_str(s.shape4), dims_str(d));
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, d, KernelContext::Fill::Uninitialized));
    const int64_t cg = c / g, hw = h * w;
    float* dst = y->mutable_data<float>();
    if (y->numel() == 0) return Status::ok();
    const Layouts& l = *s.layouts;
    bool all_nhwc = l.out_nhwc;
    for (size_t i = 0; i < xs.size(); ++i) all_nhwc = all_nhwc && l.input_nhwc(i);
    // The common case (shufflenet): two halves interleaved channel by channel, all NHWC.
    if (all_nhwc && g == 2 && (xs.size() == 1 || (xs.size() == 2 && xs[0]->dims()[1] == cg))) {
      const float* a = xs[0]->data<float>();
      const float* b = xs.size() == 2 ? xs[1]->data<float>() : a + cg;
      const int64_t step = xs.size() == 2 ? cg : c;
      for (int64_t p = 0; p < n * hw; ++p, a += step, b += step, dst += c)
        for (int64_t k = 0; k < cg; ++k) {
          dst[2 * k] = a[k];
          dst[2 * k + 1] = b[k];
        }
      return Status::ok();
    }
    // Output channel k*g + j is concatenated channel j*cg + k: find its input and channel there.
    std::vector<std::pair<size_t, int64_t>> from(static_cast<size_t>(c));
    for (int64_t ci = 0, i = 0, base = 0; ci < c; ++ci) {
      while (ci - base >= xs[static_cast<size_t>(i)]->dims()[1]) base += xs[static_cast<size_t>(i++)]->dims()[1];
      from[static_cast<size_t>(ci % cg * g + ci / cg)] = {static_cast<size_t>(i), ci - base};
    }
    for (int64_t b = 0; b < n; ++b)
      for (int64_t co = 0; co < c; ++co) {
        const auto [i, ch] = from[static_cast<size_t>(co)];
        const float* src = xs[i]->data<float>();
        const int64_t ci = xs[i]->dims()[1];
        const bool in_nhwc = l.input_nhwc(i);
        for (int64_t p = 0; p < hw; ++p) {
          const float v = in_nhwc ? src[(b * hw + p) * ci + ch] : src[(b * ci + ch) * hw + p];
          (l.out_nhwc ? dst[(b * hw + p) * c + co] : dst[(b * c + co) * hw + p]) = v;
        }
      }
    return Status::ok();
  }

 private:
  std::shared_ptr<const ShuffleSpec> spec_;
};

struct SliceSpec {
  const ir::Node* node = nullptr;
  std::string what;
  int64_t start = 0, end = 0;  // as written; clamped per run
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
};

class ChannelSliceKernel final : public Kernel {
 public:
  explicit ChannelSliceKernel(std::shared_ptr<const SliceSpec> spec) : spec_(std::move(spec)) {}

  Status run(KernelContext& ctx) override {
    const SliceSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    if (!x || x->dtype() != DType::Float || x->rank() != 4)
      return invalid("{}: input is not a float 4-D tensor, as its producing step writes", s.what);
    const std::vector<int64_t>& d = x->dims();
    const int64_t n = d[0], c = d[1], hw = d[2] * d[3];
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + c : v, int64_t{0}, c); };
    const int64_t lo = clamp(s.start), len = std::max(int64_t{0}, clamp(s.end) - lo);
    ASSIGN_OR_RETURN(Tensor * y,
                     ctx.allocate_output(0, DType::Float, {n, len, d[2], d[3]}, KernelContext::Fill::Uninitialized));
    const bool in_nhwc = s.layouts->input_nhwc(0), out_nhwc = s.layouts->out_nhwc;
    const float* src = x->data<float>();
    float* dst = y->mutable_data<float>();
    if (len == 0 || hw == 0 || n == 0) return Status::ok();
    if (in_nhwc && out_nhwc) {
      for (int64_t p = 0; p < n * hw; ++p) std::memcpy(dst + p * len, src + p * c + lo, sizeof(float) * len);
    } else if (!in_nhwc && !out_nhwc) {
      for (int64_t b = 0; b < n; ++b)
        std::memcpy(dst + b * len * hw, src + (b * c + lo) * hw, sizeof(float) * len * hw);
    } else {
      for (int64_t b = 0; b < n; ++b)
        for (int64_t k = 0; k < len; ++k)
          for (int64_t p = 0; p < hw; ++p) {
            const float v = in_nhwc ? src[(b * hw + p) * c + lo + k] : src[(b * c + lo + k) * hw + p];
            (out_nhwc ? dst[(b * hw + p) * len + k] : dst[(b * len + k) * hw + p]) = v;
          }
    }
    return Status::ok();
  }

 private:
  std::shared_ptr<const SliceSpec> spec_;
};

template <typename K, typename S>
KernelFactory factory_for(std::shared_ptr<S> spec) {
  return [spec](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<K>(spec));
  };
}

}  // namespace

std::optional<DnnlClaim> claim_shuffle(const GraphView& view, const ir::Node& first) {
  // A Concat along channels read only by the shuffle is done in the same pass.
  const ir::Node* concat = nullptr;
  const ir::Node* start = &first;
  if (ir::is_op(first, "Concat")) {
    const int64_t axis = first.attr_int("axis", 1);
    const ir::Value* o = first.output(0);
    if ((axis != 1 && axis != -3) || first.num_inputs() == 0 || first.num_outputs() != 1 || !o ||
        o->uses().size() != 1 || o->uses()[0].index != 0)
      return std::nullopt;
    for (const ir::Value* v : first.inputs())
      if (!v) return std::nullopt;
    concat = &first;
    start = o->uses()[0].node;
    if (!ir::is_op(*start, "Reshape") || view.is_taken(start)) return std::nullopt;
  }
  const ir::Node& reshape = *start;
  if (reshape.num_inputs() != 2 || !reshape.output(0) || reshape.attr_int("allowzero", 0) != 0) return std::nullopt;
  const auto shape5 = fixed_ints(view, reshape.input(1));
  if (!shape5 || shape5->size() != 5 || (*shape5)[1] <= 0) return std::nullopt;
  const ir::Value* r5 = reshape.output(0);
  if (r5->uses().size() != 1) return std::nullopt;
  const ir::Node* tr = r5->uses()[0].node;
  if (!ir::is_op(*tr, "Transpose") || view.is_taken(tr) || tr->num_inputs() != 1 || !tr->output(0) ||
      tr->attr_ints("perm") != std::vector<int64_t>{0, 2, 1, 3, 4})
    return std::nullopt;
  const ir::Value* t = tr->output(0);
  if (t->uses().size() != 1 || t->uses()[0].index != 0) return std::nullopt;
  const ir::Node* back = t->uses()[0].node;
  if (!ir::is_op(*back, "Reshape") || view.is_taken(back) || back->num_inputs() != 2 || !back->output(0) ||
      back->attr_int("allowzero", 0) != 0)
    return std::nullopt;
  const auto shape4 = fixed_ints(view, back->input(1));
  if (!shape4 || shape4->size() != 4) return std::nullopt;
  auto spec = std::make_shared<ShuffleSpec>();
  spec->nodes = {&reshape, tr, back};
  if (concat) {
    spec->nodes.insert(spec->nodes.begin(), concat);
    spec->parts = concat->num_inputs();
    if (!view.read_only_by(*concat->output(0), spec->nodes)) return std::nullopt;
  }
  if (!view.read_only_by(*r5, spec->nodes) || !view.read_only_by(*t, spec->nodes)) return std::nullopt;
  spec->shape5 = *shape5;
  spec->shape4 = *shape4;
  spec->what = describe_nodes(spec->nodes);
  DnnlClaim dc;
  dc.layouts = spec->layouts;
  dc.nhwc_ok.assign(group_inputs(spec->nodes).size(), false);
  for (size_t i = 0; i < spec->parts; ++i) dc.nhwc_ok[i] = true;
  dc.out_nhwc_ok = true;
  dc.nhwc_needs_all_float4 = spec->parts > 1;
  dc.claim.nodes = spec->nodes;
  dc.claim.factory = factory_for<ShuffleKernel>(spec);
  return dc;
}

std::optional<DnnlClaim> claim_channel_slice(const GraphView& view, const ir::Node& slice) {
  if (view.opset(slice) < 10 || slice.num_inputs() < 4 || slice.num_inputs() > 5 || !slice.output(0))
    return std::nullopt;
  const auto starts = fixed_ints(view, slice.input(1)), ends = fixed_ints(view, slice.input(2));
  const auto axes = fixed_ints(view, slice.input(3));
  if (!starts || !ends || !axes || starts->size() != 1 || ends->size() != 1 || axes->size() != 1) return std::nullopt;
  if ((*axes)[0] != 1 && (*axes)[0] != -3) return std::nullopt;
  if (slice.num_inputs() == 5 && slice.input(4)) {
    const auto steps = fixed_ints(view, slice.input(4));
    if (!steps || steps->size() != 1 || (*steps)[0] != 1) return std::nullopt;
  }
  auto spec = std::make_shared<SliceSpec>();
  spec->node = &slice;
  spec->what = slice.describe();
  spec->start = (*starts)[0];
  spec->end = (*ends)[0];
  DnnlClaim dc;
  dc.layouts = spec->layouts;
  dc.nhwc_ok.assign(slice.num_inputs(), false);
  dc.nhwc_ok[0] = true;
  dc.out_nhwc_ok = true;
  dc.claim.nodes = {&slice};
  dc.claim.factory = factory_for<ChannelSliceKernel>(spec);
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
