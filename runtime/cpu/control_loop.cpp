// Loop: runs the body while the trip count and condition allow; carries values and stacks scan outputs.
#include "runtime/cpu/control.h"

namespace ortool::rt::cpu {
namespace {

class LoopKernel final : public Kernel {
 public:
  static Result<std::unique_ptr<Kernel>> create(const KernelInit& init) {
    const ir::Node& n = init.node;
    ASSIGN_OR_RETURN(const ir::Graph* body, graph_attr(n, "body"));
    if (n.num_inputs() < 2)
      return invalid("{}: Loop needs the inputs M and cond (either may be empty), got {}", n.describe(),
                     n.num_inputs());
    const size_t carried = n.num_inputs() - 2;
    if (body->inputs().size() != carried + 2)
      return invalid("{}: body takes {} inputs, expected {} (iteration number, condition and {} carried values)",
                     n.describe(), body->inputs().size(), carried + 2, carried);
    if (body->outputs().size() < carried + 1)
      return invalid("{}: body has {} outputs, expected at least {} (condition and {} carried values)", n.describe(),
                     body->outputs().size(), carried + 1, carried);
    const size_t scans = body->outputs().size() - 1 - carried;
    if (n.num_outputs() > carried + scans)
      return invalid("{}: the node has {} outputs but the body yields only {} ({} carried, {} scan outputs)",
                     n.describe(), n.num_outputs(), carried + scans, carried, scans);
    return std::unique_ptr<Kernel>(new LoopKernel(body, carried, scans));
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    bool has_max = false, cond = true;
    int64_t max_trips = 0;
    if (const RValue* m = ctx.input(0); m && !m->is_none()) {
      if (!m->is_tensor()) return invalid("{}: input 0 (M) must be a tensor", node.describe());
      ASSIGN_OR_RETURN(max_trips, int_scalar(node, m->tensor, "input 0 (M)"));
      has_max = true;
    }
    if (const RValue* c = ctx.input(1); c && !c->is_none()) {
      ASSIGN_OR_RETURN(cond, bool_scalar(node, c, "input 1 (cond)"));
    }
    std::vector<RValue> carried(carried_);
    for (size_t i = 0; i < carried_; ++i)
      if (const RValue* v = ctx.input(2 + i)) carried[i] = *v;

    std::vector<std::vector<Tensor>> scans(scans_);
    int64_t iter = 0;
    const int64_t limit = ctx.max_loop_iterations();
    for (; (!has_max || iter < max_trips) && cond; ++iter) {
      if (limit > 0 && iter >= limit)
        return resource_limit("{}: stopped after {} iterations (the limit; raise it with --max-loop-iterations)",
                              node.describe(), limit);
      std::vector<RValue> in;
      in.reserve(2 + carried_);
      in.emplace_back(Tensor::scalar_i64(iter));
      in.emplace_back(make_bool_scalar(cond));
      for (RValue& v : carried) in.push_back(std::move(v));
      ASSIGN_OR_RETURN(std::vector<RValue> out, ctx.run_subgraph(*body_, std::move(in)));
      if (out.size() != 1 + carried_ + scans_)
        return internal_error("{}: body returned {} values, expected {}", node.describe(), out.size(),
                              1 + carried_ + scans_);
      // The body's condition is honored even without a cond input, as ONNX Runtime and the ONNX
      // reference do (the spec calls it ignored there, which would make ("", "") loops endless).
      ASSIGN_OR_RETURN(cond, bool_scalar(node, &out[0], "body output 0 (cond)"));
      for (size_t i = 0; i < carried_; ++i) carried[i] = std::move(out[1 + i]);
      for (size_t k = 0; k < scans_; ++k) {
        RValue& s = out[1 + carried_ + k];
        if (!s.is_tensor())
          return invalid("{}: scan output {} of iteration {} is not a tensor", node.describe(), k, iter);
        TRY(ctx.hold_memory(s.tensor.nbytes()));
        scans[k].push_back(std::move(s.tensor));
      }
    }

    const size_t outputs = ctx.num_outputs();
    for (size_t i = 0; i < carried_ && i < outputs; ++i) TRY(ctx.set_output(i, std::move(carried[i])));
    for (size_t k = 0; k < scans_ && carried_ + k < outputs; ++k) {
      const size_t o = carried_ + k;
      if (!ctx.output_wanted(o)) continue;
      std::vector<Tensor>& parts = scans[k];
      if (parts.empty()) {
        auto [dt, dims] = empty_scan_output(body_->outputs()[1 + carried_ + k], 0, 0);
        TRY(ctx.allocate_output(o, dt, dims).status());
        continue;
      }
      TRY(check_same_shape(node, parts, fmt::format("scan output {}", k)));
      std::vector<int64_t> dims = parts[0].dims();
      dims.insert(dims.begin(), static_cast<int64_t>(parts.size()));
      ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(o, parts[0].dtype(), dims));
      std::vector<int64_t> positions(parts.size());
      for (size_t i = 0; i < parts.size(); ++i) positions[i] = static_cast<int64_t>(i);
      stack_into(parts, positions, 0, *y);
    }
    return Status::ok();
  }

 private:
  LoopKernel(const ir::Graph* body, size_t carried, size_t scans) : body_(body), carried_(carried), scans_(scans) {}
  const ir::Graph* body_;
  size_t carried_;
  size_t scans_;
};

}  // namespace

void register_loop_ops(KernelRegistry& r) { r.add("", "Loop", 1, INT32_MAX, LoopKernel::create); }

}  // namespace ortool::rt::cpu
