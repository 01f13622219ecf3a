// RoiAlign (avg/max, output_half_pixel at opset 10, coordinate_transformation_mode since 16), as ONNX Runtime computes it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"

namespace ortool::rt::cpu::conv_family {
namespace {

class RoiAlignKernel final : public Kernel {
 public:
  explicit RoiAlignKernel(const KernelInit& init) {
    const ir::Node& node = init.node;
    const std::string mode = node.attr_string("mode", "avg");
    if (mode != "avg" && mode != "max") status_ = invalid("{}: unknown mode '{}'", node.describe(), mode);
    max_ = mode == "max";
    out_h_ = node.attr_int("output_height", 1);
    out_w_ = node.attr_int("output_width", 1);
    sampling_ratio_ = node.attr_int("sampling_ratio", 0);
    spatial_scale_ = node.attr_float("spatial_scale", 1.f);
    const std::string ctm =
        node.attr_string("coordinate_transformation_mode", init.opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (ctm != "half_pixel" && ctm != "output_half_pixel")
      status_ = invalid("{}: unknown coordinate_transformation_mode '{}'", node.describe(), ctm);
    half_pixel_ = ctm == "half_pixel";
    if (out_h_ <= 0 || out_w_ <= 0)
      status_ = invalid("{}: output_height {} and output_width {} must be positive", node.describe(), out_h_, out_w_);
    if (sampling_ratio_ < 0)
      status_ = invalid("{}: sampling_ratio {} must not be negative", node.describe(), sampling_ratio_);
  }
  const Status& init_status() const { return status_; }

  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* rois = ctx.input_tensor(1);
    const Tensor* bidx = ctx.input_tensor(2);
    if (!x || !rois || !bidx) return invalid("{}: inputs X, rois and batch_indices are required", node.describe());
    if (x->rank() != 4)
      return invalid("{}: input X has shape {}; want N x C x H x W", node.describe(), dims_string(x->dims()));
    if (rois->rank() != 2 || rois->dims()[1] != 4 || rois->dtype() != x->dtype())
      return invalid("{}: rois is {} {}; want {} [num_rois, 4]", node.describe(), dtype_name(rois->dtype()),
                     dims_string(rois->dims()), dtype_name(x->dtype()));
    const int64_t num_rois = rois->dims()[0];
    if (!dtype_is_integer(bidx->dtype()) || bidx->rank() != 1 || bidx->dims()[0] != num_rois)
      return invalid("{}: batch_indices is {} {}; want int64 [{}]", node.describe(), dtype_name(bidx->dtype()),
                     dims_string(bidx->dims()), num_rois);
    const int64_t n = x->dims()[0], c = x->dims()[1], h = x->dims()[2], w = x->dims()[3];
    std::vector<int64_t> batch = bidx->to_int64_vector();
    for (int64_t i = 0; i < num_rois; ++i)
      if (batch[static_cast<size_t>(i)] < 0 || batch[static_cast<size_t>(i)] >= n)
        return invalid("{}: batch_indices[{}] = {} is outside [0, {})", node.describe(), i,
                       batch[static_cast<size_t>(i)], n);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), {num_rois, c, out_h_, out_w_}));
    bool known = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xp = x->data<T>();
      T* yp = y->mutable_data<T>();
      struct Sample {
        int64_t pos[4];
        double w[4];
      };
      for (int64_t ri = 0; ri < num_rois; ++ri) {
        const double offset = half_pixel_ ? 0.5 : 0.0;
        const double x1 = rois->get_double(ri * 4 + 0) * spatial_scale_ - offset;
        const double y1 = rois->get_double(ri * 4 + 1) * spatial_scale_ - offset;
        const double x2 = rois->get_double(ri * 4 + 2) * spatial_scale_ - offset;
        const double y2 = rois->get_double(ri * 4 + 3) * spatial_scale_ - offset;
        double roi_w = x2 - x1, roi_h = y2 - y1;
        if (!half_pixel_) {
          roi_w = std::max(roi_w, 1.0);
          roi_h = std::max(roi_h, 1.0);
        }
        const double bin_h = roi_h / static_cast<double>(out_h_), bin_w = roi_w / static_cast<double>(out_w_);
        auto grid = [&](double len, int64_t out) -> int64_t {
          if (sampling_ratio_ > 0) return sampling_ratio_;
          const double g = std::ceil(len / static_cast<double>(out));
          return std::isfinite(g) ? std::clamp<int64_t>(static_cast<int64_t>(std::max(g, 0.0)), 0, 1 << 16) : 0;
        };
        const int64_t grid_h = grid(roi_h, out_h_), grid_w = grid(roi_w, out_w_);
        const double count = static_cast<double>(std::max<int64_t>(grid_h * grid_w, 1));
        // Bilinear sample positions and weights of every bin, shared by all channels.
        std::vector<Sample> samples;
        samples.reserve(static_cast<size_t>(out_h_ * out_w_ * grid_h * grid_w));
        for (int64_t ph = 0; ph < out_h_; ++ph)
          for (int64_t pw = 0; pw < out_w_; ++pw)
            for (int64_t iy = 0; iy < grid_h; ++iy) {
              const double yy = y1 + static_cast<double>(ph) * bin_h +
                                (static_cast<double>(iy) + 0.5) * bin_h / static_cast<double>(grid_h);
              for (int64_t ix = 0; ix < grid_w; ++ix) {
                const double xx = x1 + static_cast<double>(pw) * bin_w +
                                  (static_cast<double>(ix) + 0.5) * bin_w / static_cast<double>(grid_w);
                Sample s{{0, 0, 0, 0}, {0, 0, 0, 0}};
                if (!(yy < -1.0 || yy > static_cast<double>(h) || xx < -1.0 || xx > static_cast<double>(w)) &&
                    h > 0 && w > 0) {
                  double sy = std::max(yy, 0.0), sx = std::max(xx, 0.0);
                  int64_t y_lo = static_cast<int64_t>(sy), x_lo = static_cast<int64_t>(sx), y_hi, x_hi;
                  if (y_lo >= h - 1) {
                    y_hi = y_lo = h - 1;
                    sy = static_cast<double>(y_lo);
                  } else {
                    y_hi = y_lo + 1;
                  }
                  if (x_lo >= w - 1) {
                    x_hi = x_lo = w - 1;
                    sx = static_cast<double>(x_lo);
                  } else {
                    x_hi = x_lo + 1;
                  }
                  const double ly = sy - static_cast<double>(y_lo), lx = sx - static_cast<double>(x_lo);
                  const double hy = 1 - ly, hx = 1 - lx;
                  s = Sample{{y_lo * w + x_lo, y_lo * w + x_hi, y_hi * w + x_lo, y_hi * w + x_hi},
                             {hy * hx, hy * lx, ly * hx, ly * lx}};
                }
                samples.push_back(s);
              }
            }
        const int64_t per_bin = grid_h * grid_w;
        for (int64_t ic = 0; ic < c; ++ic) {
          const T* plane = xp + (batch[static_cast<size_t>(ri)] * c + ic) * h * w;
          for (int64_t b = 0; b < out_h_ * out_w_; ++b) {
            double acc = 0;
            for (int64_t si = 0; si < per_bin; ++si) {
              const Sample& s = samples[static_cast<size_t>(b * per_bin + si)];
              if (max_) {
                double v = s.w[0] * load_as<double>(plane[s.pos[0]]);
                for (int k = 1; k < 4; ++k) v = std::max(v, s.w[k] * load_as<double>(plane[s.pos[k]]));
                acc = si == 0 ? v : std::max(acc, v);
              } else {
                for (int k = 0; k < 4; ++k) acc += s.w[k] * load_as<double>(plane[s.pos[k]]);
              }
            }
            if (!max_) acc /= count;
            yp[(ri * c + ic) * out_h_ * out_w_ + b] = from_acc<T>(static_cast<AccOf<T>>(acc));
          }
        }
      }
    });
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  Status status_;
  bool max_ = false;
  bool half_pixel_ = true;
  int64_t out_h_ = 1, out_w_ = 1, sampling_ratio_ = 0;
  double spatial_scale_ = 1;
};

}  // namespace

void register_roi_align(KernelRegistry& r) {
  r.add(KernelDef{"", "RoiAlign", 10, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0,
                  checked_factory<RoiAlignKernel>()});
}

}  // namespace ortool::rt::cpu::conv_family
