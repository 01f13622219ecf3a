// DepthToSpace (DCR and CRD modes) and SpaceToDepth: moving blocks between channels and the spatial plane.
#include <cstdint>
#include <cstring>
#include <vector>

#include "runtime/cpu/conv.h"
#include "runtime/cpu/dispatch.h"

namespace ortool::rt::cpu::conv_family {
namespace {

class SpaceDepthKernel final : public Kernel {
 public:
  SpaceDepthKernel(const KernelInit& init, bool to_space) : to_space_(to_space) {
    const ir::Node& node = init.node;
    block_ = node.attr_int("blocksize", 0);
    const std::string mode = node.attr_string("mode", "DCR");
    crd_ = mode == "CRD";
    if (!node.has_attr("blocksize"))
      status_ = invalid("{}: attribute blocksize is required", node.describe());
    else if (block_ <= 0)
      status_ = invalid("{}: blocksize {} must be positive", node.describe(), block_);
    else if (to_space_ && mode != "DCR" && mode != "CRD")
      status_ = invalid("{}: unknown mode '{}' (want DCR or CRD)", node.describe(), mode);
  }
  const Status& init_status() const { return status_; }

  Status run(KernelContext& ctx) override {
    TRY(status_);
    const ir::Node& node = ctx.node();
    const Tensor* x = ctx.input_tensor(0);
    if (!x) return invalid("{}: input is required", node.describe());
    if (x->rank() != 4) return invalid("{}: input has shape {}; want rank 4 (N, C, H, W)", node.describe(),
                                       dims_string(x->dims()));
    if (x->is_string()) return unsupported("{}: string tensors are not supported", node.describe());
    const int64_t n = x->dims()[0], c = x->dims()[1], h = x->dims()[2], w = x->dims()[3], b = block_;
    std::vector<int64_t> out_dims;
    if (to_space_) {
      if (c % (b * b) != 0)
        return invalid("{}: input has {} channels, not a multiple of blocksize^2 = {}", node.describe(), c, b * b);
      out_dims = {n, c / (b * b), h * b, w * b};
    } else {
      if (h % b != 0 || w % b != 0)
        return invalid("{}: input spatial dims {}x{} are not multiples of blocksize {}", node.describe(), h, w, b);
      out_dims = {n, c * b * b, h / b, w / b};
    }
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out_dims));
    bool known = dispatch_by_size(x->element_size(), [&](auto tag) {
      using E = typename decltype(tag)::type;
      const E* src = static_cast<const E*>(x->raw());
      E* dst = static_cast<E*>(y->raw_mutable());
      // Spatial side (small channels, large plane) and depth side (large channels, small plane).
      const int64_t cs = to_space_ ? out_dims[1] : c;
      const int64_t hs = to_space_ ? out_dims[2] : h, ws = to_space_ ? out_dims[3] : w;
      const int64_t hd = hs / b, wd = ws / b, cd = cs * b * b;
      for (int64_t in = 0; in < n; ++in)
        for (int64_t ic = 0; ic < cs; ++ic)
          for (int64_t bi = 0; bi < b; ++bi)
            for (int64_t bj = 0; bj < b; ++bj) {
              // Channel on the depth side holding block offset (bi, bj) of spatial channel ic.
              const int64_t dc = crd_ && to_space_ ? (ic * b + bi) * b + bj : (bi * b + bj) * cs + ic;
              for (int64_t ih = 0; ih < hd; ++ih)
                for (int64_t iw = 0; iw < wd; ++iw) {
                  const int64_t sp = ((in * cs + ic) * hs + ih * b + bi) * ws + iw * b + bj;
                  const int64_t dp = ((in * cd + dc) * hd + ih) * wd + iw;
                  if (to_space_)
                    dst[sp] = src[dp];
                  else
                    dst[dp] = src[sp];
                }
            }
    });
    if (!known) return unsupported("{}: element type {} is not supported", node.describe(), dtype_name(x->dtype()));
    return Status::ok();
  }

 private:
  bool to_space_;
  bool crd_ = false;
  int64_t block_ = 0;
  Status status_;
};

template <bool ToSpace>
KernelFactory space_depth_factory() {
  return [](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    auto k = std::make_unique<SpaceDepthKernel>(init, ToSpace);
    if (!k->init_status().is_ok()) return k->init_status();
    return std::unique_ptr<Kernel>(std::move(k));
  };
}

}  // namespace

void register_space_depth(KernelRegistry& r) {
  r.add("", "DepthToSpace", 1, INT32_MAX, space_depth_factory<true>());
  r.add("", "SpaceToDepth", 1, INT32_MAX, space_depth_factory<false>());
}

}  // namespace ortool::rt::cpu::conv_family
