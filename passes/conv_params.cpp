// The constant weight and bias of a Conv node, read and replaced by the Conv fusions.
#include "passes/conv_params.h"

#include "passes/pass_util.h"
#include "passes/weight_math.h"

namespace ortool::passes {

std::optional<ConvParams> conv_params(const ir::Node& conv) {
  if (!is_op(&conv, "Conv") || conv.num_outputs() != 1 || !conv.output(0)) return std::nullopt;
  const Tensor* w = constant_tensor(conv.input(1));
  if (!w || w->dtype() != DType::Float || w->rank() < 3 || w->dims()[0] <= 0) return std::nullopt;
  ConvParams p;
  p.weight = w;
  p.channels = w->dims()[0];
  p.rank = static_cast<int64_t>(w->rank());
  if (conv.input(2)) {
    const Tensor* b = constant_tensor(conv.input(2));
    if (!b || b->rank() != 1 || b->dims()[0] != p.channels) return std::nullopt;
    auto v = float_values(*b);
    if (!v) return std::nullopt;
    p.bias = std::move(*v);
  } else {
    p.bias.assign(static_cast<size_t>(p.channels), 0.0);
  }
  return p;
}

void set_conv_params(ir::Graph& g, ir::Node* conv, std::optional<Tensor> weight, const std::vector<double>& bias) {
  std::string base = conv->input(1)->name();
  if (weight) g.set_input(conv, 1, add_constant(g, base, std::move(*weight)));
  ir::Value* b = add_constant(g, conv->input(2) ? conv->input(2)->name() : base + "_bias",
                              float_tensor({static_cast<int64_t>(bias.size())}, bias));
  g.set_input(conv, 2, b);
}

}  // namespace ortool::passes
