// Shared pieces of the xnnpack provider: one-time init, thread pools, fused clamps and the NCHW/NHWC transposes.
#include "runtime/xnnpack/xnn_common.h"

#include <algorithm>
#include <cmath>
#include <mutex>

namespace ortool::rt::xnn_ep {

Status initialize() {
  // xnn_initialize itself is not safe to race; its answer (hardware support) never changes.
  static const xnn_status status = xnn_initialize(nullptr);
  if (status == xnn_status_success) return Status::ok();
  if (status == xnn_status_unsupported_hardware)
    return unsupported("XNNPACK does not support this processor (xnn_initialize: unsupported hardware)");
  return internal_error("xnn_initialize failed (status {})", static_cast<int>(status));
}

Status check(xnn_status s, const std::string& what, const char* call) {
  switch (s) {
    case xnn_status_success: return Status::ok();
    case xnn_status_out_of_memory: return resource_limit("{}: out of memory in XNNPACK ({})", what, call);
    case xnn_status_invalid_parameter: return unsupported("{}: XNNPACK {} rejected the parameters", what, call);
    case xnn_status_unsupported_parameter: return unsupported("{}: XNNPACK {}: unsupported parameters", what, call);
    default: return internal_error("{}: XNNPACK {} failed (status {})", what, call, static_cast<int>(s));
  }
}

ThreadPoolPtr make_thread_pool(int threads) {
  if (threads <= 1) return nullptr;
  return ThreadPoolPtr(pthreadpool_create(static_cast<size_t>(threads)), pthreadpool_destroy);
}

Clamp clamp_of(const GraphView& view, const ir::Node& c) {
  Clamp out;
  if (c.num_outputs() != 1 || !c.output(0) || !c.input(0)) return {};
  if (ir::is_op(c, "Relu") && c.num_inputs() == 1) {
    out.lo = 0.0f;
  } else if (ir::is_op(c, "Clip")) {
    std::optional<float> lo, hi;
    if (view.opset(c) < 11) {
      if (c.num_inputs() != 1) return {};
      lo = c.attr_float("min", out.lo);
      hi = c.attr_float("max", out.hi);
    } else {
      if (c.num_inputs() > 3) return {};
      lo = constant_float_scalar(view, c.input(1), out.lo);
      hi = constant_float_scalar(view, c.input(2), out.hi);
    }
    // Crossed or NaN bounds have ONNX-specific answers (and XNNPACK rejects lo >= hi).
    if (!lo || !hi || std::isnan(*lo) || std::isnan(*hi) || !(*lo < *hi)) return {};
    out.lo = *lo;
    out.hi = *hi;
  } else {
    return {};
  }
  out.node = &c;
  return out;
}

Clamp fusable_clamp(const GraphView& view, const ir::Node& producer) {
  const ir::Value* v = producer.output(0);
  if (!v || v->uses().size() != 1 || v->uses()[0].index != 0) return {};
  const ir::Node* c = v->uses()[0].node;
  if (view.is_taken(c) || !ir::is_default_domain(c->domain())) return {};
  const ir::Node* group[] = {&producer, c};
  if (!view.read_only_by(*v, group)) return {};
  return clamp_of(view, *c);
}

namespace {

constexpr size_t kTile = 32;

// dst[b][j][i] = src[b][i][j] for an [rows x cols] matrix per image, one tile per call; 8-bit
// elements XORed with `flip` on the way.
template <typename T>
struct TransposeArgs {
  const T* src;
  T* dst;
  size_t rows, cols;
  uint8_t flip;
};

template <typename T>
void transpose_tile(void* ctx, size_t bi, size_t j0, size_t, size_t) {
  const auto& a = *static_cast<const TransposeArgs<T>*>(ctx);
  const size_t b = bi / ((a.rows + kTile - 1) / kTile);
  const size_t i0 = bi % ((a.rows + kTile - 1) / kTile) * kTile;
  const T* s = a.src + b * a.rows * a.cols;
  T* d = a.dst + b * a.rows * a.cols;
  const size_t i1 = std::min(a.rows, i0 + kTile), j1 = std::min(a.cols, j0 + kTile);
  for (size_t j = j0; j < j1; ++j)
    for (size_t i = i0; i < i1; ++i) {
      if constexpr (sizeof(T) == 1) d[j * a.rows + i] = static_cast<T>(s[i * a.cols + j] ^ a.flip);
      else d[j * a.rows + i] = s[i * a.cols + j];
    }
}

template <typename T>
void transpose(const T* src, T* dst, size_t n, size_t rows, size_t cols, uint8_t flip, pthreadpool_t pool) {
  if (n == 0 || rows == 0 || cols == 0) return;
  TransposeArgs<T> a{src, dst, rows, cols, flip};
  const size_t row_tiles = (rows + kTile - 1) / kTile;
  // The first range walks (image, row tile) pairs one by one; the second tiles the columns.
  pthreadpool_parallelize_2d_tile_2d(pool, transpose_tile<T>, &a, n * row_tiles, cols, 1, kTile, 0);
}

}  // namespace

void nchw_to_nhwc(const float* src, float* dst, size_t n, size_t c, size_t hw, pthreadpool_t pool) {
  transpose(src, dst, n, c, hw, 0, pool);
}

void nhwc_to_nchw(const float* src, float* dst, size_t n, size_t c, size_t hw, pthreadpool_t pool) {
  transpose(src, dst, n, hw, c, 0, pool);
}

void nchw_to_nhwc8(const uint8_t* src, uint8_t* dst, size_t n, size_t c, size_t hw, uint8_t flip, pthreadpool_t pool) {
  transpose(src, dst, n, c, hw, flip, pool);
}

void nhwc_to_nchw8(const uint8_t* src, uint8_t* dst, size_t n, size_t c, size_t hw, uint8_t flip, pthreadpool_t pool) {
  transpose(src, dst, n, hw, c, flip, pool);
}

}  // namespace ortool::rt::xnn_ep
