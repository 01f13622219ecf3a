// Concat and Split along one axis, any element type.
#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

class ConcatKernel final : public Kernel {
 public:
  // Concat-1 defaults the axis to 1; it is required since Concat-4.
  explicit ConcatKernel(const KernelInit& init)
      : has_axis_(init.node.has_attr("axis") || init.opset < 4), axis_(init.node.attr_int("axis", 1)) {}

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    if (!has_axis_) return node_error(n, "attribute 'axis' is required");
    std::vector<const Tensor*> ins;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor* t = ctx.input_tensor(i);
      if (!t) return node_error(n, "input {} is missing or not a tensor", i);
      ins.push_back(t);
    }
    if (ins.empty()) return node_error(n, "needs at least one input");
    const Tensor& first = *ins[0];
    const int64_t r = static_cast<int64_t>(first.rank());
    if (r == 0) return node_error(n, "cannot concatenate scalars");
    ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, axis_, r));
    std::vector<int64_t> dims = first.dims();
    dims[axis] = 0;
    for (size_t i = 0; i < ins.size(); ++i) {
      const Tensor& t = *ins[i];
      if (t.dtype() != first.dtype())
        return node_error(n, "input {} has type {} but input 0 has {}", i, dtype_name(t.dtype()), dtype_name(first.dtype()));
      if (static_cast<int64_t>(t.rank()) != r)
        return node_error(n, "input {} has rank {} but input 0 has rank {}", i, t.rank(), r);
      for (int64_t d = 0; d < r; ++d)
        if (d != axis && t.dims()[d] != first.dims()[d])
          return node_error(n, "input {} has shape [{}], incompatible with input 0's [{}] for axis {}", i,
                            fmt::join(t.dims(), ","), fmt::join(first.dims(), ","), axis);
      dims[axis] += t.dims()[axis];
    }
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, first.dtype(), dims));
    const int64_t outer = product(dims, 0, axis);
    const int64_t inner = product(dims, axis + 1);
    const int64_t out_row = dims[axis] * inner;
    int64_t offset = 0;
    for (const Tensor* t : ins) {
      const int64_t row = t->dims()[axis] * inner;
      for (int64_t o = 0; o < outer; ++o) copy_elements(*t, o * row, *out, o * out_row + offset, row);
      offset += row;
    }
    return Status::ok();
  }

 private:
  bool has_axis_;
  int64_t axis_;
};

// Split: sizes from the 'split' attribute (<13; Split-1 also as input 1), input 1 (>=13), or equal parts
// (Split-18: num_outputs parts of ceil(dim / num_outputs), the last one smaller).
class SplitKernel final : public Kernel {
 public:
  explicit SplitKernel(const KernelInit& init)
      : opset_(init.opset), axis_(init.node.attr_int("axis", 0)), has_split_attr_(init.node.has_attr("split")),
        split_attr_(init.node.attr_ints("split")), num_outputs_attr_(init.node.attr_int("num_outputs", 0)) {}

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
    const int64_t r = static_cast<int64_t>(x->rank());
    ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, axis_, r));
    const int64_t dim = x->dims()[axis];
    const int64_t num_out = static_cast<int64_t>(ctx.num_outputs());
    std::vector<int64_t> sizes;
    bool have_sizes = false;
    if ((opset_ >= 13 || opset_ < 2) && ctx.input_tensor(1)) {
      ASSIGN_OR_RETURN(sizes, int_input(ctx, 1, "split"));
      have_sizes = true;
    } else if (opset_ < 13 && has_split_attr_) {
      sizes = split_attr_;
      have_sizes = true;
    }
    if (have_sizes) {
      if (static_cast<int64_t>(sizes.size()) != num_out)
        return node_error(n, "split [{}] has {} entries for {} outputs", fmt::join(sizes, ","), sizes.size(), num_out);
      int64_t sum = 0;
      for (int64_t s : sizes) {
        if (s < 0) return node_error(n, "split [{}] has a negative size", fmt::join(sizes, ","));
        if (s > dim - sum)
          return node_error(n, "split [{}] sums to more than axis {}'s size {}", fmt::join(sizes, ","), axis, dim);
        sum += s;
      }
      if (sum != dim)
        return node_error(n, "split [{}] sums to {} but axis {} has size {}", fmt::join(sizes, ","), sum, axis, dim);
    } else if (opset_ >= 18 && num_outputs_attr_ > 0) {
      if (num_outputs_attr_ != num_out)
        return node_error(n, "num_outputs is {} but the node has {} outputs", num_outputs_attr_, num_out);
      const int64_t chunk = (dim + num_out - 1) / num_out;
      int64_t left = dim;
      for (int64_t i = 0; i < num_out; ++i) {
        sizes.push_back(std::min(chunk, left));
        left -= sizes.back();
      }
    } else {
      if (num_out == 0 || dim % num_out != 0)
        return node_error(n, "axis {} of size {} cannot be split into {} equal parts", axis, dim, num_out);
      sizes.assign(num_out, dim / num_out);
    }
    const int64_t outer = product(x->dims(), 0, axis);
    const int64_t inner = product(x->dims(), axis + 1);
    const int64_t in_row = dim * inner;
    int64_t offset = 0;
    for (int64_t i = 0; i < num_out; ++i) {
      const int64_t row = sizes[i] * inner;
      if (want_output(ctx, i)) {
        std::vector<int64_t> dims = x->dims();
        dims[axis] = sizes[i];
        ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(i, x->dtype(), dims));
        for (int64_t o = 0; o < outer; ++o) copy_elements(*x, o * in_row + offset, *out, o * row, row);
      }
      offset += row;
    }
    return Status::ok();
  }

 private:
  int64_t opset_;
  int64_t axis_;
  bool has_split_attr_;
  std::vector<int64_t> split_attr_;
  int64_t num_outputs_attr_;
};

}  // namespace

void register_concat_ops(KernelRegistry& r) {
  r.add("", "Concat", 1, INT32_MAX, factory_of<ConcatKernel>());
  r.add("", "Split", 1, INT32_MAX, factory_of<SplitKernel>());
}

}  // namespace ortool::rt::cpu
