// Slice: starts/ends/axes as attributes (Slice-1) or inputs with steps (Slice-10+), clamped per the spec.
#include <algorithm>

#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

class SliceKernel final : public Kernel {
 public:
  explicit SliceKernel(const KernelInit& init) : opset_(init.opset) {
    if (opset_ < 10) {
      starts_ = init.node.attr_ints("starts");
      ends_ = init.node.attr_ints("ends");
      has_axes_ = init.node.has_attr("axes");
      axes_ = init.node.attr_ints("axes");
    }
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    std::vector<int64_t> starts = starts_, ends = ends_, axes = axes_, steps;
    bool has_axes = has_axes_;
    if (opset_ >= 10) {
      ASSIGN_OR_RETURN(starts, int_input(ctx, 1, "starts"));
      ASSIGN_OR_RETURN(ends, int_input(ctx, 2, "ends"));
      if (ctx.input_tensor(3)) {
        ASSIGN_OR_RETURN(axes, int_input(ctx, 3, "axes"));
        has_axes = true;
      }
      if (ctx.input_tensor(4)) {
        ASSIGN_OR_RETURN(steps, int_input(ctx, 4, "steps"));
      }
    }
    const int64_t r = static_cast<int64_t>(x->rank());
    if (starts.size() != ends.size())
      return node_error(n, "starts has {} entries but ends has {}", starts.size(), ends.size());
    if (!has_axes) {
      axes.resize(starts.size());
      for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(i);
    }
    if (axes.size() != starts.size())
      return node_error(n, "axes has {} entries but starts has {}", axes.size(), starts.size());
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (steps.size() != starts.size())
      return node_error(n, "steps has {} entries but starts has {}", steps.size(), starts.size());

    const std::vector<int64_t>& in = x->dims();
    std::vector<int64_t> first(r, 0), step(r, 1), dims = in;
    std::vector<bool> seen(r, false);
    for (size_t i = 0; i < axes.size(); ++i) {
      ASSIGN_OR_RETURN(int64_t a, normalize_axis(n, axes[i], r, "axes entry"));
      if (seen[a]) return node_error(n, "axes [{}] repeat axis {}", fmt::join(axes, ","), axes[i]);
      seen[a] = true;
      const int64_t dim = in[a];
      const int64_t s = std::max(steps[i], -INT64_MAX);  // -INT64_MIN would overflow; same slice
      if (s == 0) return node_error(n, "steps [{}] contain 0", fmt::join(steps, ","));
      int64_t b = starts[i], e = ends[i];
      if (b < 0) b += dim;
      if (e < 0) e += dim;
      int64_t count;
      if (s > 0) {
        b = std::clamp<int64_t>(b, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        count = e > b ? (e - b - 1) / s + 1 : 0;
      } else {
        b = std::clamp<int64_t>(b, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        count = b > e ? (b - e - 1) / (-s) + 1 : 0;
      }
      first[a] = b;
      step[a] = s;
      dims[a] = count;
    }
    // The output first: its size is checked there, and an empty one ([0, 2^40]) needs no per-axis tables.
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), dims));
    if (out->numel() == 0) return Status::ok();
    const std::vector<int64_t> strides = strides_of(in);
    std::vector<std::vector<int64_t>> offsets(r);
    for (int64_t d = 0; d < r; ++d) {
      offsets[d].resize(dims[d]);
      for (int64_t k = 0; k < dims[d]; ++k) offsets[d][k] = (first[d] + k * step[d]) * strides[d];
    }
    map_copy(*x, *out, offsets);
    return Status::ok();
  }

 private:
  int64_t opset_;
  std::vector<int64_t> starts_, ends_, axes_;
  bool has_axes_ = false;
};

}  // namespace

void register_slice_ops(KernelRegistry& r) { r.add("", "Slice", 1, INT32_MAX, factory_of<SliceKernel>()); }

}  // namespace ortool::rt::cpu
