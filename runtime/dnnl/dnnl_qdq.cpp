// The dnnl provider's standalone QuantizeLinear and DequantizeLinear (per tensor, 8-bit): where an int8 region
// meets float ops (a residual Add, pools, the graph's input and output).
//
// The same arithmetic as the reference kernels (runtime/cpu/quantize.cpp), so the results are equal:
// q = clamp(round_half_even(x / scale) + zero_point), NaN to the zero point; x = float(q - zero_point) * scale.
// Loops the compiler vectorizes (dnnl_quant_loops.h), split over the session's threads for large tensors. Anything
// else (per axis, blocked, 16-bit, float8, a tensor of another type at run time) runs the cpu kernel.
#include <algorithm>
#include <cmath>

#include "runtime/dnnl/dnnl_common.h"
#include "runtime/dnnl/dnnl_quant_loops.h"
#include "runtime/partition.h"

namespace ortool::rt::dnnl_ep {

namespace {

bool is_8bit(DType t) { return t == DType::UInt8 || t == DType::Int8; }

struct QdqSpec {
  bool quantize = true;
  float scale = 1;
  int32_t zero_point = 0;
  DType q_type = DType::UInt8;  // the 8-bit side
};

class QdqKernel final : public Kernel {
 public:
  TeamUse team_use(KernelContext&) override { return TeamUse::Pool; }  // splits through ctx.threads() only
  QdqKernel(const KernelInit& init, QdqSpec s) : spec_(s), fallback_(init) {}

  Status run(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(0);
    const DType want = spec_.quantize ? DType::Float : spec_.q_type;
    if (!x || x->dtype() != want) return fallback_.run(ctx, x ? x->dtype() : want);
    const DType out = spec_.quantize ? spec_.q_type : DType::Float;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out, x->dims(), KernelContext::Fill::Uninitialized));
    split_loop(ctx, x->numel(), [&](int64_t b, int64_t e) {
      if (spec_.quantize && out == DType::UInt8)
        quantize_loop(x->data<float>(), y->mutable_data<uint8_t>(), b, e, spec_.scale, spec_.zero_point);
      else if (spec_.quantize)
        quantize_loop(x->data<float>(), y->mutable_data<int8_t>(), b, e, spec_.scale, spec_.zero_point);
      else if (want == DType::UInt8)
        dequantize_loop(x->data<uint8_t>(), y->mutable_data<float>(), b, e, spec_.scale, spec_.zero_point);
      else
        dequantize_loop(x->data<int8_t>(), y->mutable_data<float>(), b, e, spec_.scale, spec_.zero_point);
    });
    return Status::ok();
  }

 private:
  QdqSpec spec_;
  CpuFallback fallback_;
};

}  // namespace

std::optional<DnnlClaim> claim_qdq(const GraphView& view, const ir::Node& node) {
  const bool q = ir::is_op(node, "QuantizeLinear");
  if ((!q && !ir::is_op(node, "DequantizeLinear")) || node.num_inputs() < 2 || node.num_inputs() > 3 ||
      !node.input(0) || node.num_outputs() != 1 || !node.output(0) || node.attr_int("block_size", 0) != 0)
    return std::nullopt;
  QdqSpec s;
  s.quantize = q;
  const TensorPtr scale = fixed_tensor(view, node.input(1));
  if (!scale || scale->dtype() != DType::Float || scale->numel() != 1 || scale->rank() > 1) return std::nullopt;
  s.scale = scale->data<float>()[0];
  if (!(s.scale > 0.0f) || !std::isfinite(s.scale)) return std::nullopt;
  const ir::Value* zv = node.num_inputs() > 2 ? node.input(2) : nullptr;
  if (zv) {
    const TensorPtr z = fixed_tensor(view, zv);
    if (!z || !is_8bit(z->dtype()) || z->numel() != 1 || z->rank() > 1) return std::nullopt;
    s.q_type = z->dtype();
    s.zero_point = static_cast<int32_t>(z->get_double(0));
  } else if (q) {
    if (const ir::Attribute* od = node.attr("output_dtype"); od && od->i != 0 && static_cast<DType>(od->i) != DType::UInt8)
      return std::nullopt;
  } else {
    const ir::Value* x = node.input(0);
    if (!x->type.is_tensor() || !is_8bit(x->type.elem)) return std::nullopt;
    s.q_type = x->type.elem;
  }
  DnnlClaim dc;
  dc.claim.nodes = {&node};
  dc.nhwc_ok.assign(node.num_inputs(), false);
  dc.nhwc_8bit_ok.assign(node.num_inputs(), false);
  // Elementwise: any layout, the output's that of the input. Only 4-D values are ever NHWC; a declared
  // 4-D output also lets the provider claim float ops between (resnet's residual Add) NHWC.
  const ir::Value* o = node.output(0);
  dc.out_nhwc_ok = o->type.is_tensor() && o->type.shape && o->type.shape->size() == 4;
  dc.same_layout = true;
  dc.out_8bit = q;
  if (q) dc.nhwc_ok[0] = true;
  else dc.nhwc_8bit_ok[0] = true;
  dc.claim.factory = [s](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<QdqKernel>(init, s));
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
