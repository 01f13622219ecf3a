// TopK: the k largest (or smallest) elements along an axis with their indices; ties keep index order.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

// Strict "a ranks before b" on values, NaN counted as larger than every number.
template <typename T>
bool greater(T a, T b) {
  if constexpr (is_floating_v<T>) {
    const double x = to_double(a), y = to_double(b);
    if (std::isnan(x)) return !std::isnan(y);
    if (std::isnan(y)) return false;
    return x > y;
  } else {
    return a > b;
  }
}

class TopKKernel final : public Kernel {
 public:
  explicit TopKKernel(const KernelInit& init) {
    const ir::Node& n = init.node;
    k_from_input_ = init.opset >= 10;
    k_attr_ = n.attr_int("k", -1);
    axis_ = n.attr_int("axis", -1);
    largest_ = init.opset < 11 || n.attr_int("largest", 1) != 0;
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input 'X' is missing", node.describe());
    int64_t k = k_attr_;
    if (k_from_input_) {
      const Tensor* kt = ctx.input_tensor(1);
      if (!kt || !dtype_is_integer(kt->dtype()) || kt->numel() != 1 || kt->rank() > 1)
        return invalid("{}: input 'K' must be a 1-element integer tensor", node.describe());
      k = kt->get_int64(0);
    }
    const int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = axis_;
    if (!normalize_axis(axis, rank))
      return invalid("{}: axis {} is out of range for input 'X' of rank {}", node.describe(), axis_, rank);
    std::vector<int64_t> dims = x->dims();
    const int64_t n = dims[static_cast<size_t>(axis)];
    if (k < 0 || k > n)
      return invalid("{}: k = {} is out of range for axis {} of size {}", node.describe(), k, axis, n);
    // product(): 0 past a zero dim and no int64 overflow on an empty tensor with huge other dims.
    const int64_t outer = tensor_util::product(dims, 0, static_cast<size_t>(axis));
    const int64_t inner = tensor_util::product(dims, static_cast<size_t>(axis) + 1);
    dims[static_cast<size_t>(axis)] = k;
    ASSIGN_OR_RETURN(Tensor * values, ctx.allocate_output(0, x->dtype(), dims));
    ASSIGN_OR_RETURN(Tensor * indices, ctx.allocate_output(1, DType::Int64, dims));
    if (x->numel() == 0) return Status::ok();  // k <= n: the outputs are empty too
    int64_t* id = indices->mutable_data<int64_t>();

    bool ok = dispatch_numeric(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      T* vd = values->mutable_data<T>();
      std::vector<int64_t> order(static_cast<size_t>(n));
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const T* p = xd + o * n * inner + i;
          std::iota(order.begin(), order.end(), int64_t{0});
          auto before = [&](int64_t a, int64_t b) {
            const T va = p[a * inner], vb = p[b * inner];
            if (largest_ ? greater(va, vb) : greater(vb, va)) return true;
            if (largest_ ? greater(vb, va) : greater(va, vb)) return false;
            return a < b;  // equal values: smaller index first
          };
          std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
          for (int64_t j = 0; j < k; ++j) {
            const int64_t out = (o * k + j) * inner + i;
            vd[out] = p[order[static_cast<size_t>(j)] * inner];
            id[out] = order[static_cast<size_t>(j)];
          }
        }
      }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  bool k_from_input_ = true;
  int64_t k_attr_ = -1;
  int64_t axis_ = -1;
  bool largest_ = true;
};

}  // namespace

KernelFactory topk_kernel() { return factory_of<TopKKernel>(); }

}  // namespace ortool::rt::cpu
