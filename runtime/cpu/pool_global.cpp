// GlobalAveragePool, GlobalMaxPool and GlobalLpPool: one value per (batch, channel) plane.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/vec_math.h"

namespace ortool::rt::cpu::conv_family {
namespace {

enum class GlobalKind { Max, Average, Lp };

Status global_pool(KernelContext& ctx, GlobalKind kind) {
  const ir::Node& node = ctx.node();
  const Tensor* x = ctx.input_tensor(0);
  if (!x) return invalid("{}: input X is required", node.describe());
  if (x->rank() < 3)
    return invalid("{}: input X has shape {}; want N x C x D1 x ... (rank 3 or more)", node.describe(),
                   dims_string(x->dims()));
  float p = 2.f;
  if (const ir::Attribute* a = node.attr("p")) p = a->type == ir::AttrType::Float ? a->f : static_cast<float>(a->i);
  if (kind == GlobalKind::Lp && !(p > 0)) return invalid("{}: p {} must be positive", node.describe(), p);
  std::vector<int64_t> out_dims(x->rank(), 1);
  out_dims[0] = x->dims()[0];
  out_dims[1] = x->dims()[1];
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out_dims));
  const int64_t planes = out_dims[0] * out_dims[1];
  const int64_t size = planes == 0 ? 0 : x->numel() / planes;
  bool known = dispatch_float(x->dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using V = std::conditional_t<std::is_same_v<T, double>, double, float>;
    const T* xp = x->data<T>();
    T* yp = y->mutable_data<T>();
    if constexpr (std::is_same_v<T, float>) {
      if (kind == GlobalKind::Average) {
        for (int64_t pl = 0; pl < planes; ++pl)
          yp[pl] = size > 0 ? static_cast<float>(vec::sum_f32(xp + pl * size, size) / static_cast<double>(size)) : 0.0f;
        return;
      }
    }
    for (int64_t pl = 0; pl < planes; ++pl) {
      const T* s = xp + pl * size;
      V acc = kind == GlobalKind::Max ? std::numeric_limits<V>::lowest() : V(0);
      // Sums in double so long planes do not lose precision.
      double sum = 0;
      for (int64_t i = 0; i < size; ++i) {
        const V v = load_as<V>(s[i]);
        if (kind == GlobalKind::Max) {
          if (v > acc) acc = v;
        } else if (kind == GlobalKind::Average) {
          sum += v;
        } else {
          sum += std::pow(std::abs(static_cast<double>(v)), static_cast<double>(p));
        }
      }
      if (kind == GlobalKind::Average) acc = static_cast<V>(size > 0 ? sum / static_cast<double>(size) : 0.0);
      if (kind == GlobalKind::Lp) acc = static_cast<V>(std::pow(sum, 1.0 / static_cast<double>(p)));
      yp[pl] = from_acc<T>(acc);
    }
  });
  if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
  return Status::ok();
}

}  // namespace

void register_pool_global(KernelRegistry& r) {
  const std::vector<DType> floats{DType::Float, DType::Double, DType::Float16, DType::BFloat16};
  r.add(KernelDef{"", "GlobalMaxPool", 1, INT32_MAX, floats, 0,
                  function_kernel([](KernelContext& c) { return global_pool(c, GlobalKind::Max); })});
  r.add(KernelDef{"", "GlobalAveragePool", 1, INT32_MAX, floats, 0,
                  function_kernel([](KernelContext& c) { return global_pool(c, GlobalKind::Average); })});
  r.add(KernelDef{"", "GlobalLpPool", 1, INT32_MAX, floats, 0,
                  function_kernel([](KernelContext& c) { return global_pool(c, GlobalKind::Lp); })});
}

}  // namespace ortool::rt::cpu::conv_family
