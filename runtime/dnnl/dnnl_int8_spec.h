// What the dnnl provider knows of one int8 group (runtime/qdq_group.h) once claimed: its scales, geometry and
// layouts, shared by the oneDNN kernels (dnnl_int8.cpp) and the widened ones (dnnl_int8_wide.cpp).
#pragma once

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/transpose_tiled.h"
#include "runtime/cpu/wide_int8_gemm.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/dnnl/dnnl_deconv_geometry.h"
#include "runtime/qdq_group.h"

namespace ortool::rt::dnnl_ep {

struct Int8Spec {
  qdq::Int8Group g;
  std::string what;
  cpu::conv_family::WindowAttrs attrs;  // Conv
  int64_t group = 1;                    // Conv, ConvTranspose
  DeconvAttrs deconv;                   // ConvTranspose
  std::vector<float> oscale;            // x_scale * w_scale[m] / y_scale: one value, or one per output channel
  bool per_channel = false;
  // Run on the widened kernels (oneDNN is not exact for this group on this CPU).
  bool wide = false;
  // A depthwise Conv (one channel per group, as many outputs) run on wide8::depthwise_int8 where oneDNN's int8
  // kernels lack VNNI: faster than its own there, and exact for int8 activations too (wide is then set).
  bool depthwise = false;
  // A wide Conv run instead by oneDNN's float convolution on integer-valued floats (dnnl_int8_float_conv.cpp).
  bool float_conv = false;
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();  // (de)conv: NHWC activations (provider's choice)
};

std::shared_ptr<Int8Spec> make_spec(qdq::Int8Group g);

// The Conv's window for input dims `x` ([N, C, H, W]), or an error naming the group.
Result<cpu::conv_family::Window> conv_window_for(const Int8Spec& s, const std::vector<int64_t>& x);

// The group's 8-bit activation: `x` itself, or (a shared DequantizeLinear's float output) quantized back into
// `scratch`, exactly: round((q - z) * s / s) + z = q. An error when `x` is neither.
Result<const uint8_t*> activation_bytes(const Int8Spec& s, const Tensor* x, std::vector<uint8_t>& scratch);

// Whether a ConvTranspose with these attributes and weight dims ([C, M, kH, kW]) is an upsampling whose windows
// do not overlap (kernel == strides, no pads, dilations or output padding, group 1: the 2x2 stride-2 layers of
// U-Nets and text detectors), which the widened kernels run as a GEMM per tap.
bool deconv_blocks(const DeconvAttrs& a, const std::vector<int64_t>& w);

// The requantization of `n` output columns, column c being the group's output channel channel(c).
template <typename Channel>
wide8::Requant requant_for(const Int8Spec& s, int64_t n, Channel channel) {
  wide8::Requant q;
  const auto padded = static_cast<size_t>((n + wide8::kPanel - 1) / wide8::kPanel * wide8::kPanel);
  q.scale.assign(padded, 0.0f);
  q.bias.assign(padded, 0.0f);
  for (int64_t c = 0; c < n; ++c) {
    const auto m = static_cast<size_t>(channel(c));
    q.scale[static_cast<size_t>(c)] = s.oscale[s.per_channel ? m : 0];
    if (!s.g.bias.empty()) q.bias[static_cast<size_t>(c)] = s.g.bias[m];
  }
  // The fused Relu/Clip in output units; the outer bounds keep the float -> int32 conversion in range.
  q.lo = std::max(s.g.act_lo / s.g.y.scale, -1e9f);
  q.hi = std::min(s.g.act_hi / s.g.y.scale, 1e9f);
  q.zero_point = s.g.y.zero_point;
  q.out_signed = s.g.y.type == DType::Int8;
  return q;
}

// The group's output of dims `yd` for an input of dims `xd`; null, after writing an all-zero output, when either
// is empty (nothing to compute).
Result<Tensor*> group_output(KernelContext& ctx, const Int8Spec& s, const std::vector<int64_t>& xd,
                             const std::vector<int64_t>& yd);

// The start of a Conv group's run: its 8-bit activation (quantized back into `scratch` when it reads a shared
// float DequantizeLinear output), the input's dims, the resolved window, and the [N, M, oH, oW] output, null
// (after writing an all-zero output) when there is nothing to compute.
struct ConvRun {
  const uint8_t* x8 = nullptr;
  std::vector<int64_t> xd, yd;
  cpu::conv_family::Window win;
  Tensor* y = nullptr;
};
Result<ConvRun> start_conv_run(KernelContext& ctx, const Int8Spec& s, std::vector<uint8_t>& scratch);

// Where a conv group's kernel writes its output bytes in NHWC order: the output tensor itself when the provider
// keeps it NHWC, else `scratch`, which finish() puts into the tensor in NCHW order.
class NhwcBytesOut {
 public:
  NhwcBytesOut(Tensor& y, bool nhwc, std::vector<uint8_t>& scratch) : y_(y), nhwc_(nhwc), scratch_(scratch) {
    if (!nhwc_) scratch_.resize(static_cast<size_t>(y.numel()));
  }
  uint8_t* data() const { return nhwc_ ? static_cast<uint8_t*>(y_.raw_mutable()) : scratch_.data(); }
  void finish() const {
    if (nhwc_) return;
    const auto& d = y_.dims();
    cpu::nhwc_to_nchw_bytes(scratch_.data(), static_cast<uint8_t*>(y_.raw_mutable()), d[0], d[1], d[2] * d[3]);
  }

 private:
  Tensor& y_;
  bool nhwc_;
  std::vector<uint8_t>& scratch_;
};

// A kernel for a group that oneDNN cannot run exactly here (Int8Spec::wide): Conv, Gemm, MatMul, or a
// ConvTranspose of deconv_blocks.
std::unique_ptr<Kernel> make_wide_kernel(std::shared_ptr<const Int8Spec> spec);

// Whether a wide Conv group runs on oneDNN's float convolution (dnnl_int8_float_conv.cpp) for input dims `xd`:
// every partial sum exact in float, a conv the widened kernels run slowly (few input channels: im2col of a few
// values per tap), and an optimized oneDNN kernel for it; or forced (tests).
bool use_float_conv(const Int8Spec& s, const std::vector<int64_t>& xd, const cpu::conv_family::Window& win);

// The kernel of a group with Int8Spec::float_conv.
std::unique_ptr<Kernel> make_float_conv_kernel(std::shared_ptr<const Int8Spec> spec);

}  // namespace ortool::rt::dnnl_ep
