// The xnnpack provider's Softmax over the last axis (attention scores, classifier heads), float32.
//
// XNNPACK normalizes rows of `channels` values; the operator is made per row length (cached), since
// the graph may leave it symbolic. Only the last axis is claimed (opset 13's default, or an older
// opset's axis when it names the last dim, where the 2-D coercion is the same rows). Its axis
// means NCHW, so it never takes an NHWC value. An input that turns out not to be float runs the
// cpu provider's kernel.
#include <algorithm>
#include <memory>

#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt::xnn_ep {

namespace {

class XnnSoftmaxKernel final : public Kernel {
 public:
  XnnSoftmaxKernel(std::string what, ThreadPoolPtr pool, int64_t axis, const KernelInit& init)
      : what_(std::move(what)), pool_(std::move(pool)), axis_(axis), fallback_(init) {}

  Status run(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(0);
    if (!x || x->dtype() != DType::Float || x->rank() == 0) return fallback_.run(ctx, x ? x->dtype() : DType::Float);
    const int64_t rank = static_cast<int64_t>(x->rank());
    // Opset < 13 names an axis; the rows are the same only when it is the last one.
    if (axis_ != -1 && axis_ != rank - 1) return fallback_.run(ctx, DType::Float);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, x->dims()));
    const int64_t channels = x->dims().back();
    if (x->numel() == 0) return Status::ok();
    ASSIGN_OR_RETURN(xnn_operator_t op, op_for(static_cast<size_t>(channels)));
    pthreadpool_t tp = pool_.get();
    TRY(check(xnn_setup_softmax_nc_f32(op, static_cast<size_t>(x->numel() / channels), x->data<float>(),
                                       y->mutable_data<float>(), tp),
              what_, "xnn_setup_softmax_nc_f32"));
    return check(xnn_run_operator(op, tp), what_, "xnn_run_operator");
  }

 private:
  Result<xnn_operator_t> op_for(size_t channels) {
    for (auto& [c, op] : ops_)
      if (c == channels) return op.get();
    xnn_operator_t raw = nullptr;
    TRY(check(xnn_create_softmax_nc_f32(channels, channels, channels, 0, &raw), what_, "xnn_create_softmax_nc_f32"));
    if (ops_.size() >= 4) ops_.erase(ops_.begin());
    ops_.emplace_back(channels, Operator(raw));
    return ops_.back().second.get();
  }

  std::string what_;
  ThreadPoolPtr pool_;
  int64_t axis_;  // -1: the last axis; else the axis an older opset names (non-negative)
  CpuFallback fallback_;
  std::vector<std::pair<size_t, Operator>> ops_;  // by row length, most recent last
};

}  // namespace

std::optional<XnnClaim> claim_softmax(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool) {
  const ir::Value* x = node.input(0);
  if (!x || node.num_inputs() != 1 || node.num_outputs() != 1 || !node.output(0)) return std::nullopt;
  if (x->type.is_tensor() && x->type.elem != DType::Float && x->type.elem != DType::Undefined) return std::nullopt;
  int64_t axis = node.attr_int("axis", view.opset(node) >= 13 ? -1 : 1);
  if (view.opset(node) >= 13) {
    if (axis != -1) {
      // A non-negative axis is the last one only with a known rank.
      if (!x->type.is_tensor() || !x->type.shape || axis != static_cast<int64_t>(x->type.shape->size()) - 1)
        return std::nullopt;
    }
    axis = -1;
  } else if (x->type.is_tensor() && x->type.shape) {
    const int64_t rank = static_cast<int64_t>(x->type.shape->size());
    if (axis != -1 && axis != rank - 1) return std::nullopt;
    axis = -1;
  } else if (axis < -1) {
    return std::nullopt;  // the rank is unknown: only -1 surely names the last axis
  }
  XnnClaim out;  // the axis is NCHW's: NCHW only
  out.claim.nodes = {&node};
  out.claim.factory = [what = node.describe(), pool, axis](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<XnnSoftmaxKernel>(what, pool, axis, init));
  };
  return out;
}

}  // namespace ortool::rt::xnn_ep
