// QuantizeLinear, DequantizeLinear (per tensor, per axis, blocked; 8- and 16-bit integers, int4/uint4 and
// the float8 types) and DynamicQuantizeLinear (uint8).
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include "lib/float8.h"
#include "lib/quant_scale_check.h"
#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/linalg.h"
#include "runtime/quant_loops.h"
#include "runtime/thread_pool.h"

namespace ortool::rt::cpu {
namespace {
using namespace kit;

// How `scale` (and a zero point of the same shape) applies to x; the error names no node.
Result<QuantParamLayout> quant_layout(const std::vector<int64_t>& x_dims, const Tensor& scale, int64_t axis_attr,
                                      int64_t block, int64_t opset) {
  QuantParamLayout q;
  if (scale.numel() == 1 && scale.rank() <= 1 && block == 0) return q;  // per tensor
  if (opset < 13) return invalid("input 'scale' must be a scalar before opset 13");
  const int64_t rank = static_cast<int64_t>(x_dims.size());
  int64_t axis = axis_attr;
  if (!normalize_axis(axis, rank)) return invalid("axis {} is out of range for an input of rank {}", axis_attr, rank);
  q.per_tensor = false;
  for (int64_t i = 0; i < axis; ++i) q.outer *= x_dims[static_cast<size_t>(i)];
  q.axis_dim = x_dims[static_cast<size_t>(axis)];
  for (int64_t i = axis + 1; i < rank; ++i) q.inner *= x_dims[static_cast<size_t>(i)];
  if (block == 0) {
    if (scale.rank() != 1 || scale.numel() != q.axis_dim)
      return invalid("input 'scale' must be 1-D with {} elements (axis {}), got shape [{}]", q.axis_dim, axis,
                     fmt::join(scale.dims(), ","));
    return q;
  }
  if (block < 0) return invalid("block_size {} must not be negative", block);
  q.block = block;
  q.per_axis = (q.axis_dim + block - 1) / block;
  std::vector<int64_t> want = x_dims;
  want[static_cast<size_t>(axis)] = q.per_axis;
  if (scale.dims() != want)
    return invalid("input 'scale' of shape [{}] does not match blocked shape [{}]", fmt::join(scale.dims(), ","),
                   fmt::join(want, ","));
  return q;
}

bool quantized_range(DType t, double& lo, double& hi) {
  switch (t) {
    case DType::UInt8: lo = 0; hi = 255; return true;
    case DType::Int8: lo = -128; hi = 127; return true;
    case DType::UInt16: lo = 0; hi = 65535; return true;
    case DType::Int16: lo = -32768; hi = 32767; return true;
    case DType::UInt4: lo = 0; hi = 15; return true;
    case DType::Int4: lo = -8; hi = 7; return true;
    default: return false;
  }
}

template <typename T>
void store_quantized(Tensor& y, int64_t i, double v) {
  y.mutable_data<T>()[i] = static_cast<T>(v);
}

void store_q(Tensor& y, int64_t i, double v) {
  switch (y.dtype()) {
    case DType::UInt8: store_quantized<uint8_t>(y, i, v); break;
    case DType::Int8: store_quantized<int8_t>(y, i, v); break;
    case DType::UInt16: store_quantized<uint16_t>(y, i, v); break;
    case DType::Int16: store_quantized<int16_t>(y, i, v); break;
    case DType::UInt4: store_quantized<uint8_t>(y, i, v); break;
    case DType::Int4: store_quantized<int8_t>(y, i, v); break;
    default: break;
  }
}

// float <-> 8-bit per tensor or per axis (no blocks, float scale), the form every quantized model uses: each run
// of elements sharing one scale as one vectorizable loop (quant_loops.h, the same arithmetic as the general
// loops below, which read every element through get_double and took 20 ns per element).
template <typename Runs>
void for_each_run(const Tensor& x, const QuantParamLayout& l, Runs&& run) {
  if (l.per_tensor) return run(int64_t{0}, x.numel(), int64_t{0});
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t a = 0; a < l.axis_dim; ++a) {
      const int64_t b = (o * l.axis_dim + a) * l.inner;
      run(b, b + l.inner, a);
    }
}

bool plain_8bit(const Tensor& q, const Tensor& scale, const QuantParamLayout& l) {
  return (q.dtype() == DType::UInt8 || q.dtype() == DType::Int8) && scale.dtype() == DType::Float && l.block == 0;
}

template <typename Q>
void quantize_runs(const Tensor& x, const Tensor& scale, const Tensor* zp, const QuantParamLayout& l, Tensor& y) {
  for_each_run(x, l, [&](int64_t b, int64_t e, int64_t p) {
    quantize_loop(x.data<float>(), y.mutable_data<Q>(), b, e, scale.data<float>()[p],
                  zp ? static_cast<int32_t>(zp->data<Q>()[p]) : 0);
  });
}

template <typename Q>
void dequantize_runs(const Tensor& x, const Tensor& scale, const Tensor* zp, const QuantParamLayout& l, Tensor& y) {
  for_each_run(x, l, [&](int64_t b, int64_t e, int64_t p) {
    dequantize_loop(x.data<Q>(), y.mutable_data<float>(), b, e, scale.data<float>()[p],
                    zp ? static_cast<int32_t>(zp->data<Q>()[p]) : 0);
  });
}

class QuantizeKernel final : public Kernel {
 public:
  explicit QuantizeKernel(const KernelInit& init) : opset_(init.opset) {
    axis_ = init.node.attr_int("axis", 1);
    block_ = init.node.attr_int("block_size", 0);
    output_dtype_ = init.node.attr_int("output_dtype", 0);
    saturate_ = init.node.attr_int("saturate", 1) != 0;
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* scale = ctx.input_tensor(1);
    const Tensor* zp = ctx.input_tensor(2);
    if (!x || !scale) return invalid("{}: inputs 'x' and 'y_scale' are required", node.describe());
    auto layout = quant_layout(x->dims(), *scale, axis_, block_, opset_);
    if (!layout) return layout.status().with_context(node.describe());
    if (zp && zp->dims() != scale->dims() && !(zp->numel() == 1 && scale->numel() == 1))
      return invalid("{}: inputs 'y_zero_point' and 'y_scale' differ in shape", node.describe());
    DType out = zp ? zp->dtype() : (output_dtype_ ? static_cast<DType>(output_dtype_) : DType::UInt8);
    if (zp && output_dtype_ && static_cast<DType>(output_dtype_) != zp->dtype())
      return invalid("{}: attribute 'output_dtype' ({}) differs from the zero point's type {}", node.describe(),
                     dtype_name(static_cast<DType>(output_dtype_)), dtype_name(zp->dtype()));
    double lo = 0, hi = 0;
    if (!quantized_range(out, lo, hi) && !dtype_is_float8(out))
      return unsupported("{}: quantized type {} is not supported", node.describe(), dtype_name(out));
    if (!dtype_is_float(scale->dtype()))
      return invalid("{}: input 'y_scale' must be a float tensor", node.describe());
    TRY(check_quant_scale(node, 1, *scale));
    if (!dtype_is_float(x->dtype()) && x->dtype() != DType::Int32)
      return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out, x->dims()));
    if (dtype_is_float8(out)) {
      // float8: x / scale + zero point in float, then to the nearest code (saturating unless told not to).
      uint8_t* yd = y->mutable_data<uint8_t>();
      for (int64_t i = 0; i < x->numel(); ++i) {
        const int64_t p = layout->index(i);
        const float z = zp ? static_cast<float>(zp->get_double(p)) : 0.0f;
        const float v = static_cast<float>(x->get_double(i)) / static_cast<float>(scale->get_double(p)) + z;
        yd[i] = float_to_float8(v, out, saturate_);
      }
      return Status::ok();
    }
    if (x->dtype() == DType::Float && plain_8bit(*y, *scale, *layout)) {
      if (out == DType::UInt8) quantize_runs<uint8_t>(*x, *scale, zp, *layout, *y);
      else quantize_runs<int8_t>(*x, *scale, zp, *layout, *y);
      return Status::ok();
    }
    const bool in_double = x->dtype() == DType::Double;
    for (int64_t i = 0; i < x->numel(); ++i) {
      const int64_t p = layout->index(i);
      const double z = zp ? zp->get_double(p) : 0.0;
      double q;
      if (in_double) {
        q = std::nearbyint(x->get_double(i) / scale->get_double(p));
      } else {
        // Divide in float as the reference does, then round half to even.
        q = std::nearbyint(static_cast<float>(x->get_double(i)) / static_cast<float>(scale->get_double(p)));
      }
      double v = std::isnan(q) ? z : q + z;
      store_q(*y, i, std::clamp(v, lo, hi));
    }
    return Status::ok();
  }

 private:
  int64_t opset_;
  int64_t axis_ = 1, block_ = 0, output_dtype_ = 0;
  bool saturate_ = true;
};

class DequantizeKernel final : public Kernel {
 public:
  explicit DequantizeKernel(const KernelInit& init) : opset_(init.opset) {
    axis_ = init.node.attr_int("axis", 1);
    block_ = init.node.attr_int("block_size", 0);
  }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* scale = ctx.input_tensor(1);
    const Tensor* zp = ctx.input_tensor(2);
    if (!x || !scale) return invalid("{}: inputs 'x' and 'x_scale' are required", node.describe());
    auto layout = quant_layout(x->dims(), *scale, axis_, block_, opset_);
    if (!layout) return layout.status().with_context(node.describe());
    if (zp && zp->dims() != scale->dims() && !(zp->numel() == 1 && scale->numel() == 1))
      return invalid("{}: inputs 'x_zero_point' and 'x_scale' differ in shape", node.describe());
    if (zp && zp->dtype() != x->dtype())
      return invalid("{}: input 'x_zero_point' must have the type of 'x'", node.describe());
    const DType xt = x->dtype();
    if (xt != DType::UInt8 && xt != DType::Int8 && xt != DType::Int32 && xt != DType::UInt16 && xt != DType::Int16 &&
        !dtype_is_4bit(xt) && !dtype_is_float8(xt))
      return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(xt));
    TRY(check_quant_scale(node, 1, *scale));
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, scale->dtype(), x->dims()));
    if (plain_8bit(*x, *scale, *layout)) {
      if (xt == DType::UInt8) dequantize_runs<uint8_t>(*x, *scale, zp, *layout, *y);
      else dequantize_runs<int8_t>(*x, *scale, zp, *layout, *y);
      return Status::ok();
    }
    bool ok = dispatch_float(scale->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* yd = y->mutable_data<T>();
      if (dtype_is_float8(xt)) {  // (x - zero point) * scale, the codes decoded to float
        for (int64_t i = 0; i < x->numel(); ++i) {
          const int64_t p = layout->index(i);
          const float z = zp ? static_cast<float>(zp->get_double(p)) : 0.0f;
          yd[i] = from_double<T>((static_cast<float>(x->get_double(i)) - z) * static_cast<float>(scale->get_double(p)));
        }
        return;
      }
      for (int64_t i = 0; i < x->numel(); ++i) {
        const int64_t p = layout->index(i);
        const int64_t z = zp ? zp->get_int64(p) : 0;
        if constexpr (std::is_same_v<T, double>)
          yd[i] = static_cast<double>(x->get_int64(i) - z) * scale->get_double(p);
        else
          yd[i] = from_double<T>(static_cast<float>(x->get_int64(i) - z) * static_cast<float>(scale->get_double(p)));
      }
    });
    if (!ok) return invalid("{}: input 'x_scale' must be a float tensor", node.describe());
    return Status::ok();
  }

 private:
  int64_t opset_;
  int64_t axis_ = 1, block_ = 0;
};

// [mn, mx] widened to hold x[0..n), NaN ignored (a comparison with NaN is false, so it never replaces a
// bound). GCC does not vectorize the scalar loop (vminss: 2 cycles per value, two thirds of a transformer's
// DynamicQuantizeLinear); vminps(v, m) is that comparison, eight lanes at a time.
void range_with_zero(const float* x, int64_t n, float& mn, float& mx) {
  int64_t i = 0;
#ifdef __AVX2__
  __m256 lo = _mm256_set1_ps(mn), hi = _mm256_set1_ps(mx), lo2 = lo, hi2 = hi;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    lo = _mm256_min_ps(a, lo), hi = _mm256_max_ps(a, hi);  // (a < lo) ? a : lo, NaN a keeps lo
    lo2 = _mm256_min_ps(b, lo2), hi2 = _mm256_max_ps(b, hi2);
  }
  alignas(32) float l[8], h[8];
  _mm256_store_ps(l, _mm256_min_ps(lo, lo2));
  _mm256_store_ps(h, _mm256_max_ps(hi, hi2));
  for (int j = 0; j < 8; ++j) mn = std::min(mn, l[j]), mx = std::max(mx, h[j]);
#endif
  for (; i < n; ++i) mn = x[i] < mn ? x[i] : mn, mx = x[i] > mx ? x[i] : mx;
}

// DynamicQuantizeLinear: scale and zero point from the data range (always including 0), uint8 output.
Status run_dynamic_quantize(KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  const Tensor* x = ctx.input_tensor(0);
  if (!x) return invalid("{}: input 'x' is missing", node.describe());
  if (x->dtype() != DType::Float)
    return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
  const float* xd = x->data<float>();
  const int64_t n = x->numel();
  // In pieces over the session's threads when there are several of 32K values (a transformer's activations).
  constexpr int64_t kPiece = int64_t{1} << 15;
  const auto pieces = static_cast<size_t>((n + kPiece - 1) / kPiece);
  ThreadPool* pool = pieces > 1 && ctx.threads() && ctx.threads()->size() > 1 ? ctx.threads() : nullptr;
  auto over_pieces = [&](const std::function<void(int64_t lo, int64_t hi)>& fn) {
    auto part = [&](size_t b, size_t e) {
      for (size_t p = b; p < e; ++p)
        fn(static_cast<int64_t>(p) * kPiece, std::min(n, static_cast<int64_t>(p + 1) * kPiece));
    };
    if (pool) pool->parallel_for(pieces, part);
    else part(0, pieces);
  };
  std::vector<float> mns(pieces, 0.0f), mxs(pieces, 0.0f);
  over_pieces([&](int64_t lo, int64_t hi) {
    const auto p = static_cast<size_t>(lo / kPiece);
    range_with_zero(xd + lo, hi - lo, mns[p], mxs[p]);
  });
  float mn = 0, mx = 0;
  for (size_t p = 0; p < pieces; ++p) mn = std::min(mn, mns[p]), mx = std::max(mx, mxs[p]);
  const float scale = (mx - mn) / 255.0f;
  float zpf = 0;
  if (scale != 0) zpf = std::clamp(std::nearbyint(0.0f - mn / scale), 0.0f, 255.0f);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::UInt8, x->dims()));
  ASSIGN_OR_RETURN(Tensor * ys, ctx.allocate_output(1, DType::Float, {}));
  ASSIGN_OR_RETURN(Tensor * yz, ctx.allocate_output(2, DType::UInt8, {}));
  ys->mutable_data<float>()[0] = scale;
  yz->mutable_data<uint8_t>()[0] = static_cast<uint8_t>(zpf);
  uint8_t* yd = y->mutable_data<uint8_t>();
  if (scale == 0) {
    std::fill(yd, yd + n, static_cast<uint8_t>(zpf));
    return Status::ok();
  }
  // round(x / scale) + zp clamped to [0, 255], NaN to zp (DynamicQuantizeLinear's zero point is a whole number).
  over_pieces([&](int64_t b, int64_t e) {
    // Locals, not the captured references: the byte stores may alias those, which kept the loop scalar.
    const float s = scale, z = zpf;
    const float* from = xd;
    uint8_t* to = yd;
    for (int64_t k = b; k < e; ++k) to[k] = quantize_steps<uint8_t>(from[k] / s, z);
  });
  return Status::ok();
}

}  // namespace

KernelFactory quantize_linear_kernel() { return factory_of<QuantizeKernel>(); }
KernelFactory dequantize_linear_kernel() { return factory_of<DequantizeKernel>(); }
KernelFactory dynamic_quantize_linear_kernel() { return function_kernel(run_dynamic_quantize); }

}  // namespace ortool::rt::cpu
