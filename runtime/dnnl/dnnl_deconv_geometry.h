// ConvTranspose in oneDNN's terms, shared by the float (dnnl_deconv.cpp) and int8 (dnnl_int8.cpp) deconvolutions:
// the attributes, the geometry for one input shape, and the strided view of ONNX's weight in oneDNN's order.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"
#include "runtime/cpu/conv.h"

namespace ortool::rt::dnnl_ep {

// A 2-D ConvTranspose's attributes.
struct DeconvAttrs {
  cpu::conv_family::WindowAttrs window;
  int64_t group = 1;
  std::vector<int64_t> output_padding, output_shape;  // output_shape reduced to its spatial dims
};
// Reads the attributes of a 2-D ConvTranspose with a weight of dims `w` ([C, M/group, kH, kW]); false when
// they are not a valid 2-D geometry for that weight (the node then stays with the cpu kernel, which reports it).
bool parse_deconv_attrs(const ir::Node& node, const std::vector<int64_t>& w, DeconvAttrs& out);

// The resolved geometry for one input shape, in oneDNN's terms.
struct DeconvGeometry {
  std::vector<int64_t> dst;  // [N, M, OH, OW]
  dnnl::memory::dims strides, dilates, pad_l, pad_r;
};
// The cpu kernel's geometry (cpu::conv_family::resolve_transpose_window: pads, auto_pad, output_padding,
// output_shape) over input dims `x` (rank 4, channels checked by the caller): oneDNN wants the output size
// implied by its pads, so its right pad is whatever makes that size (output_padding lowers it).
Result<DeconvGeometry> deconv_geometry(const ir::Node& node, const DeconvAttrs& a, const std::vector<int64_t>& w,
                                       const std::vector<int64_t>& x);

// oneDNN's weight dims for the ONNX weight `w`: [OC, IC, kH, kW], or [g, OC/g, IC/g, kH, kW] when grouped.
dnnl::memory::dims deconv_weight_dims(const std::vector<int64_t>& w, int64_t group);
// The ONNX weight ([C, M/g, kH, kW]) as it lies in memory, described in oneDNN's (g)oihw dim order: O and I
// swapped by strides, so the one reorder into the primitive's packed format transposes too, with no copy.
dnnl::memory::desc onnx_deconv_weight_desc(const std::vector<int64_t>& w, int64_t group, dnnl::memory::data_type t);

}  // namespace ortool::rt::dnnl_ep
