// LRN: local response normalization across channels, y = x / (bias + alpha / size * sum(x^2))^beta.
#include <algorithm>
#include <cmath>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

class LrnKernel final : public Kernel {
 public:
  explicit LrnKernel(const KernelInit& init) {
    const ir::Node& n = init.node;
    size_ = n.attr_int("size", 0);
    alpha_ = n.attr_float("alpha", 1e-4f);
    beta_ = n.attr_float("beta", 0.75f);
    bias_ = n.attr_float("bias", 1.0f);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input 'X' is missing", node.describe());
    if (size_ <= 0) return invalid("{}: attribute 'size' must be positive, got {}", node.describe(), size_);
    if (x->rank() < 2) return invalid("{}: input 'X' must have rank >= 2, got {}", node.describe(), x->rank());
    const int64_t N = x->dims()[0], C = x->dims()[1];
    int64_t inner = 1;
    for (size_t i = 2; i < x->rank(); ++i) inner *= x->dims()[i];
    const int64_t lo = (size_ - 1) / 2, hi = size_ - 1 - lo;  // floor and ceil of (size - 1) / 2
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), x->dims()));
    const double alpha = alpha_, beta = beta_, bias = bias_, size = static_cast<double>(size_);
    bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      T* yd = y->mutable_data<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < inner; ++i) {
            double sq = 0;
            for (int64_t k = std::max<int64_t>(0, c - lo); k <= std::min(C - 1, c + hi); ++k) {
              const double v = to_double(xd[(n * C + k) * inner + i]);
              sq += v * v;
            }
            const int64_t at = (n * C + c) * inner + i;
            yd[at] = from_double<T>(to_double(xd[at]) / std::pow(bias + alpha / size * sq, beta));
          }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  int64_t size_ = 0;
  float alpha_ = 1e-4f, beta_ = 0.75f, bias_ = 1.0f;
};

}  // namespace

KernelFactory lrn_kernel() { return factory_of<LrnKernel>(); }

}  // namespace ortool::rt::cpu
