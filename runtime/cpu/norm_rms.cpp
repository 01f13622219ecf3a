// RMSNormalization (opset 23): X / sqrt(mean(X^2 over axes [axis, rank)) + epsilon) * scale, in double.
#include <cmath>

#include <fmt/ranges.h>

#include "runtime/cpu/broadcast.h"
#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

class RmsNormKernel final : public Kernel {
 public:
  explicit RmsNormKernel(const KernelInit& init) {
    axis_ = init.node.attr_int("axis", -1);
    epsilon_ = init.node.attr_float("epsilon", 1e-5f);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* scale = ctx.input_tensor(1);
    if (!x || !scale) return invalid("{}: inputs 'X' and 'scale' are required", node.describe());
    const int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = axis_;
    if (!normalize_axis(axis, rank))
      return invalid("{}: axis {} is out of range for an input of rank {}", node.describe(), axis_, rank);
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x->dims()[static_cast<size_t>(i)];
    for (int64_t i = axis; i < rank; ++i) inner *= x->dims()[static_cast<size_t>(i)];
    // scale broadcasts (numpy, right-aligned) to the normalized dims X.shape[axis:].
    const std::vector<int64_t> norm_dims(x->dims().begin() + axis, x->dims().end());
    std::vector<int64_t> scale_index;
    if (!broadcast_index_map(scale->dims(), norm_dims, scale_index))
      return invalid("{}: input 'scale' of shape [{}] does not broadcast to [{}]", node.describe(),
                     fmt::join(scale->dims(), ","), fmt::join(norm_dims, ","));
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), x->dims()));
    const double eps = epsilon_;
    bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      T* yd = y->mutable_data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        const T* p = xd + o * inner;
        T* q = yd + o * inner;
        double ss = 0;
        for (int64_t i = 0; i < inner; ++i) ss += to_double(p[i]) * to_double(p[i]);
        const double inv = 1.0 / std::sqrt((inner ? ss / static_cast<double>(inner) : 0.0) + eps);
        for (int64_t i = 0; i < inner; ++i)
          q[i] = from_double<T>(to_double(p[i]) * inv * scale->get_double(scale_index[static_cast<size_t>(i)]));
      }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  int64_t axis_ = -1;
  float epsilon_ = 1e-5f;
};

}  // namespace

KernelFactory rms_norm_kernel() { return factory_of<RmsNormKernel>(); }

}  // namespace ortool::rt::cpu
