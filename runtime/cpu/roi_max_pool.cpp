// MaxRoiPool: max over each of pooled_shape bins of every region of interest (Caffe's ROI pooling).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"

namespace ortool::rt::cpu::conv_family {
namespace {

class MaxRoiPoolKernel final : public Kernel {
 public:
  explicit MaxRoiPoolKernel(const KernelInit& init) {
    const ir::Node& node = init.node;
    pooled_ = node.attr_ints("pooled_shape");
    spatial_scale_ = node.attr_float("spatial_scale", 1.f);
    if (pooled_.size() != 2 || pooled_[0] <= 0 || pooled_[1] <= 0)
      status_ = invalid("{}: pooled_shape {} must be two positive values", node.describe(), dims_string(pooled_));
  }
  const Status& init_status() const { return status_; }

  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    const Tensor* rois = ctx.input_tensor(1);
    if (!x || !rois) return invalid("{}: inputs X and rois are required", node.describe());
    if (x->rank() != 4)
      return invalid("{}: input X has shape {}; want N x C x H x W", node.describe(), dims_string(x->dims()));
    if (rois->rank() != 2 || rois->dims()[1] != 5 || rois->dtype() != x->dtype())
      return invalid("{}: rois is {} {}; want {} [num_rois, 5]", node.describe(), dtype_name(rois->dtype()),
                     dims_string(rois->dims()), dtype_name(x->dtype()));
    const int64_t n = x->dims()[0], c = x->dims()[1], h = x->dims()[2], w = x->dims()[3];
    const int64_t num_rois = rois->dims()[0], ph_n = pooled_[0], pw_n = pooled_[1];
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), {num_rois, c, ph_n, pw_n}));
    Status st = Status::ok();
    bool known = dispatch_float(x->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* xp = x->data<T>();
      T* yp = y->mutable_data<T>();
      auto coord = [&](int64_t i) {
        const double v = std::round(rois->get_double(i) * spatial_scale_);
        return static_cast<int64_t>(std::clamp(v, -1e15, 1e15));
      };
      for (int64_t ri = 0; ri < num_rois; ++ri) {
        const double bd = rois->get_double(ri * 5);
        if (!(bd >= 0 && bd < static_cast<double>(n))) {
          st = invalid("{}: rois[{}] names batch {} outside [0, {})", node.describe(), ri, bd, n);
          return;
        }
        const int64_t b = static_cast<int64_t>(bd);
        const int64_t x1 = coord(ri * 5 + 1), y1 = coord(ri * 5 + 2), x2 = coord(ri * 5 + 3), y2 = coord(ri * 5 + 4);
        const int64_t roi_h = std::max<int64_t>(y2 - y1 + 1, 1), roi_w = std::max<int64_t>(x2 - x1 + 1, 1);
        const double bin_h = static_cast<double>(roi_h) / static_cast<double>(ph_n);
        const double bin_w = static_cast<double>(roi_w) / static_cast<double>(pw_n);
        for (int64_t ic = 0; ic < c; ++ic) {
          const T* plane = xp + (b * c + ic) * h * w;
          for (int64_t ph = 0; ph < ph_n; ++ph) {
            const int64_t hs = std::clamp<int64_t>(static_cast<int64_t>(std::floor(ph * bin_h)) + y1, 0, h);
            const int64_t he = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((ph + 1) * bin_h)) + y1, 0, h);
            for (int64_t pw = 0; pw < pw_n; ++pw) {
              const int64_t ws = std::clamp<int64_t>(static_cast<int64_t>(std::floor(pw * bin_w)) + x1, 0, w);
              const int64_t we = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((pw + 1) * bin_w)) + x1, 0, w);
              double m = 0;
              if (he > hs && we > ws) {
                m = -std::numeric_limits<double>::infinity();
                for (int64_t yy = hs; yy < he; ++yy)
                  for (int64_t xx = ws; xx < we; ++xx) m = std::max(m, load_as<double>(plane[yy * w + xx]));
              }
              yp[((ri * c + ic) * ph_n + ph) * pw_n + pw] = from_acc<T>(static_cast<AccOf<T>>(m));
            }
          }
        }
      }
    });
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return st;
  }

 private:
  Status status_;
  std::vector<int64_t> pooled_;
  double spatial_scale_ = 1;
};

}  // namespace

void register_roi_max_pool(KernelRegistry& r) {
  r.add(KernelDef{"", "MaxRoiPool", 1, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0,
                  checked_factory<MaxRoiPoolKernel>()});
}

}  // namespace ortool::rt::cpu::conv_family
