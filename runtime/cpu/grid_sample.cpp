// GridSample (2-D): samples N x C x H x W input at normalized grid points; bilinear/nearest/bicubic, zeros/border/reflection.
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
    if (x->rank() != 4)
      return unsupported("{}: input X has shape {}; only 4-D (N, C, H, W) input is supported", node.describe(),
                         dims_string(x->dims()));
    if (grid->rank() != 4 || grid->dims()[0] != x->dims()[0] || grid->dims()[3] != 2)
      return invalid("{}: grid has shape {}; want [{}, H_out, W_out, 2]", node.describe(), dims_string(grid->dims()),
                     x->dims()[0]);
    if (!dtype_is_float(grid->dtype()))
      return invalid("{}: grid must be a float tensor, not {}", node.describe(), dtype_name(grid->dtype()));
    const int64_t n = x->dims()[0], c = x->dims()[1], h = x->dims()[2], w = x->dims()[3];
    const int64_t ho = grid->dims()[1], wo = grid->dims()[2];
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), {n, c, ho, wo}));
    bool known = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xp = x->data<T>();
      T* yp = y->mutable_data<T>();
      const double x_min = align_corners_ ? 0 : -0.5, y_min = x_min;
      const double x_max = align_corners_ ? static_cast<double>(w) - 1 : static_cast<double>(w) - 0.5;
      const double y_max = align_corners_ ? static_cast<double>(h) - 1 : static_cast<double>(h) - 0.5;
      auto denorm = [&](double v, int64_t len) {
        return align_corners_ ? (v + 1) / 2 * static_cast<double>(len - 1)
                              : ((v + 1) * static_cast<double>(len) - 1) / 2;
      };
      for (int64_t in = 0; in < n; ++in) {
        for (int64_t oy = 0; oy < ho; ++oy) {
          for (int64_t ox = 0; ox < wo; ++ox) {
            const int64_t gi = ((in * ho + oy) * wo + ox) * 2;
            double gx = denorm(grid->get_double(gi), w);
            double gy = denorm(grid->get_double(gi + 1), h);
            if (mode_ == GsMode::Nearest) {
              gx = std::nearbyint(gx);
              gy = std::nearbyint(gy);
            }
            if (gx < x_min || gx > x_max || gy < y_min || gy > y_max) {
              if (pad_ == GsPad::Border) {
                gx = std::clamp(gx, 0.0, static_cast<double>(w - 1));
                gy = std::clamp(gy, 0.0, static_cast<double>(h - 1));
              } else if (pad_ == GsPad::Reflection) {
                gx = reflect(gx, x_min, x_max);
                gy = reflect(gy, y_min, y_max);
              }
            }
            if (!std::isfinite(gx) || !std::isfinite(gy)) {
              for (int64_t ic = 0; ic < c; ++ic)
                yp[((in * c + ic) * ho + oy) * wo + ox] = from_acc<T>(std::numeric_limits<AccOf<T>>::quiet_NaN());
              continue;
            }
            // Far outside the input every tap reads zero padding; keep integer conversions in range.
            gx = std::clamp(gx, -4.0, static_cast<double>(w) + 4);
            gy = std::clamp(gy, -4.0, static_cast<double>(h) + 4);
            for (int64_t ic = 0; ic < c; ++ic) {
              const T* plane = xp + (in * c + ic) * h * w;
              auto pixel = [&](int64_t r, int64_t col) -> double {
                if (pad_ == GsPad::Zeros) {
                  if (col < 0 || col >= w || r < 0 || r >= h) return 0.0;
                } else if (pad_ == GsPad::Border) {
                  col = std::clamp<int64_t>(col, 0, w - 1);
                  r = std::clamp<int64_t>(r, 0, h - 1);
                } else {
                  col = static_cast<int64_t>(reflect(static_cast<double>(col), x_min, x_max));
                  r = static_cast<int64_t>(reflect(static_cast<double>(r), y_min, y_max));
                  col = std::clamp<int64_t>(col, 0, w - 1);
                  r = std::clamp<int64_t>(r, 0, h - 1);
                }
                return load_as<double>(plane[r * w + col]);
              };
              double v = 0;
              if (mode_ == GsMode::Nearest) {
                v = pixel(static_cast<int64_t>(gy), static_cast<int64_t>(gx));
              } else if (mode_ == GsMode::Bilinear) {
                const int64_t x1 = static_cast<int64_t>(std::floor(gx)), y1 = static_cast<int64_t>(std::floor(gy));
                const double dx1 = gx - static_cast<double>(x1), dx2 = 1 - dx1;
                const double dy1 = gy - static_cast<double>(y1), dy2 = 1 - dy1;
                v = dy2 * (dx2 * pixel(y1, x1) + dx1 * pixel(y1, x1 + 1)) +
                    dy1 * (dx2 * pixel(y1 + 1, x1) + dx1 * pixel(y1 + 1, x1 + 1));
              } else {
                const int64_t x0 = static_cast<int64_t>(std::floor(gx)) - 1;
                const int64_t y0 = static_cast<int64_t>(std::floor(gy)) - 1;
                double cx[4], cy[4];
                cubic_coeffs(gx - static_cast<double>(x0) - 1, cx);
                cubic_coeffs(gy - static_cast<double>(y0) - 1, cy);
                for (int64_t i = 0; i < 4; ++i) {
                  double row = 0;
                  for (int64_t j = 0; j < 4; ++j) row += cx[j] * pixel(y0 + i, x0 + j);
                  v += cy[i] * row;
                }
              }
              yp[((in * c + ic) * ho + oy) * wo + ox] = from_acc<T>(static_cast<AccOf<T>>(v));
            }
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
