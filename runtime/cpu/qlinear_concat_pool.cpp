// com.microsoft QLinearConcat (dequantize, concatenate, requantize) and QLinearGlobalAveragePool (an int32 sum
// requantized once, as ONNX Runtime computes it: qlinear_gap.h).
#include <cmath>

#include "runtime/cpu/qlinear.h"
#include "runtime/cpu/qlinear_gap.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu::qlinear {

namespace {

// Inputs Y_scale, Y_zero_point, then X, X_scale, X_zero_point per operand; attribute axis.
Status run_concat(KernelContext& ctx, int64_t axis_attr) {
  const ir::Node& n = ctx.node();
  if (ctx.num_inputs() < 5 || (ctx.num_inputs() - 2) % 3 != 0)
    return invalid("{}: want Y_scale, Y_zero_point and (X, X_scale, X_zero_point) per input", n.describe());
  const size_t count = (ctx.num_inputs() - 2) / 3;
  ASSIGN_OR_RETURN(const Tensor* first, q8_input(ctx, 2, "X0"));
  const DType type = first->dtype();
  const int64_t rank = static_cast<int64_t>(first->rank());
  int64_t axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  if (axis < 0 || axis >= rank) return invalid("{}: axis {} is out of range for rank {}", n.describe(), axis_attr, rank);
  ASSIGN_OR_RETURN(QParam py, read_param(ctx, 0, 1, type, "Y"));
  std::vector<int64_t> dims = first->dims();
  dims[static_cast<size_t>(axis)] = 0;
  std::vector<std::vector<float>> parts;
  std::vector<const Tensor*> xs;
  for (size_t k = 0; k < count; ++k) {
    ASSIGN_OR_RETURN(const Tensor* x, q8_input(ctx, 2 + 3 * k, "X"));
    if (x->dtype() != type || static_cast<int64_t>(x->rank()) != rank)
      return invalid("{}: input {} differs from the first in type or rank", n.describe(), k);
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && x->dims()[static_cast<size_t>(d)] != first->dims()[static_cast<size_t>(d)])
        return invalid("{}: input {} differs from the first outside the axis", n.describe(), k);
    int64_t& len = dims[static_cast<size_t>(axis)];
    if (__builtin_add_overflow(len, x->dims()[static_cast<size_t>(axis)], &len))
      return invalid("{}: the inputs' lengths along axis {} add up to more than int64 holds", n.describe(), axis);
    ASSIGN_OR_RETURN(QParam px, read_param(ctx, 3 + 3 * k, 4 + 3 * k, type, "X"));
    parts.push_back(dequantize(*x, px));
    xs.push_back(x);
  }
  // The output first: its size is checked (and counted against --max-memory) before the float copy is made.
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, type, dims));
  if (out->numel() == 0) return Status::ok();  // other dims of an empty output may multiply past int64
  const int64_t outer = tensor_util::product(dims, 0, static_cast<size_t>(axis)), inner = tensor_util::product(dims, static_cast<size_t>(axis) + 1);
  std::vector<float> y;
  y.reserve(static_cast<size_t>(out->numel()));
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < count; ++k) {
      const int64_t block = xs[k]->dims()[static_cast<size_t>(axis)] * inner;
      y.insert(y.end(), parts[k].begin() + o * block, parts[k].begin() + (o + 1) * block);
    }
  quantize_into(y.data(), py, *out);
  return Status::ok();
}

// Inputs X, x_scale, x_zero_point, y_scale, y_zero_point; attribute channels_last.
Status run_global_average_pool(KernelContext& ctx, bool channels_last) {
  const ir::Node& n = ctx.node();
  ASSIGN_OR_RETURN(const Tensor* x, q8_input(ctx, 0, "X"));
  if (x->rank() < 3) return invalid("{}: input 'X' has rank {}; want 3 or more", n.describe(), x->rank());
  ASSIGN_OR_RETURN(QParam px, read_param(ctx, 1, 2, x->dtype(), "X"));
  ASSIGN_OR_RETURN(QParam py, read_param(ctx, 3, 4, x->dtype(), "Y"));
  const int64_t batch = x->dims()[0];
  const int64_t channels = channels_last ? x->dims().back() : x->dims()[1];
  std::vector<int64_t> dims(x->rank(), 1);
  dims[0] = batch;
  dims[channels_last ? x->rank() - 1 : 1] = channels;
  // The output first: [batch, channels] of an empty input may be past int64 or any memory.
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), dims));
  if (out->numel() == 0) return Status::ok();
  const int64_t spatial = x->numel() / (batch * channels);  // batch * channels = out->numel(), which fits
  if (spatial == 0) return invalid("{}: input 'X' has an empty plane", n.describe());
  // An int32 sum of the stored values requantized once, as ONNX Runtime computes it (qlinear_gap.h).
  const GapForm f = gap_form(px.scale, px.zero_point, py.scale, py.zero_point, spatial, x->dtype() == DType::UInt8);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      int64_t sum = 0;
      for (int64_t s = 0; s < spatial; ++s)
        sum += x->get_int64(channels_last ? (b * spatial + s) * channels + c : (b * channels + c) * spatial + s);
      const int32_t v = gap_value(f, sum);
      if (out->dtype() == DType::UInt8) out->mutable_data<uint8_t>()[b * channels + c] = static_cast<uint8_t>(v);
      else out->mutable_data<int8_t>()[b * channels + c] = static_cast<int8_t>(v);
    }
  return Status::ok();
}

}  // namespace

KernelFactory qlinear_concat_kernel() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    if (!init.node.has_attr("axis")) return invalid("{}: attribute 'axis' is required", init.node.describe());
    const int64_t axis = init.node.attr_int("axis", 0);
    return std::unique_ptr<Kernel>(new FunctionKernel([axis](KernelContext& ctx) { return run_concat(ctx, axis); }));
  };
}

KernelFactory qlinear_global_average_pool_kernel() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const bool last = init.node.attr_int("channels_last", 0) != 0;
    return std::unique_ptr<Kernel>(
        new FunctionKernel([last](KernelContext& ctx) { return run_global_average_pool(ctx, last); }));
  };
}

}  // namespace ortool::rt::cpu::qlinear
