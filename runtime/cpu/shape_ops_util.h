// Helpers of the tensor and misc kernels: node-named errors, axes, shape-like inputs, typed element copies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "lib/half.h"
#include "lib/tensor.h"
#include "runtime/cpu/dispatch.h"
#include "runtime/kernel.h"

namespace ortool::rt::cpu::tensor_util {

// invalid("<node>: <message>").
template <typename... Args>
Status node_error(const ir::Node& n, fmt::format_string<Args...> f, Args&&... args) {
  return invalid("{}: {}", n.describe(), fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status node_unsupported(const ir::Node& n, fmt::format_string<Args...> f, Args&&... args) {
  return unsupported("{}: {}", n.describe(), fmt::format(f, std::forward<Args>(args)...));
}

// A kernel whose constructor may find a bad attribute: it sets `status_`, and make_checked() reports it
// at session creation instead of constructing a broken kernel.
class CheckedKernel : public Kernel {
 public:
  const Status& init_status() const { return status_; }

 protected:
  Status status_;
};
template <typename K>
KernelFactory checked_factory() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<K>(init);
    if (!k->init_status().is_ok()) return k->init_status();
    return std::unique_ptr<Kernel>(std::move(k));
  };
}

// `axis` in [-rank, rank) made non-negative; the error names the node and `what`.
Result<int64_t> normalize_axis(const ir::Node& n, int64_t axis, int64_t rank, std::string_view what = "axis");

// Input i as a tensor; an error naming the node when it is absent or not a tensor.
Result<const Tensor*> need_input(const KernelContext& ctx, size_t i, std::string_view what);
// Integer input (int32/int64, scalar or 1-D) as int64 values; `what` names it in errors.
Result<std::vector<int64_t>> int_input(const KernelContext& ctx, size_t i, std::string_view what);
// Scalar (or one-element) input read as double / int64.
Result<double> scalar_double_input(const KernelContext& ctx, size_t i, std::string_view what);
Result<int64_t> scalar_int_input(const KernelContext& ctx, size_t i, std::string_view what);

// True when output i exists on the node and is requested.
inline bool want_output(const KernelContext& ctx, size_t i) { return i < ctx.num_outputs() && ctx.output_wanted(i); }

// Checked element count of dims computed from model data; the error names the node.
Result<int64_t> checked_dims(const ir::Node& n, const std::vector<int64_t>& dims);

// Row-major element strides. An empty tensor ([0, 2^40, 2^40] is one: its element count is 0 however
// large its other dims) addresses nothing, and its strides are all 0 rather than an int64 overflow.
std::vector<int64_t> strides_of(const std::vector<int64_t>& dims);
// Product of dims[begin, end): 0 when one of them is 0, INT64_MAX when it would overflow int64.
int64_t product(const std::vector<int64_t>& dims, size_t begin = 0, size_t end = SIZE_MAX);

template <typename T>
const T* elems(const Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>) return t.strings().data();
  else return static_cast<const T*>(t.raw());
}
template <typename T>
T* mutable_elems(Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>) return t.mutable_strings().data();
  else return static_cast<T*>(t.raw_mutable());
}

// fn(Tag<T>) with T = std::string for strings, otherwise an unsigned type of the element's size.
template <typename Fn>
bool dispatch_copy(DType t, Fn&& fn) {
  if (t == DType::String) {
    fn(Tag<std::string>{});
    return true;
  }
  return dispatch_by_size(dtype_size(t), std::forward<Fn>(fn));
}

// dst[dst_off .. +n) = src[src_off .. +n); same dtype.
void copy_elements(const Tensor& src, int64_t src_off, Tensor& dst, int64_t dst_off, int64_t n);
// Every element of dst = src[src_idx]; same dtype.
void fill_elements(Tensor& dst, const Tensor& src, int64_t src_idx);
// dst[i] = v converted to dst's numeric type (bool: v != 0).
void set_from_double(Tensor& dst, int64_t i, double v);

// The workhorse of data movement: for every coordinate c of `dims`,
//   dst[dst_base + sum_d c_d * dst_strides[d]] = src[sum_d src_offsets[d][c_d]]
// (src_offsets[d] has dims[d] entries). Same dtype on both sides.
void map_copy(const Tensor& src, Tensor& dst, const std::vector<int64_t>& dims,
              const std::vector<std::vector<int64_t>>& src_offsets, int64_t dst_base,
              const std::vector<int64_t>& dst_strides);
// Same, dst contiguous with dims given by the sizes of src_offsets.
void map_copy(const Tensor& src, Tensor& dst, const std::vector<std::vector<int64_t>>& src_offsets);

// Numeric element as float/double for comparisons and arithmetic on any numeric storage type.
template <typename T>
inline auto to_arith(T v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) return static_cast<float>(v);
  else return v;
}
template <typename T, typename V>
inline T from_arith(V v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) return T(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, bool>) return v != V(0);
  else return static_cast<T>(v);
}

}  // namespace ortool::rt::cpu::tensor_util
