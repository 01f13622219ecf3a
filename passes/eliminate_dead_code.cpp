// Pass eliminate_dead_code: nodes whose outputs nobody reads, and initializers nobody uses.
#include <algorithm>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

class EliminateDeadCode final : public Pass {
 public:
  std::string_view name() const override { return "eliminate_dead_code"; }
  std::string_view description() const override {
    return "Remove nodes whose outputs are unused and initializers nothing reads (graph inputs stay)";
  }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    // Reverse order: removing a consumer can make its producers dead in the same sweep.
    std::vector<ir::Node*> nodes = g.nodes();
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      ir::Node* n = *it;
      bool live = std::any_of(n->outputs().begin(), n->outputs().end(),
                              [](const ir::Value* o) { return o && (o->has_uses() || o->is_graph_output()); });
      if (live) continue;
      if (!ctx.allow_rewrite()) return changed;
      g.remove_node(n);
      changed = true;
    }
    std::vector<ir::Value*> dead;
    for (ir::Value* v : g.initializers())
      if (!v->has_uses() && !v->is_graph_input() && !v->is_graph_output() && !v->producer()) dead.push_back(v);
    for (ir::Value* v : dead) {
      if (!ctx.allow_rewrite()) return changed;
      g.remove_value(v);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_dead_code() { return std::make_unique<EliminateDeadCode>(); }

}  // namespace ortool::passes
