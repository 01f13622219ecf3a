// Pass eliminate_common_subexpressions: a node computing what an earlier node already computed
// (same op, same inputs, same attributes) is replaced by that earlier node's outputs.
#include <fmt/format.h>

#include <unordered_map>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

bool nondeterministic(const ir::Node& n) {
  static const char* const kOps[] = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                                     "Multinomial",  "Bernoulli"};
  for (const char* op : kOps)
    if (n.op_type() == op) return true;
  return false;
}

// Cheap key; equal keys are compared in full.
std::string node_key(const ir::Node& n) {
  std::string key = n.domain() + "/" + n.op_type();
  for (const ir::Value* v : n.inputs()) key += fmt::format(",{}", static_cast<const void*>(v));
  key += fmt::format("|{}", n.num_outputs());
  for (const ir::Attribute& a : n.attributes())
    key += fmt::format("|{}:{}:{}:{}:{}", a.name, static_cast<int>(a.type), a.i, a.ints.size(), a.s.size());
  return key;
}

bool same_computation(const ir::Node& a, const ir::Node& b) {
  if (a.op_type() != b.op_type() || a.domain() != b.domain() || a.inputs() != b.inputs() ||
      a.num_outputs() != b.num_outputs() || a.attributes().size() != b.attributes().size())
    return false;
  for (const ir::Attribute& x : a.attributes()) {
    const ir::Attribute* y = b.attr(x.name);
    if (!y || !attributes_equal(x, *y)) return false;
  }
  return true;
}

class EliminateCommonSubexpressions final : public Pass {
 public:
  std::string_view name() const override { return "eliminate_common_subexpressions"; }
  std::string_view description() const override {
    return "Replace a node by an earlier identical one (same op, inputs and attributes)";
  }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    std::unordered_map<std::string, std::vector<ir::Node*>> seen;
    for (ir::Node* n : g.nodes()) {
      bool onnx = ir::is_default_domain(n->domain()) || n->domain() == "ai.onnx.ml";
      if (!onnx || nondeterministic(*n) || !n->subgraphs().empty() || n->num_outputs() == 0) continue;
      if (is_weight_dequantize(*n)) continue;  // one per reader on purpose (unique_weight_dequantize)
      std::vector<ir::Node*>& bucket = seen[node_key(*n)];
      ir::Node* match = nullptr;
      for (ir::Node* m : bucket)
        if (same_computation(*m, *n)) {
          match = m;
          break;
        }
      if (!match) {
        bucket.push_back(n);
        continue;
      }
      std::vector<ir::Value*> to(match->outputs().begin(), match->outputs().end());
      bool ok = true;
      for (size_t i = 0; i < to.size() && ok; ++i) {
        ir::Value* o = n->output(i);
        if (!o) continue;
        if (!to[i]) ok = !o->has_uses() && !o->is_graph_output();
        else ok = can_forward(o, to[i]);
      }
      if (!ok) continue;
      if (!ctx.allow_rewrite()) return changed;
      changed |= forward_outputs(g, n, to);
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_common_subexpressions() {
  return std::make_unique<EliminateCommonSubexpressions>();
}

}  // namespace ortool::passes
