// MeanVarianceNormalization: (X - mean) / (std + 1e-9) with statistics over `axes` (default N, H, W).
#include <cmath>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

class MvnKernel final : public Kernel {
 public:
  explicit MvnKernel(const KernelInit& init) { axes_ = init.node.attr_ints("axes", {0, 2, 3}); }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input 'X' is missing", node.describe());
    const int64_t rank = static_cast<int64_t>(x->rank());
    std::vector<bool> reduced(static_cast<size_t>(rank), false);
    for (int64_t a : axes_) {
      int64_t ax = a;
      if (!normalize_axis(ax, rank))
        return invalid("{}: axis {} is out of range for input 'X' of rank {}", node.describe(), a, rank);
      if (reduced[static_cast<size_t>(ax)]) return invalid("{}: axis {} is listed twice", node.describe(), a);
      reduced[static_cast<size_t>(ax)] = true;
    }
    const ReducePlan plan = make_reduce_plan(x->dims(), reduced);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), x->dims()));
    bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      T* yd = y->mutable_data<T>();
      const double count = static_cast<double>(plan.offsets.size());
      for (int64_t base : plan.base) {
        double mean = 0, var = 0;
        for (int64_t off : plan.offsets) mean += to_double(xd[base + off]);
        mean /= count;
        for (int64_t off : plan.offsets) var += (to_double(xd[base + off]) - mean) * (to_double(xd[base + off]) - mean);
        const double denom = std::sqrt(var / count) + 1e-9;
        for (int64_t off : plan.offsets) yd[base + off] = from_double<T>((to_double(xd[base + off]) - mean) / denom);
      }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  std::vector<int64_t> axes_;
};

}  // namespace

KernelFactory mvn_kernel() { return factory_of<MvnKernel>(); }

}  // namespace ortool::rt::cpu
