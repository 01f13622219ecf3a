// Pass fuse_conv_bn: BatchNormalization (inference) after a Conv is folded into the Conv's
// weight and bias: w' = w * s, b' = (b - mean) * s + beta, with s = gamma / sqrt(var + eps).
#include "passes/conv_params.h"
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"
#include "passes/weight_math.h"

namespace ortool::passes {

namespace {

class FuseConvBn final : public Pass {
 public:
  std::string_view name() const override { return "fuse_conv_bn"; }
  std::string_view description() const override {
    return "Fold BatchNormalization (inference) into the preceding Conv's weight and bias";
  }
  std::vector<std::string_view> op_types() const override { return {"BatchNormalization"}; }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    for (ir::Node* bn : g.nodes()) {
      if (!is_op(bn, "BatchNormalization") || !bn->input(0) || !bn->output(0)) continue;
      ir::Node* conv = bn->input(0)->producer();
      if (!conv || conv->graph() != &g || single_consumer(bn->input(0)) != bn) continue;
      auto cp = conv_params(*conv);
      if (!cp) continue;
      auto affine = inference_bn_affine(*bn, cp->channels);
      if (!affine) continue;
      auto w = scale_along_axis(*cp->weight, 0, affine->scale);
      if (!w || !can_forward(bn->output(0), conv->output(0))) continue;
      if (!ctx.allow_rewrite()) return changed;
      std::vector<double> bias(cp->bias.size());
      for (size_t c = 0; c < bias.size(); ++c) bias[c] = cp->bias[c] * affine->scale[c] + affine->shift[c];
      set_conv_params(g, conv, std::move(*w), bias);
      std::vector<ir::Value*> to(bn->num_outputs(), nullptr);
      to[0] = conv->output(0);
      changed |= forward_outputs(g, bn, to);
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_conv_bn() { return std::make_unique<FuseConvBn>(); }

}  // namespace ortool::passes
