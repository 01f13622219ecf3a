// Pass fuse_layer_norm: the decomposed layer normalization exporters emit
//   m = ReduceMean(x, axes); d = Sub(x, m); v = ReduceMean(Pow(d, 2) or Mul(d, d), axes)
//   y = Div(d, Sqrt(Add(v, eps)))  [then Mul(y, gamma), then Add(., beta)]
// becomes LayerNormalization(x, gamma, beta) over the trailing axes, where the opset has it (17+);
// below 17, for a graph that only ortool's runtime will run (PassContext::runtime_ops), the same op
// in the private "ortool" domain.
#include <algorithm>
#include <set>

#include "passes/layer_norm_pattern.h"
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"
#include "passes/weight_math.h"

namespace ortool::passes {

namespace {

class FuseLayerNorm final : public Pass {
 public:
  std::string_view name() const override { return "fuse_layer_norm"; }
  std::string_view description() const override {
    return "Fuse decomposed layer normalization (ReduceMean/Sub/Pow/Sqrt/Div [Mul, Add]) into "
           "LayerNormalization (opset 17+)";
  }
  std::vector<std::string_view> op_types() const override { return {"ReduceMean"}; }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    const bool standard = onnx_opset(model) >= 17;
    if (!standard && !ctx.runtime_ops) return false;
    bool changed = false;
    for (ir::Node* n : g.nodes()) {
      std::optional<LayerNormMatch> m = match_layer_norm(n, g);
      if (!m) continue;
      // A longer pattern ending further down wins; it is met when the walk reaches its anchor.
      if (ir::Node* next = single_consumer(n->output(0)); next && match_layer_norm(next, g)) continue;
      if (!ctx.allow_rewrite()) return changed;
      if (!m->scale) m->scale = float_tensor(m->dims, std::vector<double>(numel(m->dims), 1.0));
      std::string base = m->x->name();
      std::vector<ir::Value*> ins = {m->x, add_constant(g, base + "_ln_scale", std::move(*m->scale))};
      if (m->bias) ins.push_back(add_constant(g, base + "_ln_bias", std::move(*m->bias)));
      const std::string domain = standard ? "" : std::string(kRuntimeDomain);
      ir::Node* ln = g.insert_node_before(n, "LayerNormalization", domain, ins, {n->output(0)->name() + "_ln"}, n->name);
      if (!standard && model.opset(domain) == 0) model.set_opset(domain, 1);
      ln->set_attr(ir::Attribute::make_int("axis", m->axis));
      ln->set_attr(ir::Attribute::make_float("epsilon", static_cast<float>(m->eps)));
      ln->output(0)->type = n->output(0)->type;
      if (!forward_outputs(g, n, {ln->output(0)})) {
        g.remove_node(ln);
        continue;
      }
      m->nodes.pop_back();  // the anchor is gone
      for (auto it = m->nodes.rbegin(); it != m->nodes.rend(); ++it) {
        bool dead = std::none_of((*it)->outputs().begin(), (*it)->outputs().end(),
                                 [](const ir::Value* o) { return o && (o->has_uses() || o->is_graph_output()); });
        if (dead) g.remove_node(*it);
      }
      changed = true;
    }
    return changed;
  }

 private:
  static size_t numel(const std::vector<int64_t>& dims) {
    size_t n = 1;
    for (int64_t d : dims) n *= static_cast<size_t>(d);
    return n;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_layer_norm() { return std::make_unique<FuseLayerNorm>(); }

}  // namespace ortool::passes
