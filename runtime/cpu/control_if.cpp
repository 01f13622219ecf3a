// If: runs the then_branch or else_branch subgraph and forwards its outputs (tensors, sequences, optionals).
#include "runtime/cpu/control.h"

namespace ortool::rt::cpu {
namespace {

class IfKernel final : public Kernel {
 public:
  static Result<std::unique_ptr<Kernel>> create(const KernelInit& init) {
    const ir::Node& n = init.node;
    ASSIGN_OR_RETURN(const ir::Graph* then_g, graph_attr(n, "then_branch"));
    ASSIGN_OR_RETURN(const ir::Graph* else_g, graph_attr(n, "else_branch"));
    for (const ir::Graph* g : {then_g, else_g}) {
      if (g->outputs().size() != n.num_outputs())
        return invalid("{}: branch '{}' has {} outputs, the node has {}", n.describe(), g->name, g->outputs().size(),
                       n.num_outputs());
      if (!g->inputs().empty())
        return invalid("{}: branch '{}' must take no inputs, it takes {}", n.describe(), g->name, g->inputs().size());
    }
    return std::unique_ptr<Kernel>(new IfKernel(then_g, else_g));
  }

  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(bool cond, bool_scalar(ctx.node(), ctx.input(0), "input 0 (cond)"));
    ASSIGN_OR_RETURN(std::vector<RValue> outs, ctx.run_subgraph(cond ? *then_ : *else_, {}));
    if (outs.size() != ctx.num_outputs())
      return internal_error("{}: branch returned {} values for {} outputs", ctx.node().describe(), outs.size(),
                            ctx.num_outputs());
    for (size_t i = 0; i < outs.size(); ++i) TRY(ctx.set_output(i, std::move(outs[i])));
    return Status::ok();
  }

 private:
  IfKernel(const ir::Graph* t, const ir::Graph* e) : then_(t), else_(e) {}
  const ir::Graph* then_;
  const ir::Graph* else_;
};

}  // namespace

void register_if_ops(KernelRegistry& r) { r.add("", "If", 1, INT32_MAX, IfKernel::create); }

}  // namespace ortool::rt::cpu
