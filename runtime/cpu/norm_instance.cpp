// InstanceNormalization: per (batch, channel) normalization over the spatial dims, then scale and bias.
#include <cmath>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

class InstanceNormKernel final : public Kernel {
 public:
  explicit InstanceNormKernel(const KernelInit& init) { epsilon_ = init.node.attr_float("epsilon", 1e-5f); }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* scale = ctx.input_tensor(1);
    const Tensor* bias = ctx.input_tensor(2);
    if (!x || !scale || !bias) return invalid("{}: inputs 'input', 'scale' and 'B' are required", node.describe());
    if (x->rank() < 2) return invalid("{}: input 'input' must have rank >= 2, got {}", node.describe(), x->rank());
    const int64_t N = x->dims()[0], C = x->dims()[1];
    int64_t inner = 1;
    for (size_t i = 2; i < x->rank(); ++i) inner *= x->dims()[i];
    if (scale->numel() != C || bias->numel() != C)
      return invalid("{}: inputs 'scale' and 'B' must have {} elements (channels), got {} and {}", node.describe(), C,
                     scale->numel(), bias->numel());
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), x->dims()));
    const double eps = epsilon_;
    bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      T* yd = y->mutable_data<T>();
      parallel_ranges(ctx, static_cast<size_t>(N * C), [&](size_t b, size_t e) {
        for (size_t g = b; g < e; ++g) {
          const int64_t c = static_cast<int64_t>(g) % C;
          const T* p = xd + static_cast<int64_t>(g) * inner;
          T* q = yd + static_cast<int64_t>(g) * inner;
          double mean = 0, var = 0;
          for (int64_t i = 0; i < inner; ++i) mean += to_double(p[i]);
          mean /= static_cast<double>(inner);
          for (int64_t i = 0; i < inner; ++i) var += (to_double(p[i]) - mean) * (to_double(p[i]) - mean);
          var /= static_cast<double>(inner);
          const double s = scale->get_double(c) / std::sqrt(var + eps), bb = bias->get_double(c);
          for (int64_t i = 0; i < inner; ++i) q[i] = from_double<T>((to_double(p[i]) - mean) * s + bb);
        }
      });
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  float epsilon_ = 1e-5f;
};

}  // namespace

KernelFactory instance_norm_kernel() { return factory_of<InstanceNormKernel>(); }

}  // namespace ortool::rt::cpu
