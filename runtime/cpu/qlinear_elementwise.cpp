// com.microsoft QLinearAdd, QLinearMul (broadcasting) and QLinearSigmoid, QLinearLeakyRelu: dequantize,
// compute in float, requantize to the output's scale and zero point (QLinearAdd in ONNX Runtime's
// arithmetic: runtime/cpu/qlinear_add.h).
#include <cmath>

#include "runtime/cpu/broadcast.h"
#include "runtime/cpu/qlinear.h"
#include "runtime/cpu/qlinear_add.h"

namespace ortool::rt::cpu::qlinear {

namespace {

// Inputs A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point.
template <bool kMul>
Status run_binary(KernelContext& ctx) {
  const ir::Node& n = ctx.node();
  ASSIGN_OR_RETURN(const Tensor* a, q8_input(ctx, 0, "A"));
  ASSIGN_OR_RETURN(const Tensor* b, q8_input(ctx, 3, "B"));
  if (b->dtype() != a->dtype()) return invalid("{}: inputs 'A' and 'B' differ in type", n.describe());
  ASSIGN_OR_RETURN(QParam pa, read_param(ctx, 1, 2, a->dtype(), "A"));
  ASSIGN_OR_RETURN(QParam pb, read_param(ctx, 4, 5, a->dtype(), "B"));
  ASSIGN_OR_RETURN(QParam pc, read_param(ctx, 6, 7, a->dtype(), "C"));
  auto dims = broadcast_shape(a->dims(), b->dims());
  if (!dims) return dims.status().with_context(n.describe());
  if constexpr (!kMul) {
    const bool u8 = a->dtype() == DType::UInt8;
    const AddForm f = add_form(pa.scale, pa.zero_point, pb.scale, pb.zero_point, pc.scale, pc.zero_point, u8);
    BroadcastRows rows(*dims, {a->dims(), b->dims()});
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, a->dtype(), *dims));
    auto put = [&](int64_t i, int32_t q) {
      if (u8) out->mutable_data<uint8_t>()[i] = static_cast<uint8_t>(q);
      else out->mutable_data<int8_t>()[i] = static_cast<int8_t>(q);
    };
    rows.for_each([&](int64_t o, const int64_t* in, int64_t count) {
      auto av = [&](int64_t j) { return static_cast<int32_t>(a->get_int64(in[0] + j * rows.step(0))); };
      auto bv = [&](int64_t j) { return static_cast<int32_t>(b->get_int64(in[1] + j * rows.step(1))); };
      // A side constant over the run is folded first (A before B), as ONNX Runtime's kernel does.
      if (a->numel() == 1 || rows.step(0) == 0) {
        const float k = add_fold(f, f.ra, av(0));
        for (int64_t j = 0; j < count; ++j) put(o + j, add_value_folded(f, f.rb, bv(j), k));
      } else if (b->numel() == 1 || rows.step(1) == 0) {
        const float k = add_fold(f, f.rb, bv(0));
        for (int64_t j = 0; j < count; ++j) put(o + j, add_value_folded(f, f.ra, av(j), k));
      } else {
        for (int64_t j = 0; j < count; ++j) put(o + j, add_value(f, av(j), bv(j)));
      }
    });
    return Status::ok();
  }
  const std::vector<float> av = dequantize(*a, pa), bv = dequantize(*b, pb);
  BroadcastRows rows(*dims, {a->dims(), b->dims()});
  std::vector<float> y(static_cast<size_t>(rows.numel()));
  rows.for_each([&](int64_t o, const int64_t* in, int64_t count) {
    for (int64_t j = 0; j < count; ++j) {
      const float x1 = av[static_cast<size_t>(in[0] + j * rows.step(0))];
      const float x2 = bv[static_cast<size_t>(in[1] + j * rows.step(1))];
      y[static_cast<size_t>(o + j)] = kMul ? x1 * x2 : x1 + x2;
    }
  });
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, a->dtype(), *dims));
  quantize_into(y.data(), pc, *out);
  return Status::ok();
}

// Inputs X, X_scale, X_zero_point, Y_scale, Y_zero_point; y = f(x) elementwise.
template <typename F>
Status run_unary(KernelContext& ctx, F f) {
  ASSIGN_OR_RETURN(const Tensor* x, q8_input(ctx, 0, "X"));
  ASSIGN_OR_RETURN(QParam px, read_param(ctx, 1, 2, x->dtype(), "X"));
  ASSIGN_OR_RETURN(QParam py, read_param(ctx, 3, 4, x->dtype(), "Y"));
  std::vector<float> v = dequantize(*x, px);
  for (float& e : v) e = f(e);
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), x->dims()));
  quantize_into(v.data(), py, *out);
  return Status::ok();
}

}  // namespace

KernelFactory qlinear_add_kernel() { return function_kernel(run_binary<false>); }
KernelFactory qlinear_mul_kernel() { return function_kernel(run_binary<true>); }

KernelFactory qlinear_sigmoid_kernel() {
  return function_kernel([](KernelContext& ctx) {
    return run_unary(ctx, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
  });
}

KernelFactory qlinear_leaky_relu_kernel() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    const float alpha = init.node.attr_float("alpha", 0.01f);
    return std::unique_ptr<Kernel>(new FunctionKernel([alpha](KernelContext& ctx) {
      return run_unary(ctx, [alpha](float v) { return v >= 0 ? v : v * alpha; });
    }));
  };
}

}  // namespace ortool::rt::cpu::qlinear
