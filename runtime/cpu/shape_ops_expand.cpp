// Expand (numpy broadcast to a shape) and Tile (repeat along each axis), any element type.
#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

Status expand_kernel(KernelContext& ctx) {
  const ir::Node& n = ctx.node();
  ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, int_input(ctx, 1, "shape"));
  const std::vector<int64_t>& in = x->dims();
  const size_t r = std::max(in.size(), shape.size());
  std::vector<int64_t> dims(r), in_aligned(r, 1);
  for (size_t i = 0; i < in.size(); ++i) in_aligned[r - in.size() + i] = in[i];
  for (size_t i = 0; i < r; ++i) {
    const int64_t a = in_aligned[i];
    const int64_t b = i + shape.size() >= r ? shape[i + shape.size() - r] : 1;
    if (b < 0) return node_error(n, "shape [{}] has a negative dim", fmt::join(shape, ","));
    if (a == b || b == 1) dims[i] = a;
    else if (a == 1) dims[i] = b;
    else
      return node_error(n, "input shape [{}] cannot be broadcast to [{}]", fmt::join(in, ","), fmt::join(shape, ","));
  }
  TRY(checked_dims(n, dims).status());
  // The output first: it is checked against the memory budget, and the offset tables below are no
  // larger than the sum of its dims, so they stay small once it exists (and are not built when empty).
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), dims));
  if (out->numel() == 0) return Status::ok();
  const std::vector<int64_t> in_strides = strides_of(in_aligned);
  std::vector<std::vector<int64_t>> offsets(r);
  for (size_t d = 0; d < r; ++d) {
    offsets[d].resize(dims[d]);
    for (int64_t k = 0; k < dims[d]; ++k) offsets[d][k] = in_aligned[d] == 1 ? 0 : k * in_strides[d];
  }
  map_copy(*x, *out, offsets);
  return Status::ok();
}

// Tile-6+: repeats [rank]; Tile-1: (input, tiles, axis) repeats along a single axis.
class TileKernel final : public Kernel {
 public:
  explicit TileKernel(const KernelInit& init) : opset_(init.opset) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
    const int64_t r = static_cast<int64_t>(x->rank());
    std::vector<int64_t> reps;
    if (opset_ < 6) {
      ASSIGN_OR_RETURN(int64_t tiles, scalar_int_input(ctx, 1, "tiles"));
      ASSIGN_OR_RETURN(int64_t axis_raw, scalar_int_input(ctx, 2, "axis"));
      ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, axis_raw, r));
      reps.assign(r, 1);
      reps[axis] = tiles;
    } else {
      ASSIGN_OR_RETURN(reps, int_input(ctx, 1, "repeats"));
    }
    if (static_cast<int64_t>(reps.size()) != r)
      return node_error(n, "repeats [{}] must have one entry per input axis ({})", fmt::join(reps, ","), r);
    // The output seen as [rep0, d0, rep1, d1, ...] reads the input at [k0, k1, ...].
    std::vector<int64_t> dims(r);
    for (int64_t d = 0; d < r; ++d) {
      if (reps[d] < 0) return node_error(n, "repeats [{}] has a negative entry", fmt::join(reps, ","));
      const int64_t dim = x->dims()[d];
      if (dim != 0 && reps[d] > INT64_MAX / dim) return node_error(n, "repeats [{}] overflow", fmt::join(reps, ","));
      dims[d] = dim * reps[d];
    }
    TRY(checked_dims(n, dims).status());
    // The output first (checked against the memory budget), then offset tables no larger than its dims.
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x->dtype(), dims));
    if (out->numel() == 0) return Status::ok();
    const std::vector<int64_t> in_strides = strides_of(x->dims());
    std::vector<std::vector<int64_t>> offsets;
    for (int64_t d = 0; d < r; ++d) {
      const int64_t dim = x->dims()[d];
      offsets.emplace_back(reps[d], 0);
      offsets.emplace_back(dim);
      for (int64_t k = 0; k < dim; ++k) offsets.back()[k] = k * in_strides[d];
    }
    map_copy(*x, *out, offsets);
    return Status::ok();
  }

 private:
  int64_t opset_;
};

}  // namespace

void register_expand_ops(KernelRegistry& r) {
  r.add("", "Expand", 8, INT32_MAX, function_kernel(expand_kernel));
  r.add("", "Tile", 1, INT32_MAX, factory_of<TileKernel>());
}

}  // namespace ortool::rt::cpu
