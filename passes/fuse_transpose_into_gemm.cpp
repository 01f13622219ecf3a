// Pass fuse_transpose_into_gemm: a 2-D Transpose feeding Gemm's A or B flips transA/transB
// instead; a 2-D MatMul reading a Transpose becomes such a Gemm (opset 11+, where C is optional).
#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

// The input of a Transpose that swaps the two dims of a 2-D value, or null.
ir::Value* transposed_source(const ir::Value* v, const ir::Graph& g) {
  const ir::Node* t = v ? v->producer() : nullptr;
  if (!is_op(t, "Transpose") || t->graph() != &g || !t->input(0) || value_rank(t->input(0)) != 2) return nullptr;
  std::vector<int64_t> perm = t->attr_ints("perm", {1, 0});
  return perm == std::vector<int64_t>{1, 0} ? t->input(0) : nullptr;
}

bool gemm_type(DType t) { return t == DType::Float || t == DType::Double || t == DType::Float16; }

class FuseTransposeIntoGemm final : public Pass {
 public:
  std::string_view name() const override { return "fuse_transpose_into_gemm"; }
  std::string_view description() const override {
    return "Fold a 2-D Transpose into Gemm's transA/transB (2-D MatMul included, opset 11+)";
  }
  std::vector<std::string_view> op_types() const override { return {"Transpose"}; }

  Result<bool> run(ir::Model& model, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    bool matmul_ok = onnx_opset(model) >= 11;
    for (ir::Node* n : g.nodes()) {
      bool gemm = is_op(n, "Gemm");
      bool matmul = matmul_ok && is_op(n, "MatMul") && value_rank(n->input(0)) == 2 && value_rank(n->input(1)) == 2 &&
                    gemm_type(elem_type(n->input(0)));
      if (!gemm && !matmul) continue;
      ir::Value* src[2] = {transposed_source(n->input(0), g), transposed_source(n->input(1), g)};
      if (!src[0] && !src[1]) continue;
      if (!ctx.allow_rewrite()) return changed;
      ir::Node* target = n;
      if (matmul) {
        target = g.insert_node_before(n, "Gemm", "", {n->input(0), n->input(1)}, {n->output(0)->name() + "_gemm"},
                                      n->name);
        target->output(0)->type = n->output(0)->type;
      }
      std::vector<ir::Node*> transposes;
      for (size_t i = 0; i < 2; ++i) {
        if (!src[i]) continue;
        ir::Node* t = target->input(i)->producer();
        if (transposes.empty() || transposes[0] != t) transposes.push_back(t);
        const char* attr = i == 0 ? "transA" : "transB";
        target->set_attr(ir::Attribute::make_int(attr, target->attr_int(attr, 0) ? 0 : 1));
        g.set_input(target, i, src[i]);
      }
      if (matmul) forward_outputs(g, n, {target->output(0)});
      for (ir::Node* t : transposes) remove_dead_chain(g, t);
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_transpose_into_gemm() { return std::make_unique<FuseTransposeIntoGemm>(); }

}  // namespace ortool::passes
