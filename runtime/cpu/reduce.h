// Reduce-family kernels of the cpu provider: factories, the reduction plan, element conversions.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "lib/half.h"
#include "runtime/kernel.h"
#include "runtime/thread_pool.h"

namespace ortool::rt::cpu {

// --- helpers shared by the reduce and linalg kernels (namespace kit keeps them apart from other families') ---
namespace kit {

template <typename T>
inline constexpr bool is_half_v = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;
template <typename T>
inline constexpr bool is_floating_v = is_half_v<T> || std::is_floating_point_v<T>;

template <typename T>
inline double to_double(T v) {
  if constexpr (is_half_v<T>) return static_cast<double>(static_cast<float>(v));
  else return static_cast<double>(v);
}

// double -> T: halves round to nearest even, integers truncate toward zero and saturate (NaN -> 0).
template <typename T>
inline T from_double(double v) {
  if constexpr (is_half_v<T>) {
    return T(static_cast<float>(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else {
    if (std::isnan(v)) return T(0);
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

// Runs fn(begin, end) over [0, n), on the pool when there is one.
inline void parallel_ranges(KernelContext& ctx, size_t n, const std::function<void(size_t, size_t)>& fn,
                            size_t min_chunk = 1) {
  if (n == 0) return;
  if (ThreadPool* pool = ctx.threads()) pool->parallel_for(n, fn, min_chunk);
  else fn(0, n);
}

// Axis in [-rank, rank) made non-negative; false when out of range.
inline bool normalize_axis(int64_t& axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return false;
  if (axis < 0) axis += rank;
  return true;
}

}  // namespace kit

// --- reduction plan: which input elements feed each output element ---

// For a tensor of `dims` reduced over the axes marked in `reduced`: output element k reads the
// input elements at base[k] + offsets[j] for every j (offsets empty when a reduced dim is 0).
struct ReducePlan {
  std::vector<int64_t> base;     // one per output element, in row-major order of the kept dims
  std::vector<int64_t> offsets;  // one per element of the reduced sub-box
  std::vector<int64_t> kept_dims;  // dims of the output without keepdims
  std::vector<int64_t> keep_dims;  // dims of the output with keepdims (reduced dims set to 1)
  // The input has no elements: base and offsets are left empty (an output element, if any, is the
  // reduction of nothing) rather than tables as long as its other, possibly huge, dims.
  bool empty_input = false;
};
ReducePlan make_reduce_plan(const std::vector<int64_t>& dims, const std::vector<bool>& reduced);

// --- kernel factories (registered in reduce_kernels.cpp) ---

enum class ReduceOp { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

KernelFactory reduce_kernel(ReduceOp op);
KernelFactory arg_reduce_kernel(bool is_max);
KernelFactory topk_kernel();
KernelFactory cumsum_kernel();
KernelFactory batch_norm_kernel();
KernelFactory instance_norm_kernel();
KernelFactory layer_norm_kernel();
KernelFactory group_norm_kernel();
KernelFactory rms_norm_kernel();  // norm_rms.cpp
KernelFactory lp_norm_kernel();
KernelFactory mvn_kernel();
KernelFactory lrn_kernel();

}  // namespace ortool::rt::cpu
