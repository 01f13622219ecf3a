// com.microsoft QLinearSoftmax: dequantize, softmax (the semantics of the `opset` attribute), requantize.
#include <algorithm>
#include <cmath>

#include "runtime/cpu/qlinear.h"

namespace ortool::rt::cpu::qlinear {

namespace {

// Inputs X, X_scale, x_zero_point, y_scale, y_zero_point; attributes axis and opset. Before opset 13 the
// input is seen as 2-D [prod(dims[:axis]), prod(dims[axis:])]; from 13 softmax runs along `axis` alone.
Status run_softmax(KernelContext& ctx, int64_t axis_attr, int64_t opset) {
  const ir::Node& n = ctx.node();
  ASSIGN_OR_RETURN(const Tensor* x, q8_input(ctx, 0, "X"));
  ASSIGN_OR_RETURN(QParam px, read_param(ctx, 1, 2, x->dtype(), "X"));
  ASSIGN_OR_RETURN(QParam py, read_param(ctx, 3, 4, x->dtype(), "Y"));
  const int64_t rank = static_cast<int64_t>(x->rank());
  const int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  if (axis < 0 || axis >= std::max<int64_t>(rank, 1))
    return invalid("{}: axis {} is out of range for rank {}", n.describe(), axis_attr, rank);
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t v = x->dims()[static_cast<size_t>(d)];
    if (d < axis) outer *= v;
    else if (d == axis || opset < 13) len *= v;
    else inner *= v;
  }
  std::vector<float> v = dequantize(*x, px);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      float* base = v.data() + o * len * inner + i;
      float mx = -INFINITY;
      for (int64_t k = 0; k < len; ++k) mx = std::max(mx, base[k * inner]);
      double sum = 0;
      for (int64_t k = 0; k < len; ++k) {
        base[k * inner] = std::exp(base[k * inner] - mx);
        sum += base[k * inner];
      }
      for (int64_t k = 0; k < len; ++k) base[k * inner] = static_cast<float>(base[k * inner] / sum);
    }
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), x->dims()));
  quantize_into(v.data(), py, *out);
  return Status::ok();
}

}  // namespace

KernelFactory qlinear_softmax_kernel() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    if (!init.node.has_attr("opset")) return invalid("{}: attribute 'opset' is required", init.node.describe());
    const int64_t opset = init.node.attr_int("opset", 13);
    const int64_t axis = init.node.attr_int("axis", opset >= 13 ? -1 : 1);
    return std::unique_ptr<Kernel>(
        new FunctionKernel([axis, opset](KernelContext& ctx) { return run_softmax(ctx, axis, opset); }));
  };
}

}  // namespace ortool::rt::cpu::qlinear
