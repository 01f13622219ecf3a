// Bias correction: the mean output shift of each layer's weight rounding, absorbed by its bias.
#include "quant/bias_correction.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lib/op_id.h"
#include "passes/pass_util.h"
#include "quant/quantize_graph.h"
#include "quant/quantize_report.h"

namespace ortool::quant {

namespace {

// The channel axis of the activation a layer reads (input 0), for its input means.
int64_t input_axis(const ir::Node& n) {
  if (ir::is_op(n, "Conv")) return 1;
  if (ir::is_op(n, "Gemm") && n.attr_int("transA", 0) != 0) return 0;
  return -1;
}

// (dequantize(quantize(w)) - w) per element, with the quantizer's own rounding.
std::vector<double> rounding_error(const Tensor& w, const QuantParams& p) {
  const Tensor q = quantize_tensor(w, p);
  const float* src = w.data<float>();
  std::vector<double> err(static_cast<size_t>(w.numel()));
  int64_t stride = 1, channels = 1;
  if (p.per_channel()) {
    channels = w.dims()[static_cast<size_t>(p.axis)];
    for (size_t d = static_cast<size_t>(p.axis) + 1; d < w.rank(); ++d) stride *= w.dims()[d];
  }
  for (int64_t i = 0; i < w.numel(); ++i) {
    const size_t c = static_cast<size_t>((i / stride) % channels);
    const double level = q.dtype() == DType::Int8 ? q.data<int8_t>()[i] : q.data<uint8_t>()[i];
    err[static_cast<size_t>(i)] = (level - p.zero_point[c]) * static_cast<double>(p.scale[c]) - src[i];
  }
  return err;
}

// One value per output channel: [N] or [1, ..., 1, N].
bool per_channel_vector(const Tensor* t, int64_t channels) {
  if (!t || t->dtype() != DType::Float || t->numel() != channels || t->dims().empty() || t->dims().back() != channels)
    return false;
  return true;  // numel == last dim: every other dim is 1
}

// Where a layer's correction goes: input `input` of `node` holds `bias` (null: to be created).
struct BiasSlot {
  ir::Node* node = nullptr;
  size_t input = 0;
  const Tensor* bias = nullptr;
  double factor = 1;  // the bias moves by -factor x shift (Gemm: alpha / beta)
};

// The bias slot of a layer with `channels` outputs, or why it has none.
Result<BiasSlot> bias_slot(ir::Node& n, int64_t channels) {
  if (ir::is_op(n, "Conv")) {
    if (!n.has_input(2)) return BiasSlot{&n, 2, nullptr, 1};
    const Tensor* b = float_constant(n.input(2));
    if (!per_channel_vector(b, channels)) return invalid("its bias is not a constant float vector");
    return BiasSlot{&n, 2, b, 1};
  }
  if (ir::is_op(n, "Gemm")) {
    const double alpha = n.attr_float("alpha", 1.0f), beta = n.attr_float("beta", 1.0f);
    if (beta == 0) return invalid("beta is 0: C is ignored");
    if (!n.has_input(2)) return BiasSlot{&n, 2, nullptr, alpha / beta};
    const Tensor* c = float_constant(n.input(2));
    if (!per_channel_vector(c, channels)) return invalid("C is not one constant value per output column");
    return BiasSlot{&n, 2, c, alpha / beta};
  }
  // MatMul: the Add that alone reads the output, with a constant per-column operand.
  ir::Node* add = passes::single_consumer(n.output(0));
  if (!add || !ir::is_op(*add, "Add") || add->num_inputs() != 2) return invalid("MatMul has no bias Add after it");
  for (size_t i = 0; i < 2; ++i) {
    if (add->input(i) == n.output(0)) continue;
    const Tensor* c = float_constant(add->input(i));
    if (per_channel_vector(c, channels)) return BiasSlot{add, i, c, 1};
  }
  return invalid("the Add after MatMul has no constant per-column bias");
}

}  // namespace

Result<std::map<std::string, int64_t>> bias_correction_inputs(const ir::Model& model, const QuantizeOptions& options) {
  ASSIGN_OR_RETURN(StaticPlan plan, plan_static(model, options));
  std::map<std::string, int64_t> out;
  for (const WeightPlan& w : plan.weights)
    if (ir::is_op_any(*w.node, {"Conv", "Gemm", "MatMul"}) && w.node->input(0))
      out[w.node->input(0)->name()] = input_axis(*w.node);
  return out;
}

std::vector<double> weight_rounding_shift(const Tensor& w, const WeightLayout& layout, const QuantParams& p,
                                          const std::vector<double>& input_means) {
  const std::vector<double> err = rounding_error(w, p);
  std::vector<double> shift(static_cast<size_t>(out_channels(w, layout)), 0.0);
  for_each_weight(w, layout, [&](int64_t i, int64_t o, int64_t in) {
    shift[static_cast<size_t>(o)] += err[static_cast<size_t>(i)] * input_means[static_cast<size_t>(in)];
  });
  return shift;
}

Result<std::vector<BiasCorrection>> correct_biases(ir::Model& model, const StaticPlan& plan, const ChannelMeans& means,
                                                   const QuantizeOptions& o, std::vector<std::string>& notes) {
  struct Edit {
    BiasSlot slot;
    Tensor bias;
    BiasCorrection info;
  };
  std::vector<Edit> edits;
  std::vector<std::string> skipped;
  for (const WeightPlan& wp : plan.weights) {
    ir::Node* n = const_cast<ir::Node*>(wp.node);  // the plan was made on `model`
    if (!ir::is_op_any(*n, {"Conv", "Gemm", "MatMul"}) || !n->input(0)) {
      skipped.push_back(fmt::format("{} ({})", node_label(*n), n->op_type()));
      continue;
    }
    const Tensor* w = float_constant(n->input(static_cast<size_t>(wp.input)));
    std::optional<WeightLayout> layout = w ? weight_layout(*n, *w) : std::nullopt;
    if (!layout) {
      skipped.push_back(fmt::format("{} (weight of rank {})", node_label(*n), w ? w->rank() : 0));
      continue;
    }
    const std::string& input = n->input(0)->name();
    auto it = means.find(input);
    if (it == means.end())
      return invalid("bias correction: no per-channel means of tensor '{}' (input of {})", input, n->describe());
    if (static_cast<int64_t>(it->second.size()) != in_channels(*w, *layout))
      return invalid("bias correction: tensor '{}' has means of {} channels, {} reads {}", input, it->second.size(),
                     n->describe(), in_channels(*w, *layout));
    auto slot = bias_slot(*n, out_channels(*w, *layout));
    if (!slot.is_ok()) {
      skipped.push_back(fmt::format("{}: {}", node_label(*n), slot.status().message()));
      continue;
    }
    const QuantParams p = weight_params(*w, o.weight_type, wp.axis, o.reduce_range);
    const std::vector<double> shift = weight_rounding_shift(*w, *layout, p, it->second);
    Edit e{*slot, Tensor(DType::Float, slot->bias ? slot->bias->dims() : std::vector<int64_t>{out_channels(*w, *layout)}),
           BiasCorrection{node_label(*n), static_cast<int64_t>(shift.size()), 0, 0, slot->bias == nullptr}};
    float* dst = e.bias.mutable_data<float>();
    for (size_t c = 0; c < shift.size(); ++c) {
      const double delta = -slot->factor * shift[c];
      dst[c] = static_cast<float>((slot->bias ? slot->bias->data<float>()[c] : 0.0f) + delta);
      e.info.max_shift = std::max(e.info.max_shift, std::fabs(delta));
      e.info.mean_abs_shift += std::fabs(delta) / static_cast<double>(shift.size());
    }
    edits.push_back(std::move(e));
  }
  std::vector<BiasCorrection> out;
  for (Edit& e : edits) {
    replace_constant_input(*model.graph, e.slot.node, e.slot.input, std::move(e.bias));
    out.push_back(e.info);
  }
  if (!skipped.empty()) {
    const size_t shown = std::min<size_t>(skipped.size(), 4);
    notes.push_back(fmt::format("bias correction: {} layer{} not corrected: {}{}", skipped.size(),
                                skipped.size() == 1 ? "" : "s",
                                fmt::join(skipped.begin(), skipped.begin() + static_cast<std::ptrdiff_t>(shown), "; "),
                                skipped.size() > shown ? fmt::format("; and {} more", skipped.size() - shown) : ""));
  }
  return out;
}

}  // namespace ortool::quant
