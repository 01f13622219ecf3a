// Pass constant_folding: nodes whose inputs are all constants are evaluated by the runtime's kernels.
#include "passes/fold_size.h"
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"
#include "runtime/session.h"

namespace ortool::passes {

namespace {

class ConstantFolding final : public Pass {
 public:
  std::string_view name() const override { return "constant_folding"; }
  std::string_view description() const override {
    return "Evaluate nodes whose inputs are all constants (deterministic ops, results up to --fold-max-bytes)";
  }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    for (ir::Node* n : g.nodes()) {
      if (is_op(n, "Constant")) continue;
      bool used = false, graph_output = false;
      for (ir::Value* o : n->outputs()) {
        if (!o) continue;
        used = used || o->has_uses();
        graph_output = graph_output || o->is_graph_output();
      }
      // Unused results are dead code; graph outputs stay node outputs (see constant_to_initializer).
      if (!used || graph_output) continue;
      std::vector<const Tensor*> inputs;
      bool all_constant = n->num_inputs() > 0;
      for (ir::Value* v : n->inputs()) {
        const Tensor* t = v ? constant_tensor(v) : nullptr;
        if (v && !t) all_constant = false;
        inputs.push_back(t);
      }
      if (!all_constant) continue;
      // Cheap size check first: the cap must hold before anything is allocated.
      std::optional<uint64_t> elements = fold_output_elements(*n, inputs);
      if (!elements || *elements > ctx.fold_max_bytes) continue;
      std::vector<RValue> args;
      for (const Tensor* t : inputs) args.push_back(t ? RValue(*t) : RValue());
      Result<std::vector<RValue>> outs = rt::run_node(*n, model, std::move(args));
      if (!outs.is_ok()) continue;  // no kernel, or the kernel refuses: leave the node
      if (!fits(*n, *outs, ctx.fold_max_bytes)) continue;
      if (!ctx.allow_rewrite()) return changed;
      replace_with_constants(g, n, *outs);
      changed = true;
    }
    return changed;
  }

 private:
  static bool fits(const ir::Node& n, const std::vector<RValue>& outs, size_t cap) {
    if (outs.size() != n.num_outputs()) return false;
    size_t bytes = 0;
    for (size_t i = 0; i < outs.size(); ++i) {
      if (!n.output(i)) continue;
      if (!outs[i].is_tensor()) return false;
      bytes += outs[i].tensor.nbytes();
    }
    return bytes <= cap;
  }

  // Each output becomes an initializer that takes over the output's name.
  static void replace_with_constants(ir::Graph& g, ir::Node* n, std::vector<RValue>& outs) {
    std::vector<std::pair<ir::Value*, std::string>> renames;
    for (size_t i = 0; i < outs.size(); ++i) {
      ir::Value* o = n->output(i);
      if (!o) continue;
      ir::Value* c = add_constant(g, o->name(), std::move(outs[i].tensor));
      c->doc_string = o->doc_string;
      g.replace_all_uses(o, c);
      renames.emplace_back(c, o->name());
    }
    g.remove_node(n);
    for (auto& [c, name] : renames) g.rename_value(c, name);
  }
};

}  // namespace

std::unique_ptr<Pass> make_constant_folding() { return std::make_unique<ConstantFolding>(); }

}  // namespace ortool::passes
