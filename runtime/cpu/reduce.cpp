// Reduce* ops (Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare) over a set of axes.
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/reduce.h"
#include "runtime/cpu/vec_math.h"

namespace ortool::rt::cpu {

ReducePlan make_reduce_plan(const std::vector<int64_t>& dims, const std::vector<bool>& reduced) {
  const size_t rank = dims.size();
  ReducePlan p;
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) {
    p.empty_input = true;
    for (size_t a = 0; a < rank; ++a) {
      p.keep_dims.push_back(reduced[a] ? 1 : dims[a]);
      if (!reduced[a]) p.kept_dims.push_back(dims[a]);
    }
    return p;
  }
  std::vector<int64_t> strides(rank, 1);
  for (size_t i = rank; i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  p.base = {0};
  p.offsets = {0};
  // Expand axis by axis, outermost first, so both lists come out in row-major order.
  for (size_t a = 0; a < rank; ++a) {
    std::vector<int64_t>& list = reduced[a] ? p.offsets : p.base;
    std::vector<int64_t> next;
    next.reserve(list.size() * static_cast<size_t>(dims[a]));
    for (int64_t start : list)
      for (int64_t i = 0; i < dims[a]; ++i) next.push_back(start + i * strides[a]);
    list = std::move(next);
    if (reduced[a]) {
      p.keep_dims.push_back(1);
    } else {
      p.keep_dims.push_back(dims[a]);
      p.kept_dims.push_back(dims[a]);
    }
  }
  return p;
}

namespace {
using namespace kit;

// One output element of the reduction over x[base + offsets[j]].
template <typename T>
T reduce_one(ReduceOp op, const T* x, int64_t base, const std::vector<int64_t>& offsets) {
  const size_t n = offsets.size();
  auto at = [&](size_t j) { return x[base + offsets[j]]; };
  if constexpr (is_floating_v<T>) {
    double acc = 0;
    switch (op) {
      case ReduceOp::Sum:
        for (size_t j = 0; j < n; ++j) acc += to_double(at(j));
        break;
      case ReduceOp::Mean:
        for (size_t j = 0; j < n; ++j) acc += to_double(at(j));
        acc = n ? acc / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
        break;
      case ReduceOp::Max:
      case ReduceOp::Min: {
        const bool is_max = op == ReduceOp::Max;
        acc = is_max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
        for (size_t j = 0; j < n; ++j) {
          double v = to_double(at(j));
          if (std::isnan(v)) {
            acc = v;
            break;
          }
          acc = is_max ? std::max(acc, v) : std::min(acc, v);
        }
        break;
      }
      case ReduceOp::Prod:
        acc = 1;
        for (size_t j = 0; j < n; ++j) acc *= to_double(at(j));
        break;
      case ReduceOp::L1:
        for (size_t j = 0; j < n; ++j) acc += std::fabs(to_double(at(j)));
        break;
      case ReduceOp::L2:
        for (size_t j = 0; j < n; ++j) acc += to_double(at(j)) * to_double(at(j));
        acc = std::sqrt(acc);
        break;
      case ReduceOp::SumSquare:
        for (size_t j = 0; j < n; ++j) acc += to_double(at(j)) * to_double(at(j));
        break;
      case ReduceOp::LogSum:
        for (size_t j = 0; j < n; ++j) acc += to_double(at(j));
        acc = std::log(acc);  // empty set: log(0) = -inf
        break;
      case ReduceOp::LogSumExp: {
        double mx = -std::numeric_limits<double>::infinity();
        for (size_t j = 0; j < n; ++j) mx = std::max(mx, to_double(at(j)));
        const double shift = std::isfinite(mx) ? mx : 0.0;
        for (size_t j = 0; j < n; ++j) acc += std::exp(to_double(at(j)) - shift);
        acc = std::log(acc) + shift;  // empty set: -inf
        break;
      }
    }
    return from_double<T>(acc);
  } else {
    // Integers (and bool for Max/Min): exact arithmetic that wraps like the element type does.
    uint64_t acc = 0;
    auto u = [](T v) { return static_cast<uint64_t>(static_cast<int64_t>(v)); };
    auto wrap = [](uint64_t v) { return static_cast<T>(v); };
    switch (op) {
      case ReduceOp::Sum:
        for (size_t j = 0; j < n; ++j) acc += u(at(j));
        return wrap(acc);
      case ReduceOp::Mean: {
        if (n == 0) return T(0);
        for (size_t j = 0; j < n; ++j) acc += u(at(j));
        if constexpr (std::is_signed_v<T>) return static_cast<T>(static_cast<int64_t>(acc) / static_cast<int64_t>(n));
        else return static_cast<T>(acc / n);
      }
      case ReduceOp::Max: {
        T m = std::numeric_limits<T>::lowest();
        for (size_t j = 0; j < n; ++j) m = std::max(m, at(j));
        return m;
      }
      case ReduceOp::Min: {
        T m = std::numeric_limits<T>::max();
        for (size_t j = 0; j < n; ++j) m = std::min(m, at(j));
        return m;
      }
      case ReduceOp::Prod:
        acc = 1;
        for (size_t j = 0; j < n; ++j) acc *= u(at(j));
        return wrap(acc);
      case ReduceOp::L1:
        for (size_t j = 0; j < n; ++j) {
          T v = at(j);
          if constexpr (std::is_signed_v<T>) acc += (v < T(0)) ? 0 - u(v) : u(v);
          else acc += u(v);
        }
        return wrap(acc);
      case ReduceOp::SumSquare:
        for (size_t j = 0; j < n; ++j) acc += u(at(j)) * u(at(j));
        return wrap(acc);
      case ReduceOp::L2:
        for (size_t j = 0; j < n; ++j) acc += u(at(j)) * u(at(j));
        return from_double<T>(std::sqrt(to_double(wrap(acc))));
      case ReduceOp::LogSum:
        for (size_t j = 0; j < n; ++j) acc += u(at(j));
        return from_double<T>(std::log(to_double(wrap(acc))));
      case ReduceOp::LogSumExp: {
        double s = 0;
        for (size_t j = 0; j < n; ++j) s += std::exp(to_double(at(j)));
        return from_double<T>(std::log(s));
      }
    }
    return T(0);
  }
}

class ReduceKernel final : public Kernel {
 public:
  ReduceKernel(ReduceOp op, const KernelInit& init) : op_(op) {
    const ir::Node& n = init.node;
    axes_from_input_ = init.opset >= (op == ReduceOp::Sum ? 13 : 18);
    keepdims_ = n.attr_int("keepdims", 1) != 0;
    noop_with_empty_axes_ = n.attr_int("noop_with_empty_axes", 0) != 0;
    if (!axes_from_input_) attr_axes_ = n.attr_ints("axes");
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input 'data' is missing", node.describe());
    std::vector<int64_t> axes = attr_axes_;
    if (axes_from_input_) {
      axes.clear();
      if (const Tensor* a = ctx.input_tensor(1)) {
        if (!dtype_is_integer(a->dtype()) || a->rank() > 1)
          return invalid("{}: input 'axes' must be a 1-D integer tensor", node.describe());
        axes = a->to_int64_vector();
      }
    }
    const int64_t rank = static_cast<int64_t>(x->rank());
    std::vector<bool> reduced(static_cast<size_t>(rank), false);
    if (axes.empty()) {
      // No axes: reduce everything, or nothing when noop_with_empty_axes is set.
      if (!noop_with_empty_axes_) std::fill(reduced.begin(), reduced.end(), true);
    }
    for (int64_t a : axes) {
      int64_t ax = a;
      if (!normalize_axis(ax, rank))
        return invalid("{}: axis {} is out of range for input 'data' of rank {}", node.describe(), a, rank);
      if (reduced[static_cast<size_t>(ax)])
        return invalid("{}: axis {} is listed twice", node.describe(), a);
      reduced[static_cast<size_t>(ax)] = true;
    }
    ReducePlan plan = make_reduce_plan(x->dims(), reduced);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), keepdims_ ? plan.keep_dims : plan.kept_dims));
    if (plan.empty_input) {  // every output element (if any) reduces nothing
      const bool filled = dispatch_numeric(x->dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T none = reduce_one<T>(op_, x->data<T>(), 0, plan.offsets);
        std::fill_n(y->mutable_data<T>(), y->numel(), none);
      });
      if (!filled) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
      return Status::ok();
    }

    bool ok = dispatch_numeric(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xd = x->data<T>();
      T* yd = y->mutable_data<T>();
      const size_t chunk = std::max<size_t>(1, 4096 / std::max<size_t>(1, plan.offsets.size()));
      if constexpr (std::is_same_v<T, float>) {
        // Sum and Mean of float32 over contiguous runs (the reduced axes innermost): vectorized.
        const int64_t n = static_cast<int64_t>(plan.offsets.size());
        bool contiguous = n > 0 && (op_ == ReduceOp::Sum || op_ == ReduceOp::Mean);
        for (int64_t j = 0; contiguous && j < n; ++j) contiguous = plan.offsets[static_cast<size_t>(j)] == j;
        if (contiguous) {
          parallel_ranges(ctx, plan.base.size(), [&](size_t b, size_t e) {
            for (size_t k = b; k < e; ++k) {
              const double sum = vec::sum_f32(xd + plan.base[k], n);
              yd[k] = static_cast<float>(op_ == ReduceOp::Mean ? sum / static_cast<double>(n) : sum);
            }
          }, chunk);
          return;
        }
      }
      parallel_ranges(ctx, plan.base.size(), [&](size_t b, size_t e) {
        for (size_t k = b; k < e; ++k) yd[k] = reduce_one<T>(op_, xd, plan.base[k], plan.offsets);
      }, chunk);
    });
    if (!ok) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  ReduceOp op_;
  bool axes_from_input_ = false;
  bool keepdims_ = true;
  bool noop_with_empty_axes_ = false;
  std::vector<int64_t> attr_axes_;
};

}  // namespace

KernelFactory reduce_kernel(ReduceOp op) {
  return [op](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(new ReduceKernel(op, init));
  };
}

}  // namespace ortool::rt::cpu
