// Shared pieces of the conv kernel family: window attributes and geometry, im2col/col2im, float helpers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "lib/half.h"
#include "lib/tensor.h"
#include "runtime/kernel.h"
#include "runtime/registry.h"
#include "runtime/thread_pool.h"

// Everything of the family lives in its own namespace so helper names cannot clash with other families'.
namespace ortool::rt::cpu::conv_family {

// Registration functions of the files of this family (called from conv_kernels.cpp).
void register_conv(KernelRegistry& r);
void register_conv_transpose(KernelRegistry& r);
void register_conv_integer(KernelRegistry& r);
void register_pool(KernelRegistry& r);
void register_pool_global(KernelRegistry& r);
void register_pool_unpool(KernelRegistry& r);
void register_roi_align(KernelRegistry& r);
void register_roi_max_pool(KernelRegistry& r);
void register_resize(KernelRegistry& r);
void register_space_depth(KernelRegistry& r);
void register_grid_sample(KernelRegistry& r);
void register_col2im(KernelRegistry& r);
void register_affine_grid(KernelRegistry& r);  // affine_grid.cpp
void register_deform_conv(KernelRegistry& r);  // deform_conv.cpp

// A factory for kernel classes whose constructor records a Status (init_status()); a bad attribute
// fails session creation instead of the first run.
template <typename K>
KernelFactory checked_factory() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<K>(init);
    if (!k->init_status().is_ok()) return k->init_status();
    return std::unique_ptr<Kernel>(std::move(k));
  };
}

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

// Attributes shared by Conv, ConvTranspose, the pools and MaxUnpool, as written in the node.
struct WindowAttrs {
  std::vector<int64_t> kernel_shape;  // empty: inferred from the weight (Conv) or required (pools)
  std::vector<int64_t> strides;       // empty: all 1
  std::vector<int64_t> dilations;     // empty: all 1
  std::vector<int64_t> pads;          // empty: all 0; else begins then ends
  AutoPad auto_pad = AutoPad::NotSet;
  bool ceil_mode = false;
};
// Reads kernel_shape, strides, dilations, pads, auto_pad, ceil_mode and checks their values
// (positive strides/dilations/kernel, non-negative pads, a known auto_pad).
Status parse_window_attrs(const ir::Node& node, WindowAttrs& out);

// The resolved sliding window for one input: per spatial dim.
struct Window {
  std::vector<int64_t> in, kernel, stride, dilation, pad_begin, pad_end, out;
  size_t rank() const { return in.size(); }
  int64_t in_size() const;      // product of in
  int64_t out_size() const;     // product of out
  int64_t kernel_size() const;  // product of kernel
};
enum class WindowKind { Conv, Pool };
// Resolves the window of a Conv (floor output, SAME pads from the dilated kernel) or a pool
// (ceil_mode honoured, last window starting inside input or left pad) over `in_spatial`.
// Errors name the node; `kernel` must already be checked positive.
Result<Window> resolve_window(const ir::Node& node, const WindowAttrs& a, std::span<const int64_t> in_spatial,
                              std::span<const int64_t> kernel, WindowKind kind);
// Resolves the window of a ConvTranspose as the equivalent Conv sees it: `in` is the ConvTranspose's
// output image, `out` its input (`in_spatial`). Pads come from pads, auto_pad SAME (total padding
// = full size - input * stride) or output_shape (spatial dims, empty: none); output_padding (empty:
// zeros) adds to the full size. Errors name the node (a negative output size).
Result<Window> resolve_transpose_window(const ir::Node& node, const WindowAttrs& a,
                                        std::span<const int64_t> output_padding,
                                        std::span<const int64_t> output_shape, std::span<const int64_t> in_spatial,
                                        std::span<const int64_t> kernel);
// Checks that strides/dilations/pads/kernel_shape have the spatial rank `rank`.
Status check_window_ranks(const ir::Node& node, const WindowAttrs& a, size_t rank);

// im2col for one group: x holds `channels` planes of w.in_size() values; col gets
// channels * kernel_size rows of out_size columns (row-major); out-of-input taps read `pad`.
template <typename T>
void im2col(const T* x, int64_t channels, const Window& w, T pad, T* col);
// col2im for ConvTranspose: the transpose of im2col with w.in as the (large) output image and
// w.out as the (small) input image; adds col into y (channels planes of w.in_size()).
template <typename T>
void col2im_add(const T* col, int64_t channels, const Window& w, T* y);

// C[m x n] = op(A) * B (+ C when accumulate), row-major, with op(A) = A [m x k] or A^T (A stored
// [k x m]); B is [k x n]. Column blocks run in parallel on `pool` (may be null).
template <typename T>
void gemm_rowmajor(bool trans_a, const T* a, const T* b, T* c, int64_t m, int64_t k, int64_t n, ThreadPool* pool);

// Accumulation type of a float element type: double for double, float otherwise.
template <typename T>
using AccOf = std::conditional_t<std::is_same_v<T, double>, double, float>;

// Values of a float tensor as its accumulation type; no copy for float and double.
template <typename T>
class AccView {
 public:
  using A = AccOf<T>;
  explicit AccView(const Tensor& t) {
    if constexpr (std::is_same_v<T, A>) {
      p_ = t.data<A>();
    } else {
      buf_.resize(static_cast<size_t>(t.numel()));
      const T* s = t.data<T>();
      for (size_t i = 0; i < buf_.size(); ++i) buf_[i] = static_cast<A>(static_cast<float>(s[i]));
      p_ = buf_.data();
    }
  }
  const A* data() const { return p_; }

 private:
  const A* p_ = nullptr;
  std::vector<A> buf_;
};

// Stores an accumulation-type value as element type T.
template <typename T, typename A>
inline T from_acc(A v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>)
    return T(static_cast<float>(v));
  else
    return static_cast<T>(v);
}

// An element as the compute type V (float or double); float16, bfloat16 and 8-bit integers go through float.
template <typename V, typename T>
inline V load_as(T v) {
  if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>)
    return static_cast<V>(v);
  else
    return static_cast<V>(static_cast<float>(v));
}

// "[1, 2, 3]" for messages.
std::string dims_string(std::span<const int64_t> dims);

}  // namespace ortool::rt::cpu::conv_family
