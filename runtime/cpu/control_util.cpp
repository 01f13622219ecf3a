// Helpers shared by the control family: scalar conditions, element copies, slicing and stacking along an axis.
#include <cstring>

#include "runtime/cpu/control.h"
#include "runtime/cpu/shape_ops_util.h"

namespace ortool::rt::cpu {

Result<const ir::Graph*> graph_attr(const ir::Node& node, std::string_view name) {
  const ir::Attribute* a = node.attr(name);
  if (!a || !a->g) return invalid("{}: graph attribute '{}' is missing", node.describe(), name);
  return static_cast<const ir::Graph*>(a->g.get());
}

Result<bool> bool_scalar(const ir::Node& node, const RValue* v, std::string_view what) {
  if (!v || !v->is_tensor()) return invalid("{}: {} must be a tensor", node.describe(), what);
  const Tensor& t = v->tensor;
  if (t.numel() != 1) return invalid("{}: {} must hold exactly one element, got {}", node.describe(), what, t.numel());
  if (t.dtype() == DType::Bool) return t.data<bool>()[0];
  if (dtype_is_integer(t.dtype()) || dtype_is_float(t.dtype())) return t.get_double(0) != 0;
  return invalid("{}: {} must be bool, got {}", node.describe(), what, dtype_name(t.dtype()));
}

Result<int64_t> int_scalar(const ir::Node& node, const Tensor& t, std::string_view what) {
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32)
    return invalid("{}: {} must be int32 or int64, got {}", node.describe(), what, dtype_name(t.dtype()));
  if (t.numel() != 1) return invalid("{}: {} must hold exactly one element, got {}", node.describe(), what, t.numel());
  return t.get_int64(0);
}

Tensor make_bool_scalar(bool v) {
  Tensor t(DType::Bool, {});
  t.mutable_data<bool>()[0] = v;
  return t;
}

void copy_elements(const Tensor& src, int64_t src_off, Tensor& dst, int64_t dst_off, int64_t count) {
  if (count <= 0) return;
  if (src.is_string()) {
    const auto& s = src.strings();
    auto& d = dst.mutable_strings();
    for (int64_t i = 0; i < count; ++i) d[static_cast<size_t>(dst_off + i)] = s[static_cast<size_t>(src_off + i)];
    return;
  }
  const size_t es = src.element_size();
  std::memcpy(static_cast<std::byte*>(dst.raw_mutable()) + static_cast<size_t>(dst_off) * es,
              static_cast<const std::byte*>(src.raw()) + static_cast<size_t>(src_off) * es,
              static_cast<size_t>(count) * es);
}

Tensor slice_along_axis(const Tensor& t, size_t axis, int64_t index) {
  const auto& dims = t.dims();
  std::vector<int64_t> out_dims;
  for (size_t d = 0; d < dims.size(); ++d)
    if (d != axis) out_dims.push_back(dims[d]);
  Tensor out(t.dtype(), out_dims);
  // An empty slice copies nothing; its other dims may multiply past int64 ([2^62, 5, 0, 2]).
  if (out.numel() == 0) return out;
  const int64_t outer = tensor_util::product(dims, 0, axis), inner = tensor_util::product(dims, axis + 1);
  const int64_t len = dims[axis];
  for (int64_t o = 0; o < outer; ++o) copy_elements(t, (o * len + index) * inner, out, o * inner, inner);
  return out;
}

void stack_into(const std::vector<Tensor>& parts, const std::vector<int64_t>& positions, size_t axis, Tensor& out) {
  if (parts.empty() || out.numel() == 0) return;  // nothing to copy (and dims that may overflow int64)
  const auto& pdims = parts[0].dims();
  const int64_t outer = tensor_util::product(pdims, 0, axis), inner = tensor_util::product(pdims, axis);
  const int64_t len = out.dims()[axis];
  for (size_t i = 0; i < parts.size(); ++i)
    for (int64_t o = 0; o < outer; ++o)
      copy_elements(parts[i], o * inner, out, (o * len + positions[i]) * inner, inner);
}

std::pair<DType, std::vector<int64_t>> empty_scan_output(const ir::Value* body_output, size_t axis, int64_t count) {
  DType dt = DType::Float;
  std::vector<int64_t> dims;
  if (body_output && body_output->type.is_tensor()) {
    if (body_output->type.elem != DType::Undefined) dt = body_output->type.elem;
    if (body_output->type.shape)
      for (const Dim& d : *body_output->type.shape) dims.push_back(d.is_known() ? d.value : 0);
  }
  dims.insert(dims.begin() + static_cast<std::ptrdiff_t>(std::min(axis, dims.size())), count);
  return {dt, dims};
}

Status check_same_shape(const ir::Node& node, const std::vector<Tensor>& parts, std::string_view what) {
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].dtype() != parts[0].dtype() || parts[i].dims() != parts[0].dims())
      return invalid("{}: {} changes from {}{} in iteration 0 to {}{} in iteration {}", node.describe(), what,
                     dtype_name(parts[0].dtype()), shape_to_string(shape_from_dims(parts[0].dims())),
                     dtype_name(parts[i].dtype()), shape_to_string(shape_from_dims(parts[i].dims())), i);
  }
  return Status::ok();
}

}  // namespace ortool::rt::cpu
