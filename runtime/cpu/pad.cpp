// Pad (constant/reflect/edge/wrap; pads as attribute before opset 11, as input since) and CenterCropPad.
#include <algorithm>

#include <fmt/ranges.h>

#include "runtime/cpu/shape_ops_util.h"
#include "runtime/cpu/tensor.h"

namespace ortool::rt::cpu {

using namespace tensor_util;  // NOLINT: helpers of this family (shape_ops_util.h)

namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

// Pads every axis by begin[d] / end[d] (negative values crop). Constant mode fills with `value`
// (element value_idx of `value`, or zero when `value` is null).
Status pad_tensor(KernelContext& ctx, const Tensor& x, const std::vector<int64_t>& begin,
                  const std::vector<int64_t>& end, PadMode mode, const Tensor* value, int64_t value_idx) {
  const ir::Node& n = ctx.node();
  const size_t r = x.rank();
  const std::vector<int64_t>& in = x.dims();
  std::vector<int64_t> dims(r);
  constexpr int64_t kMaxPad = int64_t{1} << 48;  // far past any allocatable size; keeps the sums exact
  for (size_t d = 0; d < r; ++d) {
    if (begin[d] < -kMaxPad || begin[d] > kMaxPad || end[d] < -kMaxPad || end[d] > kMaxPad)
      return node_error(n, "pads of axis {} ({}, {}) are out of range", d, begin[d], end[d]);
    dims[d] = in[d] + begin[d] + end[d];
    if (dims[d] < 0)
      return node_error(n, "pads crop axis {} of size {} below zero (begin {}, end {})", d, in[d], begin[d], end[d]);
    if (mode != PadMode::kConstant && in[d] == 0 && dims[d] > 0)
      return node_error(n, "cannot pad empty axis {} in a non-constant mode", d);
  }
  TRY(checked_dims(n, dims).status());
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), dims));
  if (out->numel() == 0) return Status::ok();
  const std::vector<int64_t> in_strides = strides_of(in);
  if (mode == PadMode::kConstant) {
    if (value) fill_elements(*out, *value, value_idx);
    // Copy the box of output coordinates that map inside the input.
    std::vector<int64_t> box(r);
    std::vector<std::vector<int64_t>> offsets(r);
    int64_t dst_base = 0;
    const std::vector<int64_t> out_strides = strides_of(dims);
    for (size_t d = 0; d < r; ++d) {
      const int64_t lo = std::max<int64_t>(0, begin[d]);
      const int64_t hi = std::min<int64_t>(dims[d], begin[d] + in[d]);
      box[d] = std::max<int64_t>(0, hi - lo);
      dst_base += lo * out_strides[d];
      offsets[d].resize(box[d]);
      for (int64_t k = 0; k < box[d]; ++k) offsets[d][k] = (lo + k - begin[d]) * in_strides[d];
    }
    map_copy(x, *out, box, offsets, dst_base, out_strides);
    return Status::ok();
  }
  // Negative pads crop first; the other modes then pad the cropped tensor (as ONNX's reference does:
  // a wrap or reflection sees only what is left).
  std::vector<std::vector<int64_t>> offsets(r);
  for (size_t d = 0; d < r; ++d) {
    const int64_t first = std::max<int64_t>(0, -begin[d]);
    const int64_t len = in[d] + std::min<int64_t>(0, begin[d]) + std::min<int64_t>(0, end[d]);
    if (len <= 0 && dims[d] > 0) return node_error(n, "cannot pad axis {} cropped to nothing in a non-constant mode", d);
    offsets[d].resize(dims[d]);
    for (int64_t o = 0; o < dims[d]; ++o) {
      int64_t i = o - std::max<int64_t>(0, begin[d]);
      if (mode == PadMode::kEdge) {
        i = std::clamp<int64_t>(i, 0, len - 1);
      } else if (mode == PadMode::kWrap) {
        i = ((i % len) + len) % len;
      } else if (len == 1) {
        i = 0;
      } else {  // reflect without repeating the edge, as numpy's 'reflect'
        const int64_t period = 2 * (len - 1);
        i = ((i % period) + period) % period;
        if (i >= len) i = period - i;
      }
      offsets[d][o] = (first + i) * in_strides[d];
    }
  }
  map_copy(x, *out, offsets);
  return Status::ok();
}

class PadKernel final : public CheckedKernel {
 public:
  explicit PadKernel(const KernelInit& init) : opset_(init.opset) {
    const std::string mode = init.node.attr_string("mode", "constant");
    if (mode == "constant") mode_ = PadMode::kConstant;
    else if (mode == "reflect") mode_ = PadMode::kReflect;
    else if (mode == "edge") mode_ = PadMode::kEdge;
    else if (mode == "wrap" && opset_ >= 19) mode_ = PadMode::kWrap;
    else status_ = node_error(init.node, "unknown pad mode '{}'", mode);
    if (opset_ < 11) {
      pads_attr_ = init.node.attr_ints(opset_ < 2 ? "paddings" : "pads");
      value_attr_ = init.node.attr_float("value", 0.0f);
    }
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "data"));
    const int64_t r = static_cast<int64_t>(x->rank());
    std::vector<int64_t> pads = pads_attr_;
    std::vector<int64_t> axes;
    const Tensor* value = nullptr;
    Tensor value_storage;
    if (opset_ >= 11) {
      ASSIGN_OR_RETURN(pads, int_input(ctx, 1, "pads"));
      if (const Tensor* v = ctx.input_tensor(2); v && mode_ == PadMode::kConstant) {
        if (v->dtype() != x->dtype())
          return node_error(n, "constant_value type {} differs from data type {}", dtype_name(v->dtype()),
                            dtype_name(x->dtype()));
        if (v->numel() != 1) return node_error(n, "constant_value must hold one element, got {}", v->numel());
        value = v;
      }
      if (opset_ >= 18 && ctx.input_tensor(3)) {
        ASSIGN_OR_RETURN(axes, int_input(ctx, 3, "axes"));
      }
    } else if (mode_ == PadMode::kConstant && value_attr_ != 0.0f && !x->is_string()) {
      value_storage = Tensor(x->dtype(), {1});
      set_from_double(value_storage, 0, value_attr_);
      value = &value_storage;
    }
    if (axes.empty() && !ctx.input_tensor(3)) {
      for (int64_t d = 0; d < r; ++d) axes.push_back(d);
    }
    const size_t na = axes.size();
    if (pads.size() != 2 * na)
      return node_error(n, "pads [{}] must have {} entries (2 per padded axis)", fmt::join(pads, ","), 2 * na);
    std::vector<int64_t> begin(r, 0), end(r, 0);
    std::vector<bool> seen(r, false);
    for (size_t i = 0; i < na; ++i) {
      ASSIGN_OR_RETURN(int64_t a, normalize_axis(n, axes[i], r, "axes entry"));
      if (seen[a]) return node_error(n, "axes [{}] repeat axis {}", fmt::join(axes, ","), axes[i]);
      seen[a] = true;
      begin[a] = pads[i];
      end[a] = pads[i + na];
    }
    return pad_tensor(ctx, *x, begin, end, mode_, value, 0);
  }

 private:
  int64_t opset_;
  PadMode mode_ = PadMode::kConstant;
  std::vector<int64_t> pads_attr_;
  float value_attr_ = 0;
};

// CenterCropPad-18: crops or zero-pads the given axes (default all) to `shape`, centered.
class CenterCropPadKernel final : public Kernel {
 public:
  explicit CenterCropPadKernel(const KernelInit& init)
      : has_axes_(init.node.has_attr("axes")), axes_(init.node.attr_ints("axes")) {}
  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* x, need_input(ctx, 0, "input_data"));
    ASSIGN_OR_RETURN(std::vector<int64_t> shape, int_input(ctx, 1, "shape"));
    const int64_t r = static_cast<int64_t>(x->rank());
    std::vector<int64_t> axes = axes_;
    if (!has_axes_)
      for (int64_t d = 0; d < r; ++d) axes.push_back(d);
    if (shape.size() != axes.size())
      return node_error(n, "shape [{}] must have one entry per axis ({})", fmt::join(shape, ","), axes.size());
    std::vector<int64_t> begin(r, 0), end(r, 0);
    std::vector<bool> seen(r, false);
    for (size_t i = 0; i < axes.size(); ++i) {
      ASSIGN_OR_RETURN(int64_t a, normalize_axis(n, axes[i], r, "axes entry"));
      if (seen[a]) return node_error(n, "axes [{}] repeat axis {}", fmt::join(axes, ","), axes[i]);
      seen[a] = true;
      const int64_t dim = x->dims()[a], want = shape[i];
      if (want < 0) return node_error(n, "shape [{}] has a negative dim", fmt::join(shape, ","));
      begin[a] = want >= dim ? (want - dim) / 2 : -((dim - want) / 2);
      end[a] = want - dim - begin[a];
    }
    return pad_tensor(ctx, *x, begin, end, PadMode::kConstant, nullptr, 0);
  }

 private:
  bool has_axes_;
  std::vector<int64_t> axes_;
};

}  // namespace

void register_pad_ops(KernelRegistry& r) {
  r.add("", "Pad", 1, INT32_MAX, checked_factory<PadKernel>());
  r.add("", "CenterCropPad", 18, INT32_MAX, factory_of<CenterCropPadKernel>());
}

}  // namespace ortool::rt::cpu
