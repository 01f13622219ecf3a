// Resize and Upsample shared by the cpu kernel and the providers: attributes, geometry (output dims and
// each output coordinate's input taps), the reference interpolation, and the fast float path.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "lib/graph.h"
#include "lib/tensor.h"
#include "runtime/kernel.h"

namespace ortool::rt::cpu::resize {

enum class Mode { Nearest, Linear, Cubic };
enum class Coord { HalfPixel, HalfPixelSymmetric, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNN,
                   TfCropAndResize };
// Simple: opset-10 Resize and Upsample (floor when upsampling, ceil when downsampling, as ONNX Runtime).
enum class Nearest { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Simple };
enum class AspectPolicy { Stretch, NotLarger, NotSmaller };

// The node's attributes, as the opset reads them.
struct Attrs {
  bool upsample = false;  // Upsample (opsets 1-9) rather than Resize
  int64_t opset = 0;
  Mode mode = Mode::Nearest;
  Coord coord = Coord::HalfPixel;
  Nearest nearest = Nearest::RoundPreferFloor;
  AspectPolicy policy = AspectPolicy::Stretch;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0;
  std::vector<int64_t> axes;        // opset 18; empty: all
  std::vector<float> attr_scales;   // Upsample before opset 9
};
Result<Attrs> parse_attrs(const ir::Node& node, int64_t opset, bool upsample);

// Input taps of one output coordinate along one axis.
struct AxisTaps {
  std::vector<int64_t> index;
  std::vector<double> weight;
  bool extrapolate = false;  // tf_crop_and_resize outside the input: the extrapolation value
};

struct Geometry {
  std::vector<int64_t> in, out;             // input and output dims
  std::vector<double> scale, length_resized, roi_start, roi_end;  // per axis, what the taps derive from
  std::vector<std::vector<AxisTaps>> taps;  // per axis, per output coordinate: empty until build_taps
};
// The output dims for one run, from the node's inputs (X, then scales / roi, scales, sizes as the opset
// places them) in `ctx`, or given as tensors (null: absent).
Result<Geometry> geometry(const Attrs& a, const KernelContext& ctx);
Result<Geometry> geometry(const Attrs& a, const ir::Node& node, std::span<const Tensor* const> inputs);
// Fills g.taps. Call it once the output is allocated (its size checked against the memory limits) and
// not empty: the taps take memory per output coordinate, so a hostile output shape must fail first.
void build_taps(const Attrs& a, Geometry& g);

// The reference interpolation (any type, any taps), in double: y gets the output dims' elements.
Status interpolate(const Attrs& a, const Geometry& g, const Tensor& x, Tensor& y, const ir::Node& node);

// The fast float path: nearest or linear resizing (at most two taps per output coordinate, none
// extrapolated) of the last two axes (H, W) of a tensor whose other axes keep their elements, in
// NCHW order (any rank >= 2) or, for a 4-D tensor of logical dims [N, C, H, W], NHWC order.
struct Plan2D {
  int64_t outer = 1;     // NCHW: product of the dims before H; NHWC: N
  int64_t channels = 1;  // NHWC: C (elements per pixel); NCHW: 1
  int64_t in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  bool nearest = true;  // every tap single with weight 1
  std::vector<int64_t> h0, h1, w0, w1;
  std::vector<float> ha, hb, wa, wb;  // weights of tap 0 and tap 1 (tap 1 weight 0 when single)
};
// Nullopt when the geometry is not one the fast path runs.
std::optional<Plan2D> plan_2d(const Geometry& g, const std::vector<int64_t>& in_dims, bool nhwc);
// Runs the plan over rows of output, threaded on `pool` (may be null).
void run_2d(const Plan2D& p, const float* src, float* dst, ThreadPool* pool);

}  // namespace ortool::rt::cpu::resize
