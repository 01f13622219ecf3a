// Pass fuse_gemm_bn: BatchNormalization (inference) after a Gemm, or after a 2-D MatMul with a
// constant weight, is folded into the weight and bias of one Gemm.
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"
#include "passes/weight_math.h"

namespace ortool::passes {

namespace {

class FuseGemmBn final : public Pass {
 public:
  std::string_view name() const override { return "fuse_gemm_bn"; }
  std::string_view description() const override {
    return "Fold BatchNormalization (inference) after Gemm or 2-D MatMul into one Gemm's weight and bias";
  }
  std::vector<std::string_view> op_types() const override { return {"BatchNormalization"}; }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    // Gemm broadcasts its bias since opset 7.
    if (onnx_opset(model) < 7) return false;
    bool changed = false;
    for (ir::Node* bn : g.nodes()) {
      if (!is_op(bn, "BatchNormalization") || !bn->input(0) || !bn->output(0)) continue;
      ir::Node* mm = bn->input(0)->producer();
      if (!mm || mm->graph() != &g || single_consumer(bn->input(0)) != bn) continue;
      bool gemm = is_op(mm, "Gemm");
      if (!gemm && !(is_op(mm, "MatMul") && value_rank(mm->input(0)) == 2)) continue;
      const Tensor* b = constant_tensor(mm->input(1));
      if (!b || b->dtype() != DType::Float || b->rank() != 2) continue;
      bool trans_b = gemm && mm->attr_int("transB", 0) != 0;
      int64_t channels = b->dims()[trans_b ? 0 : 1];
      auto affine = inference_bn_affine(*bn, channels);
      if (!affine) continue;
      const auto& scale = affine->scale;
      const auto& shift = affine->shift;
      // Old bias, one value per output column (Gemm's C scaled by beta).
      std::vector<double> bias(static_cast<size_t>(channels), 0.0);
      if (gemm && mm->input(2)) {
        const Tensor* c = constant_tensor(mm->input(2));
        auto cv = c ? per_channel_values(*c, 2, 1, channels) : std::nullopt;
        if (!cv) continue;
        double beta = mm->attr_float("beta", 1.0f);
        for (size_t i = 0; i < bias.size(); ++i) bias[i] = beta * (*cv)[i];
      }
      auto w = scale_along_axis(*b, trans_b ? 0 : 1, scale);
      if (!w) continue;
      if (!ctx.allow_rewrite()) return changed;
      for (size_t i = 0; i < bias.size(); ++i) bias[i] = bias[i] * scale[i] + shift[i];
      ir::Value* wv = add_constant(g, mm->input(1)->name(), std::move(*w));
      ir::Value* cv = add_constant(g, mm->input(1)->name() + "_bias", float_tensor({channels}, bias));
      ir::Node* out = mm;
      if (gemm) {
        g.set_input(mm, 1, wv);
        g.set_input(mm, 2, cv);
        mm->set_attr(ir::Attribute::make_float("beta", 1.0f));
      } else {
        out = g.insert_node_before(bn, "Gemm", "", {mm->input(0), wv, cv}, {mm->output(0)->name() + "_gemm"},
                                   mm->name.empty() ? std::string() : mm->name + "_bn");
      }
      std::vector<ir::Value*> to(bn->num_outputs(), nullptr);
      to[0] = out->output(0);
      if (!forward_outputs(g, bn, to)) {
        // Cannot happen for a fresh Gemm output; undo nothing but keep the graph valid.
        if (!gemm) g.remove_node(out);
        continue;
      }
      if (!gemm) remove_dead_chain(g, mm);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_gemm_bn() { return std::make_unique<FuseGemmBn>(); }

}  // namespace ortool::passes
