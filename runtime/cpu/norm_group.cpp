// GroupNormalization (opset 18+): normalize each group of channels, then per-channel (or per-group) scale and bias.
#include <cmath>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

class GroupNormKernel final : public Kernel {
 public:
  explicit GroupNormKernel(const KernelInit& init) {
    epsilon_ = init.node.attr_float("epsilon", 1e-5f);
    groups_ = init.node.attr_int("num_groups", 0);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* scale = ctx.input_tensor(1);
    const Tensor* bias = ctx.input_tensor(2);
    if (!x || !scale || !bias) return invalid("{}: inputs 'X', 'scale' and 'bias' are required", node.describe());
    if (x->rank() < 2) return invalid("{}: input 'X' must have rank >= 2, got {}", node.describe(), x->rank());
    const int64_t N = x->dims()[0], C = x->dims()[1], G = groups_;
    if (G <= 0 || C % G != 0)
      return invalid("{}: num_groups = {} must be positive and divide the {} channels", node.describe(), G, C);
    int64_t spatial = 1;
    for (size_t i = 2; i < x->rank(); ++i) spatial *= x->dims()[i];
    // Opset 18 defined scale and bias per group, opset 21 per channel; both are accepted (they agree when C == G).
    const int64_t per = scale->numel();
    if ((per != C && per != G) || bias->numel() != per)
      return invalid("{}: inputs 'scale' and 'bias' must both have {} (channels) or {} (groups) elements",
                     node.describe(), C, G);
    const int64_t cpg = C / G, inner = cpg * spatial;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), x->dims()));
    const double eps = epsilon_;
    bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      T* yd = y->mutable_data<T>();
      for (int64_t g = 0; g < N * G; ++g) {
        const T* p = xd + g * inner;
        T* q = yd + g * inner;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < inner; ++i) mean += to_double(p[i]);
        mean = inner ? mean / static_cast<double>(inner) : 0.0;
        for (int64_t i = 0; i < inner; ++i) var += (to_double(p[i]) - mean) * (to_double(p[i]) - mean);
        var = inner ? var / static_cast<double>(inner) : 0.0;
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t c = (g % G) * cpg + i / spatial;
          const int64_t k = per == C ? c : g % G;
          q[i] = from_double<T>((to_double(p[i]) - mean) * inv * scale->get_double(k) + bias->get_double(k));
        }
      }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  float epsilon_ = 1e-5f;
  int64_t groups_ = 0;
};

}  // namespace

KernelFactory group_norm_kernel() { return factory_of<GroupNormKernel>(); }

}  // namespace ortool::rt::cpu
