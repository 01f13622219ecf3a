// Helpers of the tensor and misc kernels: axes, shape-like inputs, typed element copies and map_copy.
#include "runtime/cpu/shape_ops_util.h"

#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

namespace ortool::rt::cpu::tensor_util {

Result<int64_t> normalize_axis(const ir::Node& n, int64_t axis, int64_t rank, std::string_view what) {
  if (axis < -rank || axis >= rank)
    return node_error(n, "{} {} is out of range for rank {} (expected [{}, {}])", what, axis, rank, -rank, rank - 1);
  return axis < 0 ? axis + rank : axis;
}

Result<const Tensor*> need_input(const KernelContext& ctx, size_t i, std::string_view what) {
  const Tensor* t = ctx.input_tensor(i);
  if (!t) return node_error(ctx.node(), "input {} ('{}') is missing or not a tensor", i, what);
  return t;
}

Result<std::vector<int64_t>> int_input(const KernelContext& ctx, size_t i, std::string_view what) {
  ASSIGN_OR_RETURN(const Tensor* t, need_input(ctx, i, what));
  if (t->dtype() != DType::Int64 && t->dtype() != DType::Int32)
    return node_error(ctx.node(), "input '{}' must be int32 or int64, got {}", what, dtype_name(t->dtype()));
  if (t->rank() > 1) return node_error(ctx.node(), "input '{}' must be 1-D, got rank {}", what, t->rank());
  return t->to_int64_vector();
}

Result<double> scalar_double_input(const KernelContext& ctx, size_t i, std::string_view what) {
  ASSIGN_OR_RETURN(const Tensor* t, need_input(ctx, i, what));
  if (t->numel() != 1)
    return node_error(ctx.node(), "input '{}' must hold exactly one element, got {}", what, t->numel());
  if (t->is_string() || t->dtype() == DType::Complex64 || t->dtype() == DType::Complex128)
    return node_error(ctx.node(), "input '{}' must be numeric, got {}", what, dtype_name(t->dtype()));
  return t->get_double(0);
}

Result<int64_t> scalar_int_input(const KernelContext& ctx, size_t i, std::string_view what) {
  ASSIGN_OR_RETURN(const Tensor* t, need_input(ctx, i, what));
  if (t->numel() != 1)
    return node_error(ctx.node(), "input '{}' must hold exactly one element, got {}", what, t->numel());
  if (t->is_string() || t->dtype() == DType::Complex64 || t->dtype() == DType::Complex128)
    return node_error(ctx.node(), "input '{}' must be numeric, got {}", what, dtype_name(t->dtype()));
  if (dtype_is_float(t->dtype())) {
    double v = t->get_double(0);
    if (!std::isfinite(v) || std::fabs(v) > 9.0e18) return node_error(ctx.node(), "input '{}' value {} is out of range", what, v);
    return static_cast<int64_t>(v);
  }
  return t->get_int64(0);
}

Result<int64_t> checked_dims(const ir::Node& n, const std::vector<int64_t>& dims) {
  auto r = checked_numel(dims);
  if (!r.is_ok()) return node_error(n, "bad output shape [{}]: {}", fmt::join(dims, ","), r.status().message());
  return r.value();
}

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) return std::vector<int64_t>(dims.size(), 0);
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];  // below the element count: no overflow
  return s;
}

int64_t product(const std::vector<int64_t>& dims, size_t begin, size_t end) {
  end = std::min(end, dims.size());
  for (size_t i = begin; i < end; ++i)
    if (dims[i] == 0) return 0;
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i)
    if (__builtin_mul_overflow(p, dims[i], &p)) return INT64_MAX;
  return p;
}

void copy_elements(const Tensor& src, int64_t src_off, Tensor& dst, int64_t dst_off, int64_t n) {
  if (n <= 0) return;
  if (src.is_string()) {
    std::copy_n(src.strings().begin() + src_off, n, dst.mutable_strings().begin() + dst_off);
    return;
  }
  size_t es = src.element_size();
  std::memcpy(static_cast<std::byte*>(dst.raw_mutable()) + dst_off * es,
              static_cast<const std::byte*>(src.raw()) + src_off * es, static_cast<size_t>(n) * es);
}

void fill_elements(Tensor& dst, const Tensor& src, int64_t src_idx) {
  dispatch_copy(dst.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = elems<T>(src)[src_idx];
    std::fill_n(mutable_elems<T>(dst), dst.numel(), v);
  });
}

void set_from_double(Tensor& dst, int64_t i, double v) {
  dispatch_numeric(dst.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) dst.mutable_data<bool>()[i] = v != 0;
    else if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>)
      dst.mutable_data<T>()[i] = T(static_cast<float>(v));
    else dst.mutable_data<T>()[i] = static_cast<T>(v);
  });
}

void map_copy(const Tensor& src, Tensor& dst, const std::vector<int64_t>& dims,
              const std::vector<std::vector<int64_t>>& src_offsets, int64_t dst_base,
              const std::vector<int64_t>& dst_strides) {
  for (int64_t d : dims)
    if (d == 0) return;
  const size_t rank = dims.size();
  dispatch_copy(src.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* s = elems<T>(src);
    T* o = mutable_elems<T>(dst);
    if (rank == 0) {
      o[dst_base] = s[0];
      return;
    }
    const std::vector<int64_t>& inner = src_offsets[rank - 1];
    const int64_t n_inner = dims[rank - 1];
    const int64_t d_inner = dst_strides[rank - 1];
    bool contiguous = d_inner == 1;
    for (int64_t i = 1; contiguous && i < n_inner; ++i) contiguous = inner[i] == inner[0] + i;
    std::vector<int64_t> idx(rank, 0);
    for (;;) {
      int64_t so = 0, dof = dst_base;
      for (size_t d = 0; d + 1 < rank; ++d) {
        so += src_offsets[d][idx[d]];
        dof += idx[d] * dst_strides[d];
      }
      if (contiguous) {
        std::copy_n(s + so + inner[0], n_inner, o + dof);
      } else {
        for (int64_t i = 0; i < n_inner; ++i) o[dof + i * d_inner] = s[so + inner[i]];
      }
      // Advance the odometer over the outer dims 0..rank-2.
      size_t d = rank - 1;
      for (;;) {
        if (d == 0) return;
        --d;
        if (++idx[d] < dims[d]) break;
        idx[d] = 0;
      }
    }
  });
}

void map_copy(const Tensor& src, Tensor& dst, const std::vector<std::vector<int64_t>>& src_offsets) {
  std::vector<int64_t> dims;
  for (const auto& v : src_offsets) dims.push_back(static_cast<int64_t>(v.size()));
  map_copy(src, dst, dims, src_offsets, 0, strides_of(dims));
}

}  // namespace ortool::rt::cpu::tensor_util
