// GridSample: samples N x C x H x W (or, opset 20, N x C x D x H x W) input at normalized grid points;
// linear/nearest (and cubic in 2-D), zeros/border/reflection padding.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"

namespace ortool::rt::cpu::conv_family {
namespace {

enum class GsMode { Bilinear, Nearest, Bicubic };
enum class GsPad { Zeros, Border, Reflection };

// Reflects x into [lo, hi] as ONNX Runtime does.
double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

void cubic_coeffs(double t, double c[4]) {
  constexpr double a = -0.75;
  const double x = std::abs(t);
  c[0] = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
  c[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
  c[2] = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
  c[3] = ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a;
}

class GridSampleKernel final : public Kernel {
 public:
  explicit GridSampleKernel(const KernelInit& init) {
    const ir::Node& node = init.node;
    const std::string mode = node.attr_string("mode", init.opset >= 20 ? "linear" : "bilinear");
    if (mode == "bilinear" || mode == "linear") mode_ = GsMode::Bilinear;
    else if (mode == "nearest") mode_ = GsMode::Nearest;
    else if (mode == "bicubic" || mode == "cubic") mode_ = GsMode::Bicubic;
    else status_ = invalid("{}: unknown mode '{}'", node.describe(), mode);
    const std::string pad = node.attr_string("padding_mode", "zeros");
    if (pad == "zeros") pad_ = GsPad::Zeros;
    else if (pad == "border") pad_ = GsPad::Border;
    else if (pad == "reflection") pad_ = GsPad::Reflection;
    else status_ = invalid("{}: unknown padding_mode '{}'", node.describe(), pad);
    align_corners_ = node.attr_int("align_corners", 0) != 0;
  }
  const Status& init_status() const { return status_; }

  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* grid = ctx.input_tensor(1);
    if (!x || !grid) return invalid("{}: inputs X and grid are required", node.describe());
    if (x->rank() != 4 && x->rank() != 5)
      return unsupported("{}: input X has shape {}; only 4-D (N, C, H, W) and 5-D (N, C, D, H, W) inputs are supported",
                         node.describe(), dims_string(x->dims()));
    const size_t nd = x->rank() - 2;  // spatial dims: 2 or 3
    if (nd == 3 && mode_ == GsMode::Bicubic)
      return unsupported("{}: cubic mode is supported for 4-D input only", node.describe());
    if (grid->rank() != x->rank() || grid->dims()[0] != x->dims()[0] || grid->dims().back() != static_cast<int64_t>(nd))
      return invalid("{}: grid has shape {}; want [{}, <{} output dims>, {}]", node.describe(),
                     dims_string(grid->dims()), x->dims()[0], nd, nd);
    if (!dtype_is_float(grid->dtype()))
      return invalid("{}: grid must be a float tensor, not {}", node.describe(), dtype_name(grid->dtype()));
    const int64_t n = x->dims()[0], c = x->dims()[1];
    // Input sizes and grid components in x, y(, z) order: the grid's last dim lists x first (the
    // innermost input dim).
    std::vector<int64_t> in_size(nd);
    for (size_t a = 0; a < nd; ++a) in_size[a] = x->dims()[x->rank() - 1 - a];
    int64_t in_plane = 1, out_plane = 1;
    for (size_t a = 0; a < nd; ++a) in_plane *= in_size[a];
    std::vector<int64_t> out_dims{n, c};
    for (size_t a = 1; a + 1 < grid->rank(); ++a) {
      out_dims.push_back(grid->dims()[a]);
      out_plane *= grid->dims()[a];
    }
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out_dims));
    bool known = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xp = x->data<T>();
      T* yp = y->mutable_data<T>();
      std::vector<double> lo(nd), hi(nd);
      for (size_t a = 0; a < nd; ++a) {
        lo[a] = align_corners_ ? 0 : -0.5;
        hi[a] = align_corners_ ? static_cast<double>(in_size[a]) - 1 : static_cast<double>(in_size[a]) - 0.5;
      }
      auto denorm = [&](double v, int64_t len) {
        return align_corners_ ? (v + 1) / 2 * static_cast<double>(len - 1)
                              : ((v + 1) * static_cast<double>(len) - 1) / 2;
      };
      std::vector<double> g(nd);
      std::vector<int64_t> idx(nd);
      for (int64_t in = 0; in < n; ++in) {
        for (int64_t op = 0; op < out_plane; ++op) {
          const int64_t gi = (in * out_plane + op) * static_cast<int64_t>(nd);
          bool outside = false, finite = true;
          for (size_t a = 0; a < nd; ++a) {
            g[a] = denorm(grid->get_double(gi + static_cast<int64_t>(a)), in_size[a]);
            if (mode_ == GsMode::Nearest) g[a] = std::nearbyint(g[a]);
            outside = outside || g[a] < lo[a] || g[a] > hi[a];
            finite = finite && std::isfinite(g[a]);
          }
          if (outside) {
            // Border clamps the coordinate for linear and nearest; cubic keeps it and clamps each
            // tap instead (as ONNX Runtime does). Reflection folds the coordinate back inside.
            for (size_t a = 0; a < nd; ++a) {
              if (pad_ == GsPad::Border && mode_ != GsMode::Bicubic)
                g[a] = std::clamp(g[a], 0.0, static_cast<double>(in_size[a] - 1));
              else if (pad_ == GsPad::Reflection)
                g[a] = reflect(g[a], lo[a], hi[a]);
            }
          }
          if (!finite) {
            for (int64_t ic = 0; ic < c; ++ic)
              yp[(in * c + ic) * out_plane + op] = from_acc<T>(std::numeric_limits<AccOf<T>>::quiet_NaN());
            continue;
          }
          // Far outside the input every tap reads zero padding; keep integer conversions in range.
          for (size_t a = 0; a < nd; ++a) g[a] = std::clamp(g[a], -4.0, static_cast<double>(in_size[a]) + 4);
          for (int64_t ic = 0; ic < c; ++ic) {
            const T* plane = xp + (in * c + ic) * in_plane;
            // The value at integer position idx (x, y(, z)) under the padding mode.
            auto pixel = [&](const std::vector<int64_t>& at) -> double {
              int64_t off = 0, stride = 1;
              for (size_t a = 0; a < nd; ++a) {
                int64_t p = at[a];
                if (pad_ == GsPad::Zeros) {
                  if (p < 0 || p >= in_size[a]) return 0.0;
                } else if (pad_ == GsPad::Reflection) {
                  p = static_cast<int64_t>(reflect(static_cast<double>(p), lo[a], hi[a]));
                }
                p = std::clamp<int64_t>(p, 0, in_size[a] - 1);
                off += p * stride;
                stride *= in_size[a];
              }
              return load_as<double>(plane[off]);
            };
            double v = 0;
            if (mode_ == GsMode::Nearest) {
              for (size_t a = 0; a < nd; ++a) idx[a] = static_cast<int64_t>(g[a]);
              v = pixel(idx);
            } else if (mode_ == GsMode::Bilinear) {
              // Sum over the 2^nd corners of the cell holding g.
              for (int corner = 0; corner < (1 << nd); ++corner) {
                double wgt = 1;
                for (size_t a = 0; a < nd; ++a) {
                  const double f = std::floor(g[a]);
                  const bool up = (corner >> a) & 1;
                  idx[a] = static_cast<int64_t>(f) + (up ? 1 : 0);
                  wgt *= up ? g[a] - f : 1 - (g[a] - f);
                }
                if (wgt != 0) v += wgt * pixel(idx);
              }
            } else {
              const int64_t x0 = static_cast<int64_t>(std::floor(g[0])) - 1;
              const int64_t y0 = static_cast<int64_t>(std::floor(g[1])) - 1;
              double cx[4], cy[4];
              cubic_coeffs(g[0] - static_cast<double>(x0) - 1, cx);
              cubic_coeffs(g[1] - static_cast<double>(y0) - 1, cy);
              for (int64_t i = 0; i < 4; ++i) {
                double row = 0;
                for (int64_t j = 0; j < 4; ++j) {
                  idx[0] = x0 + j;
                  idx[1] = y0 + i;
                  row += cx[j] * pixel(idx);
                }
                v += cy[i] * row;
              }
            }
            yp[(in * c + ic) * out_plane + op] = from_acc<T>(static_cast<AccOf<T>>(v));
          }
        }
      }
    });
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  Status status_;
  GsMode mode_ = GsMode::Bilinear;
  GsPad pad_ = GsPad::Zeros;
  bool align_corners_ = false;
};

}  // namespace

void register_grid_sample(KernelRegistry& r) {
  r.add(KernelDef{"", "GridSample", 16, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0,
                  checked_factory<GridSampleKernel>()});
}

}  // namespace ortool::rt::cpu::conv_family
