// Pass fuse_transpose_pairs: Transpose(Transpose(x, p1), p2) becomes one Transpose, or nothing
// when the composed permutation is the identity.
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

// The permutation of a Transpose (default: reversed dims, which needs the rank); empty if unknown.
std::vector<int64_t> perm_of(const ir::Node& n) {
  if (n.has_attr("perm")) return n.attr_ints("perm");
  int64_t r = value_rank(n.input(0));
  std::vector<int64_t> p;
  for (int64_t i = r - 1; i >= 0; --i) p.push_back(i);
  return p;
}

bool valid_perm(const std::vector<int64_t>& p) {
  std::vector<bool> seen(p.size(), false);
  for (int64_t v : p) {
    if (v < 0 || v >= static_cast<int64_t>(p.size()) || seen[static_cast<size_t>(v)]) return false;
    seen[static_cast<size_t>(v)] = true;
  }
  return !p.empty();
}

class FuseTransposePairs final : public Pass {
 public:
  std::string_view name() const override { return "fuse_transpose_pairs"; }
  std::string_view description() const override {
    return "Merge Transpose(Transpose(x)) into one Transpose, or remove both when they cancel";
  }
  std::vector<std::string_view> op_types() const override { return {"Transpose"}; }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    for (ir::Node* n : g.nodes()) {
      if (!is_op(n, "Transpose") || !n->input(0) || !n->output(0)) continue;
      ir::Node* inner = n->input(0)->producer();
      if (!is_op(inner, "Transpose") || inner->graph() != &g || !inner->input(0)) continue;
      std::vector<int64_t> p1 = perm_of(*inner), p2 = perm_of(*n);
      if (!valid_perm(p1) || p1.size() != p2.size() || !valid_perm(p2)) continue;
      std::vector<int64_t> composed(p2.size());
      bool identity = true;
      for (size_t i = 0; i < p2.size(); ++i) {
        composed[i] = p1[static_cast<size_t>(p2[i])];
        identity = identity && composed[i] == static_cast<int64_t>(i);
      }
      ir::Value* x = inner->input(0);
      ir::Value* mid = n->input(0);
      if (identity) {
        if (!can_forward(n->output(0), x)) continue;
        if (!ctx.allow_rewrite()) return changed;
        forward_outputs(g, n, {x});
      } else {
        if (!ctx.allow_rewrite()) return changed;
        g.set_input(n, 0, x);
        n->set_attr(ir::Attribute::make_ints("perm", composed));
      }
      if (!mid->has_uses() && !mid->is_graph_output()) g.remove_node(inner);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_transpose_pairs() { return std::make_unique<FuseTransposePairs>(); }

}  // namespace ortool::passes
