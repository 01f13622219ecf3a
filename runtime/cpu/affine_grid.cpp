// AffineGrid (opset 20): the sampling grid of theta (N x 2 x 3, or N x 3 x 4 for volumes) over an
// output of `size` (N, C, H, W or N, C, D, H, W), in GridSample's normalized [-1, 1] coordinates.
#include <cstdint>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"

namespace ortool::rt::cpu::conv_family {
namespace {

class AffineGridKernel final : public Kernel {
 public:
  explicit AffineGridKernel(const KernelInit& init) { align_corners_ = init.node.attr_int("align_corners", 0) != 0; }
  const Status& init_status() const { return status_; }

  Status run(KernelContext& ctx) override {
    const ir::Node& node = ctx.node();
    const Tensor* theta = ctx.input_tensor(0);
    const Tensor* size = ctx.input_tensor(1);
    if (!theta || !size) return invalid("{}: inputs theta and size are required", node.describe());
    if (!dtype_is_integer(size->dtype()) || size->rank() != 1 || (size->numel() != 4 && size->numel() != 5))
      return invalid("{}: size {} must be a 1-D integer tensor of 4 (N, C, H, W) or 5 (N, C, D, H, W) values",
                     node.describe(), dims_string(size->dims()));
    const std::vector<int64_t> sz = size->to_int64_vector();
    const int64_t nd = size->numel() - 2;  // 2 or 3 spatial dims
    for (int64_t v : sz)
      if (v < 0) return invalid("{}: size {} has a negative dim", node.describe(), dims_string(sz));
    if (theta->rank() != 3 || theta->dims()[0] != sz[0] || theta->dims()[1] != nd || theta->dims()[2] != nd + 1)
      return invalid("{}: theta has shape {}; want [{}, {}, {}]", node.describe(), dims_string(theta->dims()), sz[0], nd,
                     nd + 1);
    // Spatial sizes in x, y(, z) order: W, H(, D).
    std::vector<int64_t> spatial(sz.rbegin(), sz.rbegin() + nd);
    std::vector<int64_t> out_dims{sz[0]};
    for (int64_t i = 2; i < size->numel(); ++i) out_dims.push_back(sz[static_cast<size_t>(i)]);
    out_dims.push_back(nd);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, theta->dtype(), out_dims));
    auto coord = [&](int64_t i, int64_t len) {
      if (align_corners_) return len > 1 ? -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(len - 1) : 0.0;
      return (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(len) - 1.0;
    };
    bool known = dispatch_float(theta->dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = y->mutable_data<T>();
      int64_t points = 1;
      for (int64_t s : spatial) points *= s;
      for (int64_t n = 0; n < sz[0]; ++n) {
        const int64_t tb = n * nd * (nd + 1);
        for (int64_t p = 0; p < points; ++p) {
          // p runs over (D,) H, W in row-major order: x is the fastest index.
          double base[3] = {0, 0, 0};
          int64_t rem = p;
          for (int64_t a = 0; a < nd; ++a) {
            base[a] = coord(rem % spatial[static_cast<size_t>(a)], spatial[static_cast<size_t>(a)]);
            rem /= spatial[static_cast<size_t>(a)];
          }
          for (int64_t r = 0; r < nd; ++r) {
            double v = theta->get_double(tb + r * (nd + 1) + nd);
            for (int64_t a = 0; a < nd; ++a) v += theta->get_double(tb + r * (nd + 1) + a) * base[a];
            out[(n * points + p) * nd + r] = from_acc<T>(static_cast<AccOf<T>>(v));
          }
        }
      }
    });
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(theta->dtype()));
    return Status::ok();
  }

 private:
  Status status_;
  bool align_corners_ = false;
};

}  // namespace

void register_affine_grid(KernelRegistry& r) {
  r.add(KernelDef{"", "AffineGrid", 20, INT32_MAX, {DType::Float, DType::Double, DType::Float16, DType::BFloat16}, 0,
                  checked_factory<AffineGridKernel>()});
}

}  // namespace ortool::rt::cpu::conv_family
