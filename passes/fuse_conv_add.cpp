// Pass fuse_conv_add: Add of a per-channel constant after a Conv becomes the Conv's bias.
#include "passes/conv_params.h"
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"
#include "passes/weight_math.h"

namespace ortool::passes {

namespace {

class FuseConvAdd final : public Pass {
 public:
  std::string_view name() const override { return "fuse_conv_add"; }
  std::string_view description() const override {
    return "Fold Add of a per-channel constant (bias) into the preceding Conv";
  }
  std::vector<std::string_view> op_types() const override { return {"Add"}; }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    for (ir::Node* add : g.nodes()) {
      if (!is_op(add, "Add") || add->num_inputs() != 2 || !add->output(0)) continue;
      for (size_t side = 0; side < 2; ++side) {
        ir::Value* x = add->input(side);
        const Tensor* b = constant_tensor(add->input(1 - side));
        ir::Node* conv = x ? x->producer() : nullptr;
        if (!b || !conv || conv->graph() != &g || single_consumer(x) != add) continue;
        auto cp = conv_params(*conv);
        if (!cp) continue;
        auto shift = per_channel_values(*b, cp->rank, 1, cp->channels);
        if (!shift || !can_forward(add->output(0), x)) continue;
        if (!ctx.allow_rewrite()) return changed;
        std::vector<double> bias(cp->bias.size());
        for (size_t c = 0; c < bias.size(); ++c) bias[c] = cp->bias[c] + (*shift)[c];
        set_conv_params(g, conv, std::nullopt, bias);
        changed |= forward_outputs(g, add, {x});
        break;
      }
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_conv_add() { return std::make_unique<FuseConvAdd>(); }

}  // namespace ortool::passes
