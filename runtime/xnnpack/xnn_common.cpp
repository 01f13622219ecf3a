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

// dst[b][j][i] = src[b][i][j] for an [rows x cols] matrix per image, one tile per call.
struct TransposeArgs {
  const float* src;
  float* dst;
  size_t rows, cols;
};

void transpose_tile(void* ctx, size_t bi, size_t j0, size_t, size_t) {
  const auto& a = *static_cast<const TransposeArgs*>(ctx);
  const size_t b = bi / ((a.rows + kTile - 1) / kTile);
  const size_t i0 = bi % ((a.rows + kTile - 1) / kTile) * kTile;
  const float* s = a.src + b * a.rows * a.cols;
  float* d = a.dst + b * a.rows * a.cols;
  const size_t i1 = std::min(a.rows, i0 + kTile), j1 = std::min(a.cols, j0 + kTile);
  for (size_t j = j0; j < j1; ++j)
    for (size_t i = i0; i < i1; ++i) d[j * a.rows + i] = s[i * a.cols + j];
}

void transpose(const float* src, float* dst, size_t n, size_t rows, size_t cols, pthreadpool_t pool) {
  if (n == 0 || rows == 0 || cols == 0) return;
  TransposeArgs a{src, dst, rows, cols};
  const size_t row_tiles = (rows + kTile - 1) / kTile;
  // The first range walks (image, row tile) pairs one by one; the second tiles the columns.
  pthreadpool_parallelize_2d_tile_2d(pool, transpose_tile, &a, n * row_tiles, cols, 1, kTile, 0);
}

}  // namespace

void nchw_to_nhwc(const float* src, float* dst, size_t n, size_t c, size_t hw, pthreadpool_t pool) {
  transpose(src, dst, n, c, hw, pool);
}

void nhwc_to_nchw(const float* src, float* dst, size_t n, size_t c, size_t hw, pthreadpool_t pool) {
  transpose(src, dst, n, hw, c, pool);
}

}  // namespace ortool::rt::xnn_ep
