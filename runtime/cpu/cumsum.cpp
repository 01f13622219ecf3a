// CumSum: running sums along an axis, optionally exclusive and/or from the end.
#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

class CumSumKernel final : public Kernel {
 public:
  explicit CumSumKernel(const KernelInit& init) {
    exclusive_ = init.node.attr_int("exclusive", 0) != 0;
    reverse_ = init.node.attr_int("reverse", 0) != 0;
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* at = ctx.input_tensor(1);
    if (!x) return invalid("{}: input 'x' is missing", node.describe());
    if (!at || !dtype_is_integer(at->dtype()) || at->numel() != 1 || at->rank() > 1)
      return invalid("{}: input 'axis' must be a scalar integer tensor", node.describe());
    const int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = at->get_int64(0);
    if (!normalize_axis(axis, rank))
      return invalid("{}: axis {} is out of range for input 'x' of rank {}", node.describe(), at->get_int64(0), rank);
    const auto& dims = x->dims();
    const int64_t n = dims[static_cast<size_t>(axis)];
    // product(): 0 past a zero dim and no int64 overflow on an empty tensor with huge other dims.
    const int64_t outer = tensor_util::product(dims, 0, static_cast<size_t>(axis));
    const int64_t inner = tensor_util::product(dims, static_cast<size_t>(axis) + 1);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), dims));
    if (y->numel() == 0) return Status::ok();

    bool ok = dispatch_numeric(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      T* yd = y->mutable_data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t base = o * n * inner + i;
          // Floats accumulate in double; integers wrap like the element type.
          double fsum = 0;
          uint64_t isum = 0;
          for (int64_t s = 0; s < n; ++s) {
            const int64_t j = reverse_ ? n - 1 - s : s;
            const T v = xd[base + j * inner];
            if constexpr (is_floating_v<T>) {
              if (!exclusive_) fsum += to_double(v);
              yd[base + j * inner] = from_double<T>(fsum);
              if (exclusive_) fsum += to_double(v);
            } else {
              const uint64_t u = static_cast<uint64_t>(static_cast<int64_t>(v));
              if (!exclusive_) isum += u;
              yd[base + j * inner] = static_cast<T>(isum);
              if (exclusive_) isum += u;
            }
          }
        }
      }
    });
    if (!ok || x->dtype() == DType::Bool)
      return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  bool exclusive_ = false;
  bool reverse_ = false;
};

}  // namespace

KernelFactory cumsum_kernel() { return factory_of<CumSumKernel>(); }

}  // namespace ortool::rt::cpu
