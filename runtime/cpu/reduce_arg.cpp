// ArgMax and ArgMin: index of the largest / smallest element along one axis (int64 output).
#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

// Comparable form of an element: halves as float, everything else as itself.
template <typename T>
auto key(T v) {
  if constexpr (is_half_v<T>) return static_cast<float>(v);
  else return v;
}

class ArgReduceKernel final : public Kernel {
 public:
  ArgReduceKernel(bool is_max, const KernelInit& init) : is_max_(is_max) {
    axis_ = init.node.attr_int("axis", 0);
    keepdims_ = init.node.attr_int("keepdims", 1) != 0;
    select_last_ = init.opset >= 12 && init.node.attr_int("select_last_index", 0) != 0;
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input 'data' is missing", node.describe());
    const int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = axis_;
    if (!normalize_axis(axis, rank))
      return invalid("{}: axis {} is out of range for input 'data' of rank {}", node.describe(), axis_, rank);
    const auto& dims = x->dims();
    const int64_t n = dims[static_cast<size_t>(axis)];
    // product(): 0 past a zero dim and no int64 overflow on an empty tensor with huge other dims.
    const int64_t outer = tensor_util::product(dims, 0, static_cast<size_t>(axis));
    const int64_t inner = tensor_util::product(dims, static_cast<size_t>(axis) + 1);
    std::vector<int64_t> out_dims;
    for (int64_t i = 0; i < rank; ++i) {
      if (i != axis) out_dims.push_back(dims[static_cast<size_t>(i)]);
      else if (keepdims_) out_dims.push_back(1);
    }
    if (n == 0 && tensor_util::product(out_dims) > 0)
      return invalid("{}: cannot take the arg{} over axis {} of size 0", node.describe(), is_max_ ? "max" : "min",
                     axis);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Int64, out_dims));
    if (x->numel() == 0) return Status::ok();  // the output is empty too
    int64_t* yd = y->mutable_data<int64_t>();
    bool ok = dispatch_numeric(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const T* p = xd + o * n * inner + i;
          auto best = key(p[0]);
          int64_t best_j = 0;
          for (int64_t j = 1; j < n; ++j) {
            auto v = key(p[j * inner]);
            bool better = is_max_ ? (v > best) : (v < best);
            if (better || (select_last_ && v == best)) {
              best = v;
              best_j = j;
            }
          }
          yd[o * inner + i] = best_j;
        }
      }
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  bool is_max_;
  int64_t axis_ = 0;
  bool keepdims_ = true;
  bool select_last_ = false;
};

}  // namespace

KernelFactory arg_reduce_kernel(bool is_max) {
  return [is_max](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(new ArgReduceKernel(is_max, init));
  };
}

}  // namespace ortool::rt::cpu
