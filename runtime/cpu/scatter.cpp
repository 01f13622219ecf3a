// Scatter (deprecated), ScatterElements and ScatterND with the none/add/mul/max/min reductions.
#include <algorithm>

#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Status parse_reduction(const ir::Node& n, Reduction& out) {
  const std::string s = n.attr_string("reduction", "none");
  if (s == "none") out = Reduction::kNone;
  else if (s == "add") out = Reduction::kAdd;
  else if (s == "mul") out = Reduction::kMul;
  else if (s == "max") out = Reduction::kMax;
  else if (s == "min") out = Reduction::kMin;
  else return node_error(n, "unknown reduction '{}'", s);
  return Status::ok();
}

template <typename T>
T reduce(Reduction red, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    switch (red) {
      case Reduction::kAdd: case Reduction::kMax: return a || b;
      case Reduction::kMul: case Reduction::kMin: return a && b;
      default: return b;
    }
  } else {
    auto x = to_arith(a), y = to_arith(b);
    switch (red) {
      case Reduction::kAdd: return from_arith<T>(x + y);
      case Reduction::kMul: return from_arith<T>(x * y);
      case Reduction::kMax: return from_arith<T>(std::max(x, y));
      case Reduction::kMin: return from_arith<T>(std::min(x, y));
      default: return b;
    }
  }
}

// Writes updates[i] into out[targets[i]] in order, combining with `red`.
Status scatter_into(const ir::Node& n, Tensor& out, const Tensor& updates, const std::vector<int64_t>& targets,
                    Reduction red) {
  if (red == Reduction::kNone) {
    dispatch_copy(out.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* u = elems<T>(updates);
      T* o = mutable_elems<T>(out);
      for (size_t i = 0; i < targets.size(); ++i) o[targets[i]] = u[i];
    });
    return Status::ok();
  }
  bool ok = dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* u = updates.data<T>();
    T* o = out.mutable_data<T>();
    for (size_t i = 0; i < targets.size(); ++i) o[targets[i]] = reduce(red, o[targets[i]], u[i]);
  });
  if (!ok) return node_unsupported(n, "reduction on element type {}", dtype_name(out.dtype()));
  return Status::ok();
}

// Scatter-9/11 and ScatterElements-11+: indices and updates have the same shape.
class ScatterElementsKernel final : public CheckedKernel {
 public:
  explicit ScatterElementsKernel(const KernelInit& init) : axis_(init.node.attr_int("axis", 0)) {
    status_ = parse_reduction(init.node, red_);
  }
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    ASSIGN_OR_RETURN(const Tensor* it, need_input(ctx, 1, "indices"));
    ASSIGN_OR_RETURN(const Tensor* up, need_input(ctx, 2, "updates"));
    const int64_t r = static_cast<int64_t>(x->rank());
    if (r == 0) return node_error(n, "data must have rank >= 1");
    if (it->dtype() != DType::Int64 && it->dtype() != DType::Int32)
      return node_error(n, "indices must be int32 or int64, got {}", dtype_name(it->dtype()));
    if (static_cast<int64_t>(it->rank()) != r)
      return node_error(n, "indices have rank {} but data has rank {}", it->rank(), r);
    if (up->dims() != it->dims())
      return node_error(n, "updates shape [{}] differs from indices shape [{}]", fmt::join(up->dims(), ","),
                        fmt::join(it->dims(), ","));
    if (up->dtype() != x->dtype())
      return node_error(n, "updates type {} differs from data type {}", dtype_name(up->dtype()), dtype_name(x->dtype()));
    ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, axis_, r));
    for (int64_t d = 0; d < r; ++d)
      if (d != axis && it->dims()[d] > x->dims()[d])
        return node_error(n, "indices shape [{}] exceeds data shape [{}] on axis {}", fmt::join(it->dims(), ","),
                          fmt::join(x->dims(), ","), d);
    std::vector<int64_t> idx = it->to_int64_vector();
    const std::vector<int64_t> xs = strides_of(x->dims());
    const int64_t dim = x->dims()[axis];
    std::vector<int64_t> targets(idx.size());
    std::vector<int64_t> c(r, 0);
    for (size_t i = 0; i < idx.size(); ++i) {
      int64_t v = idx[i];
      if (v < -dim || v >= dim) return node_error(n, "index {} is out of range for axis {} of size {}", v, axis, dim);
      if (v < 0) v += dim;
      int64_t off = 0;
      for (int64_t d = 0; d < r; ++d) off += (d == axis ? v : c[d]) * xs[d];
      targets[i] = off;
      for (int64_t d = r - 1; d >= 0; --d) {
        if (++c[d] < it->dims()[d]) break;
        c[d] = 0;
      }
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), x->dims()));
    copy_elements(*x, 0, *out, 0, x->numel());
    return scatter_into(n, *out, *up, targets, red_);
  }

 private:
  int64_t axis_;
  Reduction red_ = Reduction::kNone;
};

// ScatterND: indices [..., k] address slices data[i0..ik-1, ...]; updates = indices.shape[:-1] + data.shape[k:].
class ScatterNDKernel final : public CheckedKernel {
 public:
  explicit ScatterNDKernel(const KernelInit& init) { status_ = parse_reduction(init.node, red_); }
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    ASSIGN_OR_RETURN(const Tensor* it, need_input(ctx, 1, "indices"));
    ASSIGN_OR_RETURN(const Tensor* up, need_input(ctx, 2, "updates"));
    if (it->dtype() != DType::Int64) return node_error(n, "indices must be int64, got {}", dtype_name(it->dtype()));
    if (up->dtype() != x->dtype())
      return node_error(n, "updates type {} differs from data type {}", dtype_name(up->dtype()), dtype_name(x->dtype()));
    const int64_t r = static_cast<int64_t>(x->rank()), q = static_cast<int64_t>(it->rank());
    if (r < 1 || q < 1) return node_error(n, "data and indices must have rank >= 1");
    const int64_t k = it->dims()[q - 1];
    if (k < 1 || k > r) return node_error(n, "indices last dim {} must be in [1, {}]", k, r);
    std::vector<int64_t> want(it->dims().begin(), it->dims().end() - 1);
    want.insert(want.end(), x->dims().begin() + k, x->dims().end());
    if (up->dims() != want)
      return node_error(n, "updates shape [{}] should be [{}]", fmt::join(up->dims(), ","), fmt::join(want, ","));
    const int64_t block = product(x->dims(), k);
    const int64_t tuples = product(it->dims(), 0, q - 1);
    const std::vector<int64_t> xs = strides_of(x->dims());
    const int64_t* idx = it->data<int64_t>();
    std::vector<int64_t> targets;
    targets.reserve(static_cast<size_t>(tuples * block));
    for (int64_t j = 0; j < tuples; ++j) {
      int64_t off = 0;
      for (int64_t d = 0; d < k; ++d) {
        int64_t v = idx[j * k + d], dim = x->dims()[d];
        if (v < -dim || v >= dim) return node_error(n, "index {} is out of range for axis {} of size {}", v, d, dim);
        off += (v < 0 ? v + dim : v) * xs[d];
      }
      for (int64_t e = 0; e < block; ++e) targets.push_back(off + e);
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), x->dims()));
    copy_elements(*x, 0, *out, 0, x->numel());
    return scatter_into(n, *out, *up, targets, red_);
  }

 private:
  Reduction red_ = Reduction::kNone;
};

}  // namespace

void register_scatter_ops(KernelRegistry& r) {
  r.add("", "Scatter", 9, INT32_MAX, checked_factory<ScatterElementsKernel>());
  r.add("", "ScatterElements", 11, INT32_MAX, checked_factory<ScatterElementsKernel>());
  r.add("", "ScatterND", 11, INT32_MAX, checked_factory<ScatterNDKernel>());
}

}  // namespace ortool::rt::cpu
