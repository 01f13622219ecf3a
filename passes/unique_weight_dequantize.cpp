// Pass unique_weight_dequantize: a DequantizeLinear of a constant (a quantized weight) read by several nodes
// becomes one DequantizeLinear per reader, on the same initializer (no data copied). A runtime fuses
// "DQ(weight) -> Conv/Gemm/MatMul -> Q" only where the weight's DequantizeLinear belongs to that node alone
// (ONNX Runtime makes the copies itself: EnsureUniqueDQForNodeUnit); a shared one (tied or identical layers
// whose float weights were merged before quantization) left every such MatMul in float, the weight
// dequantized on every run. eliminate_common_subexpressions leaves these copies alone. In a model that will be
// written, each copy also gets its own int8 weight and zero point (ONNX Runtime's exact int8 mode on x86
// rewrites those in place per node and cannot load a model where two nodes hold one: see
// share_duplicate_constants); in memory they stay shared.
#include <fmt/format.h>

#include "passes/pass.h"
#include "passes/pass_registry.h"
#include "passes/pass_util.h"

namespace ortool::passes {

namespace {

class UniqueWeightDequantize final : public Pass {
 public:
  std::string_view name() const override { return "unique_weight_dequantize"; }
  std::string_view description() const override {
    return "Give each reader of a quantized weight's DequantizeLinear its own copy (for QDQ fusion)";
  }
  std::vector<std::string_view> op_types() const override { return {"DequantizeLinear"}; }

  Result<bool> run(ir::Model&, ir::Graph& g, const PassContext& ctx) override {
    bool changed = false;
    for (ir::Node* n : g.nodes()) {
      if (!is_weight_dequantize(*n)) continue;
      ir::Value* out = n->output(0);
      // Node inputs after the first reader (graph outputs keep the original).
      std::vector<ir::Use> extra;
      bool first = true;
      for (const ir::Use& u : out->uses()) {
        if (first) {
          first = false;
          continue;
        }
        extra.push_back(u);
      }
      if (extra.empty()) continue;
      if (!ctx.allow_rewrite()) return changed;
      for (size_t k = 0; k < extra.size(); ++k) {
        const ir::Use& u = extra[k];
        std::vector<ir::Value*> ins(n->inputs().begin(), n->inputs().end());
        if (!ctx.runtime_ops)
          for (size_t i : {size_t{0}, size_t{2}})
            if (const Tensor* t = i < ins.size() ? constant_tensor(ins[i]) : nullptr; t && t->dtype() == DType::Int8)
              ins[i] = add_constant(g, fmt::format("{}_{}", ins[i]->name(), k + 1), *t);
        ir::Node* copy = g.insert_node_before(u.node, n->op_type(), n->domain(), ins, {out->name()},
                                              fmt::format("{}_{}", n->name.empty() ? "dq" : n->name, k + 1));
        for (const ir::Attribute& a : n->attributes()) copy->set_attr(a);
        copy->output(0)->type = out->type;
        g.set_input(u.node, static_cast<size_t>(u.index), copy->output(0));
      }
      changed = true;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> make_unique_weight_dequantize() { return std::make_unique<UniqueWeightDequantize>(); }

}  // namespace ortool::passes
