// Metadata-only shape kernels: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze (outputs share the input buffer).
#include <algorithm>

#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

// Shape-1/13: the dims as int64; Shape-15 adds start/end, clamped to [0, rank].
class ShapeKernel final : public Kernel {
 public:
  explicit ShapeKernel(const KernelInit& init) {
    if (init.opset >= 15) {
      start_ = init.node.attr_int("start", 0);
      if (init.node.has_attr("end")) end_ = init.node.attr_int("end", 0);
    }
  }
  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    const int64_t r = static_cast<int64_t>(x->rank());
    auto clamp = [r](int64_t v) { return std::clamp(v < 0 ? v + r : v, int64_t{0}, r); };
    int64_t b = clamp(start_), e = end_ ? clamp(*end_) : r;
    int64_t n = std::max<int64_t>(0, e - b);
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::Int64, {n}));
    for (int64_t i = 0; i < n; ++i) out->mutable_data<int64_t>()[i] = x->dims()[b + i];
    return Status::ok();
  }

 private:
  int64_t start_ = 0;
  std::optional<int64_t> end_;
};

Status size_kernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::Int64, {}));
  *out->mutable_data<int64_t>() = x->numel();
  return Status::ok();
}

// Reshape-1 and -5 take the shape as an attribute / input; 0 copies the input dim (unless allowzero,
// Reshape-14), -1 is inferred.
class ReshapeKernel final : public Kernel {
 public:
  explicit ReshapeKernel(const KernelInit& init) : opset_(init.opset) {
    if (opset_ < 5) shape_attr_ = init.node.attr_ints("shape");
    if (opset_ >= 14) allowzero_ = init.node.attr_int("allowzero", 0) != 0;
  }
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    std::vector<int64_t> shape;
    if (opset_ < 5) {
      shape = shape_attr_;
    } else {
      ASSIGN_OR_RETURN(shape, int_input(ctx, 1, "shape"));
    }
    std::vector<int64_t> dims(shape.size());
    int infer = -1;
    bool has_zero = false;
    for (size_t i = 0; i < shape.size(); ++i) {
      int64_t s = shape[i];
      if (s == -1) {
        if (infer >= 0) return node_error(n, "shape [{}] has more than one -1", fmt::join(shape, ","));
        infer = static_cast<int>(i);
        dims[i] = 1;
      } else if (s == 0 && !allowzero_) {
        if (i >= x->rank())
          return node_error(n, "shape [{}] copies dim {} (0) but the input has rank {}", fmt::join(shape, ","), i,
                            x->rank());
        dims[i] = x->dims()[i];
      } else if (s < 0) {
        return node_error(n, "shape [{}] has invalid dim {}", fmt::join(shape, ","), s);
      } else {
        if (s == 0) has_zero = true;
        dims[i] = s;
      }
    }
    if (allowzero_ && has_zero && infer >= 0)
      return node_error(n, "shape [{}] has both 0 and -1 with allowzero=1", fmt::join(shape, ","));
    auto known = checked_numel(dims);
    if (!known.is_ok()) return node_error(n, "shape [{}]: {}", fmt::join(shape, ","), known.status().message());
    if (infer >= 0) {
      if (*known == 0 || x->numel() % *known != 0)
        return node_error(n, "cannot reshape input of shape [{}] to [{}]", fmt::join(x->dims(), ","),
                          fmt::join(shape, ","));
      dims[infer] = x->numel() / *known;
    } else if (*known != x->numel()) {
      return node_error(n, "cannot reshape input of shape [{}] ({} elements) to [{}]", fmt::join(x->dims(), ","),
                        x->numel(), fmt::join(dims, ","));
    }
    return ctx.set_output(0, RValue(x->reshaped(std::move(dims))));
  }

 private:
  int64_t opset_;
  std::vector<int64_t> shape_attr_;
  bool allowzero_ = false;
};

class FlattenKernel final : public Kernel {
 public:
  explicit FlattenKernel(const KernelInit& init) : axis_(init.node.attr_int("axis", 1)) {}
  Status run(KernelContext& ctx) override {
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input"));
    const int64_t r = static_cast<int64_t>(x->rank());
    if (axis_ < -r || axis_ > r)
      return node_error(ctx.node(), "axis {} is out of range for rank {} (expected [{}, {}])", axis_, r, -r, r);
    size_t a = static_cast<size_t>(axis_ < 0 ? axis_ + r : axis_);
    return ctx.set_output(0, RValue(x->reshaped({product(x->dims(), 0, a), product(x->dims(), a)})));
  }

 private:
  int64_t axis_;
};

// Squeeze/Unsqueeze: axes as an attribute before opset 13, as an input since.
class SqueezeKernel final : public Kernel {
 public:
  SqueezeKernel(const KernelInit& init, bool unsqueeze) : unsqueeze_(unsqueeze), opset_(init.opset) {
    if (opset_ < 13) {
      has_axes_attr_ = init.node.has_attr("axes");
      axes_attr_ = init.node.attr_ints("axes");
    }
  }
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    std::vector<int64_t> axes = axes_attr_;
    bool have_axes = has_axes_attr_;
    if (opset_ >= 13 && ctx.input_tensor(1)) {
      ASSIGN_OR_RETURN(axes, int_input(ctx, 1, "axes"));
      have_axes = true;
    }
    const std::vector<int64_t>& in = x->dims();
    const int64_t r = static_cast<int64_t>(in.size());
    if (unsqueeze_) {
      if (!have_axes) return node_error(n, "axes are required");
      const int64_t out_r = r + static_cast<int64_t>(axes.size());
      std::vector<bool> inserted(static_cast<size_t>(out_r), false);
      for (int64_t a : axes) {
        ASSIGN_OR_RETURN(int64_t na, normalize_axis(n, a, out_r, "axes entry"));
        if (inserted[na]) return node_error(n, "axes [{}] repeat axis {}", fmt::join(axes, ","), a);
        inserted[na] = true;
      }
      std::vector<int64_t> dims;
      size_t k = 0;
      for (int64_t i = 0; i < out_r; ++i) dims.push_back(inserted[i] ? 1 : in[k++]);
      return ctx.set_output(0, RValue(x->reshaped(std::move(dims))));
    }
    std::vector<bool> drop(in.size(), false);
    if (!have_axes || axes.empty()) {
      for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
    } else {
      for (int64_t a : axes) {
        ASSIGN_OR_RETURN(int64_t na, normalize_axis(n, a, r, "axes entry"));
        if (in[na] != 1)
          return node_error(n, "cannot squeeze axis {} of size {} (input shape [{}])", a, in[na], fmt::join(in, ","));
        drop[na] = true;
      }
    }
    std::vector<int64_t> dims;
    for (size_t i = 0; i < in.size(); ++i)
      if (!drop[i]) dims.push_back(in[i]);
    return ctx.set_output(0, RValue(x->reshaped(std::move(dims))));
  }

 private:
  bool unsqueeze_;
  int64_t opset_;
  bool has_axes_attr_ = false;
  std::vector<int64_t> axes_attr_;
};

template <bool kUnsqueeze>
KernelFactory squeeze_factory() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(new SqueezeKernel(init, kUnsqueeze));
  };
}

}  // namespace

void register_shape_ops(KernelRegistry& r) {
  r.add("", "Shape", 1, INT32_MAX, factory_of<ShapeKernel>());
  r.add("", "Size", 1, INT32_MAX, function_kernel(size_kernel));
  r.add("", "Reshape", 1, INT32_MAX, factory_of<ReshapeKernel>());
  r.add("", "Flatten", 1, INT32_MAX, factory_of<FlattenKernel>());
  r.add("", "Squeeze", 1, INT32_MAX, squeeze_factory<false>());
  r.add("", "Unsqueeze", 1, INT32_MAX, squeeze_factory<true>());
}

}  // namespace ortool::rt::cpu
