// Pass fuse_matmul_add: Add(MatMul(A, B), C) with 2-D A and B becomes Gemm(A, B, C) when C
// broadcasts to the [M, N] result one way (as Gemm's C must).
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

bool gemm_type(DType t) { return t == DType::Float || t == DType::Double || t == DType::Float16; }

// C broadcasts to [m, n] without growing: rank <= 2 and each dim 1 or equal to the result's.
bool bias_fits(const ir::Value* c, const Dim& m, const Dim& n) {
  auto s = value_shape(c);
  if (!s || s->size() > 2) return false;
  const Dim* out[2] = {&m, &n};
  size_t off = 2 - s->size();
  for (size_t i = 0; i < s->size(); ++i) {
    const Dim& d = (*s)[i];
    if (d.is_known() && d.value == 1) continue;
    const Dim& o = *out[off + i];
    bool same = (d.is_known() && o.is_known() && d.value == o.value) ||
                (d.kind == Dim::Kind::Param && o.kind == Dim::Kind::Param && d.param == o.param);
    if (!same) return false;
  }
  return true;
}

class FuseMatMulAdd final : public Pass {
 public:
  std::string_view name() const override { return "fuse_matmul_add"; }
  std::string_view description() const override {
    return "Turn Add(MatMul(A, B), C) with 2-D A and B into Gemm(A, B, C)";
  }
  std::vector<std::string_view> op_types() const override { return {"MatMul"}; }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    if (onnx_opset(model) < 7) return false;  // Gemm broadcasts C since opset 7
    bool changed = false;
    for (ir::Node* add : g.nodes()) {
      if (!is_op(add, "Add") || add->num_inputs() != 2 || !add->output(0)) continue;
      for (size_t side = 0; side < 2; ++side) {
        ir::Value* y = add->input(side);
        ir::Value* c = add->input(1 - side);
        ir::Node* mm = y ? y->producer() : nullptr;
        if (!is_op(mm, "MatMul") || mm->graph() != &g || single_consumer(y) != add || !c || c == y) continue;
        auto a = value_shape(mm->input(0)), b = value_shape(mm->input(1));
        if (!a || !b || a->size() != 2 || b->size() != 2) continue;
        DType t = elem_type(mm->input(0));
        if (!gemm_type(t) || elem_type(mm->input(1)) != t || elem_type(c) != t) continue;
        if (!bias_fits(c, (*a)[0], (*b)[1])) continue;
        if (!can_forward(add->output(0), y)) continue;
        if (!ctx.allow_rewrite()) return changed;
        ir::Node* gemm = g.insert_node_before(add, "Gemm", "", {mm->input(0), mm->input(1), c},
                                              {y->name() + "_gemm"}, mm->name);
        gemm->output(0)->type = add->output(0)->type;
        forward_outputs(g, add, {gemm->output(0)});
        remove_dead_chain(g, mm);
        changed = true;
        break;
      }
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_matmul_add() { return std::make_unique<FuseMatMulAdd>(); }

}  // namespace ortool::passes
