// Shared pieces of the com.microsoft quantized kernels: parameters, dequantize, quantize; and their registration.
#include <algorithm>
#include <cmath>

#include "lib/quant_scale_check.h"
#include "runtime/cpu/families.h"
#include "runtime/cpu/qlinear.h"

namespace ortool::rt::cpu {

namespace qlinear {

Result<const Tensor*> q8_input(const KernelContext& ctx, size_t i, std::string_view what) {
  const Tensor* t = ctx.input_tensor(i);
  if (!t) return invalid("{}: input '{}' is required", ctx.node().describe(), what);
  if (t->dtype() != DType::UInt8 && t->dtype() != DType::Int8)
    return unsupported("{}: input '{}' is {}; want uint8 or int8", ctx.node().describe(), what,
                       dtype_name(t->dtype()));
  return t;
}

Result<QParam> read_param(const KernelContext& ctx, size_t scale_input, size_t zp_input, DType type,
                          std::string_view what) {
  const ir::Node& n = ctx.node();
  const Tensor* s = ctx.input_tensor(scale_input);
  if (!s || s->dtype() != DType::Float || s->numel() != 1)
    return invalid("{}: the scale of '{}' must be one float32 value", n.describe(), what);
  TRY(check_quant_scale(n, scale_input, *s));
  QParam p;
  p.scale = s->data<float>()[0];
  if (const Tensor* z = ctx.input_tensor(zp_input)) {
    if (z->dtype() != type || z->numel() != 1)
      return invalid("{}: the zero point of '{}' must be one {} value", n.describe(), what, dtype_name(type));
    p.zero_point = static_cast<int32_t>(z->get_int64(0));
  }
  return p;
}

std::vector<float> dequantize(const Tensor& x, const QParam& p) {
  std::vector<float> out(static_cast<size_t>(x.numel()));
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(x.get_int64(static_cast<int64_t>(i)) - p.zero_point) * p.scale;
  return out;
}

void quantize_into(const float* y, const QParam& p, Tensor& out) {
  const bool u8 = out.dtype() == DType::UInt8;
  const float lo = u8 ? 0.0f : -128.0f, hi = u8 ? 255.0f : 127.0f;
  const float zp = static_cast<float>(p.zero_point);
  for (int64_t i = 0; i < out.numel(); ++i) {
    float q = std::nearbyint(y[i] / p.scale) + zp;
    if (std::isnan(q)) q = zp;
    q = std::clamp(q, lo, hi);
    if (u8) out.mutable_data<uint8_t>()[i] = static_cast<uint8_t>(q);
    else out.mutable_data<int8_t>()[i] = static_cast<int8_t>(q);
  }
}

}  // namespace qlinear

void register_qlinear_kernels(KernelRegistry& r) {
  using namespace qlinear;
  const std::vector<DType> q8 = {DType::UInt8, DType::Int8};
  const std::string ms = "com.microsoft";
  r.add(KernelDef{ms, "QLinearAdd", 1, INT32_MAX, q8, 0, qlinear_add_kernel()});
  r.add(KernelDef{ms, "QLinearMul", 1, INT32_MAX, q8, 0, qlinear_mul_kernel()});
  r.add(KernelDef{ms, "QLinearSigmoid", 1, INT32_MAX, q8, 0, qlinear_sigmoid_kernel()});
  r.add(KernelDef{ms, "QLinearLeakyRelu", 1, INT32_MAX, q8, 0, qlinear_leaky_relu_kernel()});
  // QLinearConcat's input 0 is Y_scale: the first X (input 2) decides the type.
  r.add(KernelDef{ms, "QLinearConcat", 1, INT32_MAX, q8, 2, qlinear_concat_kernel()});
  r.add(KernelDef{ms, "QLinearGlobalAveragePool", 1, INT32_MAX, q8, 0, qlinear_global_average_pool_kernel()});
  r.add(KernelDef{ms, "QLinearSoftmax", 1, INT32_MAX, q8, 0, qlinear_softmax_kernel()});
  r.add(KernelDef{ms, "QGemm", 1, INT32_MAX, q8, 0, qgemm_kernel()});
}

}  // namespace ortool::rt::cpu
