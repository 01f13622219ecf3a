// LpNormalization: divide by the L1 or L2 norm along one axis (zero vectors stay zero).
#include <cmath>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

class LpNormKernel final : public Kernel {
 public:
  explicit LpNormKernel(const KernelInit& init) {
    axis_ = init.node.attr_int("axis", -1);
    p_ = init.node.attr_int("p", 2);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input 'input' is missing", node.describe());
    if (p_ != 1 && p_ != 2) return invalid("{}: p = {} must be 1 or 2", node.describe(), p_);
    const int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = axis_;
    if (!normalize_axis(axis, rank))
      return invalid("{}: axis {} is out of range for input 'input' of rank {}", node.describe(), axis_, rank);
    const auto& dims = x->dims();
    const int64_t n = dims[static_cast<size_t>(axis)];
    // product(): 0 past a zero dim and no int64 overflow on an empty tensor with huge other dims.
    const int64_t outer = tensor_util::product(dims, 0, static_cast<size_t>(axis));
    const int64_t inner = tensor_util::product(dims, static_cast<size_t>(axis) + 1);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), dims));
    if (y->numel() == 0) return Status::ok();
    bool ok = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      T* yd = y->mutable_data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t base = o * n * inner + i;
          double norm = 0;
          for (int64_t j = 0; j < n; ++j) {
            const double v = to_double(xd[base + j * inner]);
            norm += p_ == 1 ? std::fabs(v) : v * v;
          }
          if (p_ == 2) norm = std::sqrt(norm);
          for (int64_t j = 0; j < n; ++j) {
            const double v = to_double(xd[base + j * inner]);
            yd[base + j * inner] = from_double<T>(norm == 0 ? 0.0 : v / norm);
          }
        }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  int64_t axis_ = -1;
  int64_t p_ = 2;
};

}  // namespace

KernelFactory lp_norm_kernel() { return factory_of<LpNormKernel>(); }

}  // namespace ortool::rt::cpu
