// Pass eliminate_identity: Identity nodes and inference-mode Dropout nodes are bypassed.
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

// Dropout is an identity at inference: no training_mode input (or a constant false one), or a constant ratio
// of 0 (training mode then keeps every value and scales by 1 / (1 - 0); exporters write Swin's attention dropout
// so), and no reader of the mask output.
bool inference_dropout(const ir::Node& n) {
  if (n.num_inputs() < 1 || !n.input(0)) return false;
  if (const ir::Value* mask = n.output(1); mask && (mask->has_uses() || mask->is_graph_output())) return false;
  if (const ir::Value* training = n.input(2)) {
    auto v = constant_scalar(training);
    const ir::Value* ratio = n.input(1);
    const auto r = ratio ? constant_scalar(ratio) : std::nullopt;
    if ((!v || *v != 0) && !(r && *r == 0)) return false;
  }
  return true;
}

class EliminateIdentity final : public Pass {
 public:
  std::string_view name() const override { return "eliminate_identity"; }
  std::string_view description() const override {
    return "Bypass Identity nodes and Dropout in inference mode (mask unused)";
  }
  std::vector<std::string_view> op_types() const override { return {"Identity", "Dropout"}; }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    for (ir::Node* n : g.nodes()) {
      std::vector<ir::Value*> to;
      if (is_op(n, "Identity") && n->num_outputs() == 1 && n->input(0)) {
        to = {n->input(0)};
      } else if (is_op(n, "Dropout") && inference_dropout(*n)) {
        to.assign(n->num_outputs(), nullptr);
        to[0] = n->input(0);
      } else {
        continue;
      }
      if (!n->output(0) || !can_forward(n->output(0), to[0])) continue;
      if (!ctx.allow_rewrite()) return changed;
      changed |= forward_outputs(g, n, to);
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_identity() { return std::make_unique<EliminateIdentity>(); }

}  // namespace ortool::passes
