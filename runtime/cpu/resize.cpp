// Resize (opsets 10-19: nearest, N-D linear, cubic, every coordinate transformation) and Upsample (1-9).
//
// Each output coordinate of each axis maps to a few input taps with weights (1 for nearest, 2 for
// linear, 4 or more for cubic/antialias); an output element is the weighted sum over the product of
// its axes' taps, following the ONNX reference implementation (onnx/reference/ops/op_resize.py).
// Float nearest and linear resizing of the last two axes takes the fast path (resize_fast.cpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"
#include "runtime/cpu/resize.h"

namespace ortool::rt::cpu::resize {
namespace {

using conv_family::dims_string;

double cubic_weight(double x, double a) {
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

template <typename T>
double to_double(T v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>)
    return static_cast<float>(v);
  else
    return static_cast<double>(v);
}

template <typename T>
T from_double(double v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
    return T(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T(0);
    const double r = std::nearbyint(v);
    if (r <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (r >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(r);
  } else {
    return static_cast<T>(v);
  }
}

// Input coordinate of output coordinate o along an axis.
double original_coord(const Attrs& a, int64_t o, int64_t in, int64_t out, double scale, double len, double rs,
                      double re) {
  const double x = static_cast<double>(o);
  switch (a.coord) {
    case Coord::HalfPixel: return (x + 0.5) / scale - 0.5;
    case Coord::HalfPixelSymmetric: {
      const double adjustment = static_cast<double>(out) / len;
      const double center = static_cast<double>(in) / 2;
      return center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
    }
    case Coord::PytorchHalfPixel: return len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Coord::AlignCorners: return len == 1 ? 0.0 : x * static_cast<double>(in - 1) / (len - 1);
    case Coord::Asymmetric: return x / scale;
    case Coord::TfHalfPixelForNN: return (x + 0.5) / scale;
    case Coord::TfCropAndResize:
      if (len > 1) return rs * static_cast<double>(in - 1) + x * (re - rs) * static_cast<double>(in - 1) / (len - 1);
      return 0.5 * (rs + re) * static_cast<double>(in - 1);
  }
  return 0;
}

void axis_taps(const Attrs& a, int64_t o, int64_t in, int64_t out, double scale, double len, double rs, double re,
               AxisTaps& t) {
  const double xo = original_coord(a, o, in, out, scale, len, rs, re);
  if (a.coord == Coord::TfCropAndResize && (xo < 0 || xo > static_cast<double>(in - 1))) {
    t.extrapolate = true;
    return;
  }
  auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
  const double fl = std::floor(xo);
  const double frac = xo - fl;
  const int64_t i0 = static_cast<int64_t>(fl);
  if (a.mode == Mode::Nearest) {
    int64_t i;
    if (a.nearest == Nearest::Simple) {
      i = scale < 1 ? static_cast<int64_t>(std::ceil(xo)) : static_cast<int64_t>(xo);
    } else if (frac == 0) {
      i = i0;
    } else {
      switch (a.nearest) {
        case Nearest::RoundPreferFloor: i = frac <= 0.5 ? i0 : i0 + 1; break;
        case Nearest::RoundPreferCeil: i = frac < 0.5 ? i0 : i0 + 1; break;
        case Nearest::Floor: i = i0; break;
        default: i = i0 + 1; break;
      }
    }
    t.index = {clamp(i)};
    t.weight = {1.0};
    return;
  }
  // Taps i0 + j for j in [first, first + count) with weights w((j - frac) * s).
  const bool aa = a.antialias && scale < 1;
  const double s = aa ? scale : 1.0;
  int64_t first, count;
  if (a.mode == Mode::Linear) {
    first = aa ? static_cast<int64_t>(std::floor(-1 / s)) + 1 : 0;
    count = aa ? 2 - 2 * first : 2;
  } else {
    first = aa ? static_cast<int64_t>(std::floor(-2 / s)) + 1 : -1;
    count = aa ? 2 - 2 * first : 4;
  }
  std::vector<double> w(static_cast<size_t>(count));
  double sum = 0;
  for (int64_t j = 0; j < count; ++j) {
    const double arg = (static_cast<double>(first + j) - frac) * s;
    double v = a.mode == Mode::Linear ? std::max(0.0, 1 - std::abs(arg)) : cubic_weight(arg, a.cubic_a);
    if (a.exclude_outside && (i0 + first + j < 0 || i0 + first + j >= in)) v = 0;
    w[static_cast<size_t>(j)] = v;
    sum += v;
  }
  const bool normalize = aa || a.exclude_outside;
  for (int64_t j = 0; j < count; ++j) {
    double v = w[static_cast<size_t>(j)];
    if (normalize) v = sum != 0 ? v / sum : 0;
    if (v == 0) continue;
    t.index.push_back(clamp(i0 + first + j));
    t.weight.push_back(v);
  }
  if (t.index.empty()) {
    t.index = {clamp(i0)};
    t.weight = {0.0};
  }
}

template <typename T>
void interpolate_typed(const Attrs& a, const std::vector<std::vector<AxisTaps>>& taps, const Tensor& x, Tensor& y) {
  const size_t r = x.rank();
  const int64_t total = y.numel();
  if (total == 0) return;
  const T* src = x.data<T>();
  T* dst = y.mutable_data<T>();
  std::vector<int64_t> stride(r, 1);
  for (size_t d = r; d-- > 1;) stride[d - 1] = stride[d] * x.dims()[d];
  const T extrap = from_double<T>(a.extrapolation);
  std::vector<int64_t> o(r, 0);
  std::vector<size_t> t(r, 0);
  std::vector<const AxisTaps*> at(r);
  for (int64_t oi = 0; oi < total; ++oi) {
    bool extrapolate = false, single = true;
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) {
      at[d] = &taps[d][static_cast<size_t>(o[d])];
      extrapolate = extrapolate || at[d]->extrapolate;
      if (!at[d]->extrapolate) {
        single = single && at[d]->index.size() == 1 && at[d]->weight[0] == 1.0;
        off += at[d]->index[0] * stride[d];
      }
    }
    if (extrapolate) {
      dst[oi] = extrap;
    } else if (single) {
      dst[oi] = src[off];
    } else {
      double acc = 0;
      std::fill(t.begin(), t.end(), 0);
      while (true) {
        int64_t p = 0;
        double w = 1;
        for (size_t d = 0; d < r; ++d) {
          p += at[d]->index[t[d]] * stride[d];
          w *= at[d]->weight[t[d]];
        }
        acc += w * to_double(src[p]);
        size_t d = r;
        while (d-- > 0) {
          if (++t[d] < at[d]->index.size()) break;
          t[d] = 0;
        }
        if (d == SIZE_MAX) break;
      }
      dst[oi] = from_double<T>(acc);
    }
    for (size_t d = r; d-- > 0;) {
      if (++o[d] < y.dims()[d]) break;
      o[d] = 0;
    }
  }
}

class ResizeKernel final : public Kernel {
 public:
  explicit ResizeKernel(Attrs a) : a_(std::move(a)) {}

  Status run(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input X is required", ctx.node().describe());
    ASSIGN_OR_RETURN(Geometry g, geometry(a_, ctx));
    const bool fast = x->dtype() == DType::Float;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), g.out,
                                                     fast ? KernelContext::Fill::Uninitialized : KernelContext::Fill::Zero));
    if (y->numel() == 0) return Status::ok();
    build_taps(a_, g);
    if (fast) {
      if (auto p = plan_2d(g, x->dims(), false)) {
        run_2d(*p, x->data<float>(), y->mutable_data<float>(), ctx.threads());
        return Status::ok();
      }
    }
    return interpolate(a_, g, *x, *y, ctx.node());
  }

 private:
  Attrs a_;
};

template <bool Upsample>
KernelFactory resize_factory() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    ASSIGN_OR_RETURN(Attrs a, parse_attrs(init.node, init.opset, Upsample));
    return std::unique_ptr<Kernel>(std::make_unique<ResizeKernel>(std::move(a)));
  };
}

}  // namespace

Result<Attrs> parse_attrs(const ir::Node& node, int64_t opset, bool upsample) {
  Attrs a;
  a.upsample = upsample;
  a.opset = opset;
  std::string mode = node.attr_string("mode", "nearest");
  if (mode == "nearest") {
    a.mode = Mode::Nearest;
  } else if (mode == "linear" || mode == "bilinear" || mode == "trilinear") {
    a.mode = Mode::Linear;
  } else if (mode == "cubic" && !upsample && opset >= 11) {
    a.mode = Mode::Cubic;
  } else {
    return invalid("{}: unknown mode '{}'", node.describe(), mode);
  }
  const bool legacy = upsample || opset < 11;
  if (legacy) {
    a.coord = Coord::Asymmetric;
    a.nearest = Nearest::Simple;
  } else {
    const std::string c = node.attr_string("coordinate_transformation_mode", "half_pixel");
    if (c == "half_pixel") a.coord = Coord::HalfPixel;
    else if (c == "half_pixel_symmetric" && opset >= 19) a.coord = Coord::HalfPixelSymmetric;
    else if (c == "pytorch_half_pixel") a.coord = Coord::PytorchHalfPixel;
    else if (c == "align_corners") a.coord = Coord::AlignCorners;
    else if (c == "asymmetric") a.coord = Coord::Asymmetric;
    else if (c == "tf_half_pixel_for_nn") a.coord = Coord::TfHalfPixelForNN;
    else if (c == "tf_crop_and_resize") a.coord = Coord::TfCropAndResize;
    else return invalid("{}: unknown coordinate_transformation_mode '{}'", node.describe(), c);
    const std::string n = node.attr_string("nearest_mode", "round_prefer_floor");
    if (n == "round_prefer_floor") a.nearest = Nearest::RoundPreferFloor;
    else if (n == "round_prefer_ceil") a.nearest = Nearest::RoundPreferCeil;
    else if (n == "floor") a.nearest = Nearest::Floor;
    else if (n == "ceil") a.nearest = Nearest::Ceil;
    else return invalid("{}: unknown nearest_mode '{}'", node.describe(), n);
    a.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
    a.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
    a.extrapolation = node.attr_float("extrapolation_value", 0.f);
    if (opset >= 18) {
      a.antialias = node.attr_int("antialias", 0) != 0;
      a.axes = node.attr_ints("axes");
      const std::string k = node.attr_string("keep_aspect_ratio_policy", "stretch");
      if (k == "stretch") a.policy = AspectPolicy::Stretch;
      else if (k == "not_larger") a.policy = AspectPolicy::NotLarger;
      else if (k == "not_smaller") a.policy = AspectPolicy::NotSmaller;
      else return invalid("{}: unknown keep_aspect_ratio_policy '{}'", node.describe(), k);
    }
  }
  if (upsample && opset < 7) {
    // Upsample-1: 4-D input, height_scale and width_scale attributes.
    if (!node.has_attr("height_scale") || !node.has_attr("width_scale"))
      return invalid("{}: attributes height_scale and width_scale are required", node.describe());
    a.attr_scales = {1.f, 1.f, node.attr_float("height_scale", 1.f), node.attr_float("width_scale", 1.f)};
  } else if (upsample && opset < 9) {
    if (!node.has_attr("scales")) return invalid("{}: attribute scales is required", node.describe());
    a.attr_scales = node.attr_floats("scales");
  }
  return a;
}

Result<Geometry> geometry(const Attrs& a, const KernelContext& ctx) {
  const Tensor* in[4];
  for (size_t i = 0; i < 4; ++i) in[i] = ctx.input_tensor(i);
  return geometry(a, ctx.node(), in);
}

Result<Geometry> geometry(const Attrs& a, const ir::Node& node, std::span<const Tensor* const> inputs) {
  auto input = [&](size_t i) { return i < inputs.size() ? inputs[i] : nullptr; };
  const Tensor* x = input(0);
  if (!x) return invalid("{}: input X is required", node.describe());
  if (x->is_string()) return unsupported("{}: string tensors are not supported", node.describe());
  const size_t r = x->rank();
  const std::vector<int64_t>& in = x->dims();

  // Axes the scales/sizes/roi inputs talk about (opset 18 'axes'; all otherwise).
  std::vector<size_t> axes;
  if (a.axes.empty()) {
    for (size_t d = 0; d < r; ++d) axes.push_back(d);
  } else {
    std::vector<bool> seen(r, false);
    for (int64_t v : a.axes) {
      const int64_t ax = v < 0 ? v + static_cast<int64_t>(r) : v;
      if (ax < 0 || ax >= static_cast<int64_t>(r) || seen[static_cast<size_t>(ax)])
        return invalid("{}: axes has a bad or repeated axis {} for input rank {}", node.describe(), v, r);
      seen[static_cast<size_t>(ax)] = true;
      axes.push_back(static_cast<size_t>(ax));
    }
  }

  // Scales and output dims.
  std::vector<double> scale(r, 1.0);
  std::vector<int64_t> out(in);
  const Tensor* scales_t = nullptr;
  const Tensor* sizes_t = nullptr;
  const Tensor* roi_t = nullptr;
  if (a.upsample && a.opset < 9) {
    // attribute scales
  } else if (a.upsample || a.opset < 11) {
    scales_t = input(1);
    if (!scales_t) return invalid("{}: input scales is required", node.describe());
  } else {
    roi_t = input(1);
    scales_t = input(2);
    sizes_t = input(3);
    if (scales_t && scales_t->numel() == 0) scales_t = nullptr;
    if (sizes_t && sizes_t->numel() == 0) sizes_t = nullptr;
    if (roi_t && roi_t->numel() == 0) roi_t = nullptr;
    if (scales_t && sizes_t) return invalid("{}: only one of scales and sizes may be given", node.describe());
    if (!scales_t && !sizes_t) return invalid("{}: one of scales and sizes is required", node.describe());
  }
  std::vector<double> length_resized(r);  // scale * input length (the reference's output_width)
  if (sizes_t) {
    if (!dtype_is_integer(sizes_t->dtype()) || sizes_t->rank() != 1 ||
        sizes_t->numel() != static_cast<int64_t>(axes.size()))
      return invalid("{}: sizes must be a 1-D int64 tensor of {} values, got {} {}", node.describe(), axes.size(),
                     dtype_name(sizes_t->dtype()), dims_string(sizes_t->dims()));
    std::vector<int64_t> sizes = sizes_t->to_int64_vector();
    for (int64_t s : sizes)
      if (s < 0) return invalid("{}: sizes {} must not be negative", node.describe(), dims_string(sizes));
    if (a.policy == AspectPolicy::Stretch) {
      for (size_t i = 0; i < axes.size(); ++i) {
        const size_t d = axes[i];
        out[d] = sizes[i];
        scale[d] = in[d] > 0 ? static_cast<double>(sizes[i]) / static_cast<double>(in[d]) : 1.0;
      }
    } else {
      double s = a.policy == AspectPolicy::NotLarger ? std::numeric_limits<double>::infinity() : 0.0;
      for (size_t i = 0; i < axes.size(); ++i) {
        const double si = in[axes[i]] > 0 ? static_cast<double>(sizes[i]) / static_cast<double>(in[axes[i]]) : 1.0;
        s = a.policy == AspectPolicy::NotLarger ? std::min(s, si) : std::max(s, si);
      }
      for (size_t d : axes) {
        scale[d] = s;
        out[d] = static_cast<int64_t>(std::nearbyint(s * static_cast<double>(in[d])));
      }
    }
    for (size_t d = 0; d < r; ++d) length_resized[d] = static_cast<double>(out[d]);
    if (a.policy != AspectPolicy::Stretch)
      for (size_t d : axes) length_resized[d] = scale[d] * static_cast<double>(in[d]);
  } else {
    std::vector<float> sc;
    if (scales_t) {
      if (scales_t->dtype() != DType::Float || scales_t->rank() != 1 ||
          scales_t->numel() != static_cast<int64_t>(axes.size()))
        return invalid("{}: scales must be a 1-D float tensor of {} values, got {} {}", node.describe(), axes.size(),
                       dtype_name(scales_t->dtype()), dims_string(scales_t->dims()));
      sc.assign(scales_t->data<float>(), scales_t->data<float>() + scales_t->numel());
    } else {
      sc = a.attr_scales;
      if (sc.size() != r) return invalid("{}: scales has {} values for input rank {}", node.describe(), sc.size(), r);
    }
    for (size_t i = 0; i < axes.size(); ++i) {
      if (!(sc[i] > 0) || !std::isfinite(sc[i]))
        return invalid("{}: scale {} for axis {} must be positive", node.describe(), sc[i], axes[i]);
      scale[axes[i]] = sc[i];
    }
    for (size_t d = 0; d < r; ++d) {
      length_resized[d] = scale[d] * static_cast<double>(in[d]);
      if (length_resized[d] > 9e18)
        return invalid("{}: output dim {} of {} * {} is too large", node.describe(), d, in[d], scale[d]);
      out[d] = static_cast<int64_t>(std::floor(length_resized[d]));
    }
  }

  // Region of interest (tf_crop_and_resize only): starts then ends, normalized.
  std::vector<double> roi_start(r, 0.0), roi_end(r, 1.0);
  if (a.coord == Coord::TfCropAndResize && roi_t) {
    if (!dtype_is_float(roi_t->dtype()) || roi_t->numel() != static_cast<int64_t>(2 * axes.size()))
      return invalid("{}: roi must be a float tensor of {} values, got {} {}", node.describe(), 2 * axes.size(),
                     dtype_name(roi_t->dtype()), dims_string(roi_t->dims()));
    for (size_t i = 0; i < axes.size(); ++i) {
      roi_start[axes[i]] = roi_t->get_double(static_cast<int64_t>(i));
      roi_end[axes[i]] = roi_t->get_double(static_cast<int64_t>(i + axes.size()));
    }
  }

  auto numel = checked_numel(out);
  if (!numel.is_ok()) return invalid("{}: bad output shape {}", node.describe(), dims_string(out));
  Geometry g;
  g.in = in;
  g.out = out;
  g.scale = std::move(scale);
  g.length_resized = std::move(length_resized);
  g.roi_start = std::move(roi_start);
  g.roi_end = std::move(roi_end);
  return g;
}

void build_taps(const Attrs& a, Geometry& g) {
  const size_t r = g.out.size();
  g.taps.assign(r, {});
  for (size_t d = 0; d < r; ++d) {
    g.taps[d].resize(static_cast<size_t>(g.out[d]));
    for (int64_t o = 0; o < g.out[d]; ++o)
      axis_taps(a, o, g.in[d], g.out[d], g.scale[d], g.length_resized[d], g.roi_start[d], g.roi_end[d],
                g.taps[d][static_cast<size_t>(o)]);
  }
}

Status interpolate(const Attrs& a, const Geometry& g, const Tensor& x, Tensor& y, const ir::Node& node) {
  bool known = dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    interpolate_typed<T>(a, g.taps, x, y);
  });
  if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x.dtype()));
  return Status::ok();
}

}  // namespace ortool::rt::cpu::resize

namespace ortool::rt::cpu::conv_family {

void register_resize(KernelRegistry& r) {
  r.add("", "Resize", 10, INT32_MAX, resize::resize_factory<false>());
  r.add("", "Upsample", 1, 9, resize::resize_factory<true>());
}

}  // namespace ortool::rt::cpu::conv_family
