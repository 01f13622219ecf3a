// SequenceMap: applies the body graph to each element of the input sequence(s); tensor inputs are broadcast.
#include "runtime/cpu/control.h"

namespace ortool::rt::cpu {
namespace {

class SequenceMapKernel final : public Kernel {
 public:
  static Result<std::unique_ptr<Kernel>> create(const KernelInit& init) {
    const ir::Node& n = init.node;
    ASSIGN_OR_RETURN(const ir::Graph* body, graph_attr(n, "body"));
    if (n.num_inputs() < 1) return invalid("{}: SequenceMap needs an input sequence", n.describe());
    if (body->inputs().size() != n.num_inputs())
      return invalid("{}: body takes {} inputs, the node has {}", n.describe(), body->inputs().size(), n.num_inputs());
    if (body->outputs().size() != n.num_outputs())
      return invalid("{}: body has {} outputs, the node has {}", n.describe(), body->outputs().size(), n.num_outputs());
    return std::unique_ptr<Kernel>(new SequenceMapKernel(body));
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const RValue* first = ctx.input(0);
    if (!first || !first->is_sequence()) return invalid("{}: input 0 must be a sequence", node.describe());
    const size_t len = first->sequence.size();
    std::vector<const RValue*> ins(ctx.num_inputs());
    for (size_t i = 0; i < ins.size(); ++i) {
      ins[i] = ctx.input(i);
      if (!ins[i] || ins[i]->is_none()) return invalid("{}: input {} is missing", node.describe(), i);
      if (ins[i]->is_sequence() && ins[i]->sequence.size() != len)
        return invalid("{}: input {} has {} elements, input 0 has {}", node.describe(), i, ins[i]->sequence.size(),
                       len);
    }
    const size_t outs = body_->outputs().size();
    std::vector<std::vector<Tensor>> results(outs);
    for (size_t e = 0; e < len; ++e) {
      std::vector<RValue> in;
      for (const RValue* v : ins) in.emplace_back(v->is_sequence() ? RValue(v->sequence[e]) : *v);
      ASSIGN_OR_RETURN(std::vector<RValue> out, ctx.run_subgraph(*body_, std::move(in)));
      if (out.size() != outs)
        return internal_error("{}: body returned {} values, expected {}", node.describe(), out.size(), outs);
      for (size_t k = 0; k < outs; ++k) {
        if (!out[k].is_tensor())
          return invalid("{}: body output {} of element {} is not a tensor", node.describe(), k, e);
        if (!results[k].empty() && results[k][0].dtype() != out[k].tensor.dtype())
          return invalid("{}: body output {} changes element type between elements", node.describe(), k);
        results[k].push_back(std::move(out[k].tensor));
      }
    }
    for (size_t k = 0; k < outs; ++k) {
      DType dt = DType::Undefined;
      if (!results[k].empty()) {
        dt = results[k][0].dtype();
      } else if (const ir::Value* bo = body_->outputs()[k]; bo && bo->type.is_tensor()) {
        dt = bo->type.elem;
      }
      TRY(ctx.set_output(k, RValue::seq(std::move(results[k]), dt)));
    }
    return Status::ok();
  }

 private:
  explicit SequenceMapKernel(const ir::Graph* body) : body_(body) {}
  const ir::Graph* body_;
};

}  // namespace

void register_sequence_map_ops(KernelRegistry& r) {
  r.add("", "SequenceMap", 17, INT32_MAX, SequenceMapKernel::create);
}

}  // namespace ortool::rt::cpu
