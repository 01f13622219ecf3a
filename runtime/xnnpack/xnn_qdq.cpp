// The xnnpack provider's standalone QuantizeLinear and DequantizeLinear (per tensor, 8-bit), where its int8 groups meet float ops.
//
// The reference kernels' arithmetic (runtime/quant_loops.h), so the results are equal: XNNPACK's own
// convert operators multiply by 1 / scale, a step off next to ties, and leave NaN undefined. Elementwise
// and layout-free, so an NHWC value passes through (a residual Add or a pool between int8 groups stays
// NHWC). Tiles of the tensor run on the session's pthreadpool.
#include <memory>

#include "runtime/qdq_group.h"
#include "runtime/quant_loops.h"
#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt::xnn_ep {

namespace {

struct QdqSpec {
  bool quantize = true;
  qdq::ActQuant q;  // the 8-bit side
  std::string what;
};

struct LoopArgs {
  const QdqSpec* spec;
  const void* x;
  void* y;
};

void qdq_tile(void* ctx, size_t b, size_t n) {
  const auto& a = *static_cast<const LoopArgs*>(ctx);
  const QdqSpec& s = *a.spec;
  const auto e = static_cast<int64_t>(b + n), i = static_cast<int64_t>(b);
  const bool u8 = s.q.type == DType::UInt8;
  const float* xf = static_cast<const float*>(a.x);
  if (s.quantize && u8) quantize_loop(xf, static_cast<uint8_t*>(a.y), i, e, s.q.scale, s.q.zero_point);
  else if (s.quantize) quantize_loop(xf, static_cast<int8_t*>(a.y), i, e, s.q.scale, s.q.zero_point);
  else if (u8) dequantize_loop(static_cast<const uint8_t*>(a.x), static_cast<float*>(a.y), i, e, s.q.scale, s.q.zero_point);
  else dequantize_loop(static_cast<const int8_t*>(a.x), static_cast<float*>(a.y), i, e, s.q.scale, s.q.zero_point);
}

class XnnQdqKernel final : public Kernel {
 public:
  XnnQdqKernel(std::shared_ptr<const QdqSpec> spec, ThreadPoolPtr pool) : spec_(std::move(spec)), pool_(std::move(pool)) {}

  Status run(KernelContext& ctx) override {
    const QdqSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    const DType want = s.quantize ? DType::Float : s.q.type;
    if (!x || x->dtype() != want)
      return invalid("{}: input x is {}; want {}", s.what, x ? dtype_name(x->dtype()) : "absent", dtype_name(want));
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, s.quantize ? s.q.type : DType::Float, x->dims(),
                                                     KernelContext::Fill::Uninitialized));
    LoopArgs a{&s, x->raw(), y->raw_mutable()};
    // Tiles of 16K elements: enough work per task to pay for the hand-off.
    pthreadpool_parallelize_1d_tile_1d(pool_.get(), qdq_tile, &a, static_cast<size_t>(x->numel()), 1 << 14, 0);
    return Status::ok();
  }

 private:
  std::shared_ptr<const QdqSpec> spec_;
  ThreadPoolPtr pool_;
};

}  // namespace

std::optional<XnnClaim> claim_qdq(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool) {
  std::optional<qdq::ActQuant> q = qdq::node_quant(view, node);
  if (!q) return std::nullopt;
  auto spec = std::make_shared<QdqSpec>();
  spec->quantize = ir::is_op(node, "QuantizeLinear");
  spec->q = *q;
  spec->what = node.describe();
  // A QuantizeLinear's input declared float (opset 19 also takes float16); a DequantizeLinear's of the zero
  // point's type, which ONNX requires (undeclared: checked at run time).
  const ir::Value* x = node.input(0);
  const DType xt = x->type.is_tensor() ? x->type.elem : DType::Undefined;
  if (spec->quantize ? xt != DType::Float : (xt != DType::Undefined && xt != q->type)) return std::nullopt;
  XnnClaim out;
  out.elementwise = true;
  out.claim.nodes = {&node};
  out.claim.factory = [spec, pool](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<XnnQdqKernel>(spec, pool));
  };
  return out;
}

}  // namespace ortool::rt::xnn_ep
