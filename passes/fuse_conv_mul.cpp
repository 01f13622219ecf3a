// Pass fuse_conv_mul: Mul by a per-channel constant after a Conv scales the Conv's weight and bias.
#include "passes/conv_params.h"
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"
#include "passes/weight_math.h"

namespace ortool::passes {

namespace {

class FuseConvMul final : public Pass {
 public:
  std::string_view name() const override { return "fuse_conv_mul"; }
  std::string_view description() const override {
    return "Fold Mul by a per-channel constant (scale) into the preceding Conv";
  }
  std::vector<std::string_view> op_types() const override { return {"Mul"}; }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    for (ir::Node* mul : g.nodes()) {
      if (!is_op(mul, "Mul") || mul->num_inputs() != 2 || !mul->output(0)) continue;
      for (size_t side = 0; side < 2; ++side) {
        ir::Value* x = mul->input(side);
        const Tensor* s = constant_tensor(mul->input(1 - side));
        ir::Node* conv = x ? x->producer() : nullptr;
        if (!s || !conv || conv->graph() != &g || single_consumer(x) != mul) continue;
        auto cp = conv_params(*conv);
        if (!cp) continue;
        auto scale = per_channel_values(*s, cp->rank, 1, cp->channels);
        if (!scale) continue;
        auto w = scale_along_axis(*cp->weight, 0, *scale);
        if (!w || !can_forward(mul->output(0), x)) continue;
        if (!ctx.allow_rewrite()) return changed;
        std::vector<double> bias(cp->bias.size());
        for (size_t c = 0; c < bias.size(); ++c) bias[c] = cp->bias[c] * (*scale)[c];
        set_conv_params(g, conv, std::move(*w), bias);
        changed |= forward_outputs(g, mul, {x});
        break;
      }
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_conv_mul() { return std::make_unique<FuseConvMul>(); }

}  // namespace ortool::passes
