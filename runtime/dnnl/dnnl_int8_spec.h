// What the dnnl provider knows of one int8 group (runtime/qdq_group.h) once claimed: its scales, geometry and
// layouts, shared by the oneDNN kernels (dnnl_int8.cpp) and the widened ones (dnnl_int8_wide.cpp).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/cpu/conv.h"
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

// A kernel for a group that oneDNN cannot run exactly here (Int8Spec::wide): Conv, Gemm, MatMul, or a
// ConvTranspose of deconv_blocks.
std::unique_ptr<Kernel> make_wide_kernel(std::shared_ptr<const Int8Spec> spec);

}  // namespace ortool::rt::dnnl_ep
