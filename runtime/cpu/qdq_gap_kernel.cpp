// The cpu provider's "DQ -> GlobalAveragePool -> Q" group (runtime/qdq_gap_group.h): an int32 sum of the stored
// values per plane, requantized as ONNX Runtime's QLinearGlobalAveragePool does (runtime/cpu/qlinear_gap.h).
#include "runtime/cpu/qlinear.h"
#include "runtime/cpu/qlinear_add.h"
#include "runtime/cpu/qlinear_gap.h"
#include "runtime/qdq_gap_group.h"

namespace ortool::rt::cpu::qlinear {

KernelFactory qdq_gap_group_kernel(const qdq::GapGroup& g) {
  return function_kernel([g](KernelContext& ctx) -> Status {
    const ir::Node& n = ctx.node();
    const Tensor* x = ctx.input_tensor(g.x_input);
    if (!x || x->dtype() != (g.x_dq ? g.x.type : DType::Float))
      return invalid("{}: the quantized average's input is not of the type its DequantizeLinear gives", n.describe());
    if (x->rank() < 3) return invalid("{}: input has rank {}; want 3 or more", n.describe(), x->rank());
    const int64_t batch = x->dims()[0], channels = x->dims()[1];
    std::vector<int64_t> dims(x->rank(), 1);
    dims[0] = batch;
    dims[1] = channels;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, g.y.type, dims));
    if (y->numel() == 0) return Status::ok();
    const int64_t plane = x->numel() / (batch * channels);
    if (plane == 0) return invalid("{}: empty window", n.describe());
    const GapForm f = gap_form(g.x.scale, g.x.zero_point, g.y.scale, g.y.zero_point, plane, g.y.type == DType::UInt8);
    const Dequantized dq(g.x.scale, g.x.zero_point);
    for (int64_t i = 0; i < batch * channels; ++i) {
      int64_t sum = 0;
      const int64_t base = i * plane;
      switch (x->dtype()) {
        case DType::UInt8: for (int64_t p = 0; p < plane; ++p) sum += x->data<uint8_t>()[base + p]; break;
        case DType::Int8: for (int64_t p = 0; p < plane; ++p) sum += x->data<int8_t>()[base + p]; break;
        default: for (int64_t p = 0; p < plane; ++p) sum += static_cast<int64_t>(dq.stored(x->data<float>()[base + p]));
      }
      const int32_t v = gap_value(f, sum);
      if (g.y.type == DType::UInt8) y->mutable_data<uint8_t>()[i] = static_cast<uint8_t>(v);
      else y->mutable_data<int8_t>()[i] = static_cast<int8_t>(v);
    }
    return Status::ok();
  });
}

}  // namespace ortool::rt::cpu::qlinear
