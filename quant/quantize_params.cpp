// Quantization arithmetic: scales, zero points, weights per tensor or per channel, int32 biases.
#include "quant/quantize_params.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ortool::quant {

IntRange int_range(DType type, bool symmetric, bool reduce_range) {
  if (type == DType::UInt8) return reduce_range ? IntRange{0, 127} : IntRange{0, 255};
  if (type == DType::Int8) {
    if (reduce_range) return {-64, 64};
    return symmetric ? IntRange{-127, 127} : IntRange{-128, 127};
  }
  return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
}

ScaleZero scale_zero_point(double rmin, double rmax, IntRange q, bool symmetric) {
  rmin = std::min(rmin, 0.0);
  rmax = std::max(rmax, 0.0);
  if (symmetric) {
    const double absmax = std::max(std::abs(rmin), std::abs(rmax));
    rmin = -absmax;
    rmax = absmax;
  }
  const double scale = (rmax - rmin) / (static_cast<double>(q.qmax) - q.qmin);
  ScaleZero out;
  const double middle = std::nearbyint((static_cast<double>(q.qmin) + q.qmax) / 2.0);
  // An empty range (all zeros) keeps scale 1: every value is 0, exactly. Symmetric zero points stay at
  // the middle so that every channel of a weight shares one (ONNX Runtime's kernels require it).
  if (!(static_cast<float>(scale) >= std::numeric_limits<float>::min())) {
    out.zero_point = symmetric ? static_cast<int32_t>(middle) : 0;
    return out;
  }
  out.scale = static_cast<float>(scale);
  const double zp = symmetric ? middle : std::nearbyint(q.qmin - rmin / scale);
  out.zero_point = static_cast<int32_t>(std::clamp(zp, static_cast<double>(q.qmin), static_cast<double>(q.qmax)));
  return out;
}

QuantParams activation_params(const TensorRange& r, DType type, bool symmetric) {
  QuantParams p;
  p.type = type;
  ScaleZero sz = scale_zero_point(r.min, r.max, int_range(type, symmetric, false), symmetric);
  p.scale = {sz.scale};
  p.zero_point = {sz.zero_point};
  return p;
}

namespace {

// Outer count, channel count and inner count of `dims` split at `axis` (axis < 0: one channel).
struct AxisSplit {
  int64_t outer = 1, channels = 1, inner = 1;
};
AxisSplit split_at(const std::vector<int64_t>& dims, int64_t axis) {
  AxisSplit s;
  // An empty tensor: no outer or inner element (its other dims may multiply past int64: [2^62, 5, 0]).
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) {
    s.outer = s.inner = 0;
    if (axis >= 0) s.channels = dims[static_cast<size_t>(axis)];
    return s;
  }
  if (axis < 0) {
    for (int64_t d : dims) s.inner *= d;
    return s;
  }
  for (int64_t i = 0; i < static_cast<int64_t>(dims.size()); ++i) {
    if (i < axis) s.outer *= dims[static_cast<size_t>(i)];
    else if (i == axis) s.channels = dims[static_cast<size_t>(i)];
    else s.inner *= dims[static_cast<size_t>(i)];
  }
  return s;
}

template <typename T>
void store_quantized(const float* x, const QuantParams& p, const AxisSplit& s, T* out) {
  const IntRange full = int_range(p.type, false, false);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t c = 0; c < s.channels; ++c) {
      const size_t pc = p.per_channel() ? static_cast<size_t>(c) : 0;
      const float scale = p.scale[pc];
      const float zp = static_cast<float>(p.zero_point[pc]);
      const int64_t base = (o * s.channels + c) * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) {
        // Divide in float and round half to even, as QuantizeLinear does.
        float q = std::nearbyint(x[base + i] / scale) + zp;
        if (std::isnan(q)) q = zp;
        out[base + i] = static_cast<T>(std::clamp(q, static_cast<float>(full.qmin), static_cast<float>(full.qmax)));
      }
    }
}

}  // namespace

Tensor quantize_tensor(const Tensor& x, const QuantParams& p) {
  Tensor out(p.type, x.dims());
  const AxisSplit s = split_at(x.dims(), p.axis);
  if (p.type == DType::UInt8) store_quantized(x.data<float>(), p, s, out.mutable_data<uint8_t>());
  else store_quantized(x.data<float>(), p, s, out.mutable_data<int8_t>());
  return out;
}

std::vector<float> channel_values(const Tensor& w, int64_t axis, int64_t c) {
  const AxisSplit s = split_at(w.dims(), axis);
  std::vector<float> v;
  v.reserve(static_cast<size_t>(s.outer * s.inner));
  const float* d = w.data<float>();
  for (int64_t o = 0; o < s.outer; ++o) {
    const int64_t base = (o * s.channels + (axis < 0 ? 0 : c)) * s.inner;
    v.insert(v.end(), d + base, d + base + s.inner);
  }
  return v;
}

QuantParams weight_params(const Tensor& w, DType type, int64_t axis, bool reduce_range) {
  QuantParams p;
  p.type = type;
  p.axis = axis;
  // int8: symmetric. uint8: asymmetric per tensor; per channel symmetric so every channel shares
  // the zero point 128 (ONNX Runtime's ConvInteger takes one zero point only).
  const bool symmetric = type == DType::Int8 || axis >= 0;
  const IntRange q = int_range(type, symmetric, reduce_range);
  const int64_t channels = axis < 0 ? 1 : w.dims()[static_cast<size_t>(axis)];
  for (int64_t c = 0; c < channels; ++c) {
    double lo = 0, hi = 0;
    for (float v : channel_values(w, axis, c)) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, static_cast<double>(v));
      hi = std::max(hi, static_cast<double>(v));
    }
    ScaleZero sz = scale_zero_point(lo, hi, q, symmetric);
    p.scale.push_back(sz.scale);
    p.zero_point.push_back(sz.zero_point);
  }
  return p;
}

QuantizedBias quantize_bias(const Tensor& bias, float input_scale, QuantParams& weight) {
  const double int32_max = std::numeric_limits<int32_t>::max();
  const size_t channels = weight.scale.size();
  const float* b = bias.data<float>();
  const int64_t n = bias.numel();
  QuantizedBias out;
  // Raise the weight scale of channels whose largest bias would overflow int32 at input x weight scale
  // (ONNX Runtime does the same; 1.0001 keeps the rounded quotient inside the range).
  std::vector<double> absmax(channels, 0.0);
  for (int64_t i = 0; i < n; ++i)
    if (std::isfinite(b[i])) {
      double& m = absmax[static_cast<size_t>(i) % channels];
      m = std::max(m, std::abs(static_cast<double>(b[i])));
    }
  for (size_t c = 0; c < channels; ++c) {
    const double smallest = 1.0001 * absmax[c] / int32_max;
    const double candidate = static_cast<double>(input_scale) * weight.scale[c];
    if (candidate > 0 && candidate < smallest) {
      weight.scale[c] = static_cast<float>(weight.scale[c] * (smallest / candidate));
      ++out.raised;
    }
  }
  const bool per_element = channels > 1;  // per-channel weights give one bias scale per element
  out.q = Tensor(DType::Int32, bias.dims());
  int32_t* q = out.q.mutable_data<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    const float s = input_scale * weight.scale[static_cast<size_t>(i) % channels];
    double v = std::isfinite(b[i]) && s > 0 ? std::nearbyint(static_cast<double>(b[i]) / s) : 0.0;
    q[i] = static_cast<int32_t>(std::clamp(v, -int32_max - 1, int32_max));
    if (per_element) out.scale.push_back(s);
  }
  if (!per_element) out.scale.push_back(input_scale * weight.scale[0]);
  return out;
}

}  // namespace ortool::quant
