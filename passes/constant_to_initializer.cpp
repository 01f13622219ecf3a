// Pass constant_to_initializer: Constant nodes become initializers of the same name.
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

class ConstantToInitializer final : public Pass {
 public:
  std::string_view name() const override { return "constant_to_initializer"; }
  std::string_view description() const override {
    return "Turn Constant nodes into initializers (weights exported as Constant nodes)";
  }
  std::vector<std::string_view> op_types() const override { return {"Constant"}; }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    for (ir::Node* n : g.nodes()) {
      if (!is_op(n, "Constant")) continue;
      ir::Value* out = n->output(0);
      // A graph output must stay a node output (an initializer as graph output is not portable).
      if (!out || out->is_graph_output()) continue;
      std::optional<Tensor> t = constant_node_tensor(*n);
      if (!t) continue;
      if (!ctx.allow_rewrite()) return changed;
      std::string name = out->name();
      std::string doc = out->doc_string;
      ir::Value* init = add_constant(g, name, std::move(*t));
      g.replace_all_uses(out, init);
      g.remove_node(n);
      g.rename_value(init, name);
      init->doc_string = doc;
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_constant_to_initializer() { return std::make_unique<ConstantToInitializer>(); }

}  // namespace ortool::passes
