// Index-driven kernels: NonZero, Compress, OneHot, Trilu, ReverseSequence.
#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

// Element truth as numpy sees it: non-zero numbers, non-empty strings.
Result<std::vector<bool>> truth_values(const ir::Node& n, const Tensor& t) {
  std::vector<bool> out(static_cast<size_t>(t.numel()));
  if (t.is_string()) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = !t.strings()[i].empty();
    return out;
  }
  bool ok = dispatch_numeric(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = t.data<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = to_arith(p[i]) != decltype(to_arith(p[i]))(0);
  });
  if (!ok) return node_unsupported(n, "element type {}", dtype_name(t.dtype()));
  return out;
}

// NonZero-9: int64 [rank, count] coordinates of the non-zero elements in row-major order.
Status nonzero_kernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "X"));
  ASSIGN_OR_RETURN(std::vector<bool> truth, truth_values(ctx.node(), *x));
  const int64_t count = std::count(truth.begin(), truth.end(), true);
  // A scalar is treated as a 1-D tensor of one element, as numpy does.
  const std::vector<int64_t> dims = x->rank() == 0 ? std::vector<int64_t>{1} : x->dims();
  const int64_t r = static_cast<int64_t>(dims.size());
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::Int64, {r, count}));
  int64_t* o = out->mutable_data<int64_t>();
  std::vector<int64_t> c(r, 0);
  int64_t col = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i]) {
      for (int64_t d = 0; d < r; ++d) o[d * count + col] = c[d];
      ++col;
    }
    for (int64_t d = r - 1; d >= 0; --d) {
      if (++c[d] < dims[d]) break;
      c[d] = 0;
    }
  }
  return Status::ok();
}

// Compress-9/11: keeps the slices along `axis` (or of the flattened input) where condition is true.
class CompressKernel final : public Kernel {
 public:
  explicit CompressKernel(const KernelInit& init)
      : has_axis_(init.node.has_attr("axis")), axis_(init.node.attr_int("axis", 0)) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
    ASSIGN_OR_RETURN(const Tensor* c, need_input(ctx, 1, "condition"));
    if (c->rank() != 1) return node_error(n, "condition must be 1-D, got rank {}", c->rank());
    if (c->dtype() != DType::Bool) return node_error(n, "condition must be bool, got {}", dtype_name(c->dtype()));
    std::vector<int64_t> in_dims = x->dims();
    int64_t axis = 0;
    if (has_axis_) {
      ASSIGN_OR_RETURN(axis, normalize_axis(n, axis_, static_cast<int64_t>(x->rank())));
    } else {
      in_dims = {x->numel()};
    }
    const int64_t dim = in_dims[axis];
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < c->numel(); ++i) {
      if (!c->data<uint8_t>()[i]) continue;
      if (i >= dim) return node_error(n, "condition selects index {} beyond axis {} of size {}", i, axis, dim);
      keep.push_back(i);
    }
    std::vector<int64_t> dims = in_dims;
    dims[axis] = static_cast<int64_t>(keep.size());
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), dims));
    const int64_t outer = product(in_dims, 0, axis), inner = product(in_dims, axis + 1);
    const int64_t nk = static_cast<int64_t>(keep.size());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < nk; ++j) copy_elements(*x, (o * dim + keep[j]) * inner, *out, (o * nk + j) * inner, inner);
    return Status::ok();
  }

 private:
  bool has_axis_;
  int64_t axis_;
};

// OneHot-9/11: values[1] where the (possibly negative) index matches, values[0] elsewhere.
class OneHotKernel final : public Kernel {
 public:
  explicit OneHotKernel(const KernelInit& init) : axis_(init.node.attr_int("axis", -1)) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* ind, need_input(ctx, 0, "indices"));
    ASSIGN_OR_RETURN(double depth_d, scalar_double_input(ctx, 1, "depth"));
    ASSIGN_OR_RETURN(const Tensor* vals, need_input(ctx, 2, "values"));
    if (vals->numel() != 2) return node_error(n, "values must hold 2 elements (off, on), got {}", vals->numel());
    if (!std::isfinite(depth_d) || depth_d < 1 || depth_d > 9.0e18)
      return node_error(n, "depth {} must be a positive number", depth_d);
    const int64_t depth = static_cast<int64_t>(depth_d);
    if (ind->is_string()) return node_error(n, "indices must be numeric");
    const int64_t r = static_cast<int64_t>(ind->rank());
    int64_t axis = axis_;
    if (axis < -(r + 1) || axis > r) return node_error(n, "axis {} is out of range for output rank {}", axis, r + 1);
    if (axis < 0) axis += r + 1;
    std::vector<int64_t> dims = ind->dims();
    dims.insert(dims.begin() + axis, depth);
    TRY(checked_dims(n, dims).status());
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, vals->dtype(), dims));
    if (out->numel() == 0) return Status::ok();
    fill_elements(*out, *vals, 0);
    const int64_t outer = product(ind->dims(), 0, axis), inner = product(ind->dims(), axis);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const double v = ind->get_double(o * inner + i);
        if (!std::isfinite(v)) continue;
        int64_t k = static_cast<int64_t>(std::trunc(std::clamp(v, -9.0e18, 9.0e18)));
        if (k < 0) k += depth;
        if (k < 0 || k >= depth) continue;
        copy_elements(*vals, 1, *out, (o * depth + k) * inner + i, 1);
      }
    }
    return Status::ok();
  }

 private:
  int64_t axis_;
};

// Trilu-14: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims.
class TriluKernel final : public Kernel {
 public:
  explicit TriluKernel(const KernelInit& init) : upper_(init.node.attr_int("upper", 1) != 0) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
    if (x->rank() < 2) return node_error(n, "input must have rank >= 2, got {}", x->rank());
    int64_t k = 0;
    if (ctx.input_tensor(1)) {
      ASSIGN_OR_RETURN(k, scalar_int_input(ctx, 1, "k"));
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), x->dims()));
    const int64_t rows = x->dims()[x->rank() - 2], cols = x->dims()[x->rank() - 1];
    const int64_t mats = product(x->dims(), 0, x->rank() - 2);
    k = std::clamp<int64_t>(k, -(rows + cols + 1), rows + cols + 1);  // same result, no overflow below
    for (int64_t m = 0; m < mats; ++m)
      for (int64_t i = 0; i < rows; ++i) {
        // Kept columns of row i: [i + k, cols) for upper, [0, i + k] for lower (clamped).
        const int64_t lo = upper_ ? std::clamp<int64_t>(i + k, 0, cols) : 0;
        const int64_t hi = upper_ ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
        const int64_t row = (m * rows + i) * cols;
        copy_elements(*x, row + lo, *out, row + lo, hi - lo);
      }
    return Status::ok();
  }

 private:
  bool upper_;
};

// ReverseSequence-10: reverses the first sequence_lens[b] steps along time_axis for every batch b.
class ReverseSequenceKernel final : public Kernel {
 public:
  explicit ReverseSequenceKernel(const KernelInit& init)
      : batch_axis_(init.node.attr_int("batch_axis", 1)), time_axis_(init.node.attr_int("time_axis", 0)) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
    ASSIGN_OR_RETURN(std::vector<int64_t> lens, int_input(ctx, 1, "sequence_lens"));
    if (x->rank() < 2) return node_error(n, "input must have rank >= 2, got {}", x->rank());
    if (!((batch_axis_ == 0 && time_axis_ == 1) || (batch_axis_ == 1 && time_axis_ == 0)))
      return node_error(n, "batch_axis {} and time_axis {} must be 0 and 1 in some order", batch_axis_, time_axis_);
    const int64_t batch = x->dims()[batch_axis_], steps = x->dims()[time_axis_];
    if (static_cast<int64_t>(lens.size()) != batch)
      return node_error(n, "sequence_lens has {} entries for batch size {}", lens.size(), batch);
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), x->dims()));
    copy_elements(*x, 0, *out, 0, x->numel());
    const std::vector<int64_t> st = strides_of(x->dims());
    const int64_t inner = product(x->dims(), 2);
    for (int64_t b = 0; b < batch; ++b) {
      if (lens[b] < 0 || lens[b] > steps)
        return node_error(n, "sequence_lens[{}] = {} is outside [0, {}]", b, lens[b], steps);
      for (int64_t t = 0; t < lens[b]; ++t) {
        const int64_t dst = b * st[batch_axis_] + t * st[time_axis_];
        const int64_t src = b * st[batch_axis_] + (lens[b] - 1 - t) * st[time_axis_];
        copy_elements(*x, src, *out, dst, inner);
      }
    }
    return Status::ok();
  }

 private:
  int64_t batch_axis_, time_axis_;
};

}  // namespace

void register_index_ops(KernelRegistry& r) {
  r.add("", "NonZero", 9, INT32_MAX, function_kernel(nonzero_kernel));
  r.add("", "Compress", 9, INT32_MAX, factory_of<CompressKernel>());
  r.add("", "OneHot", 9, INT32_MAX, factory_of<OneHotKernel>());
  r.add("", "Trilu", 14, INT32_MAX, factory_of<TriluKernel>());
  r.add("", "ReverseSequence", 10, INT32_MAX, factory_of<ReverseSequenceKernel>());
}

}  // namespace ortool::rt::cpu
