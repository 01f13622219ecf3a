// The dnnl provider's Resize (and Upsample) between its steps: the cpu provider's fast nearest/linear
// path run on the region's NHWC tensors, so an FPN's upsampling keeps the region in NHWC order.
//
// Claimed only when the data input comes from a dnnl step that writes a float 4-D tensor and the
// mode is one the fast path takes (nearest or linear, no antialias, no crop). A run whose geometry
// the fast path declines after all (scales that resize N or C) takes the reference interpolation
// on an NCHW copy.
#include <memory>

#include "runtime/cpu/resize.h"
#include "runtime/dnnl/dnnl_common.h"

namespace ortool::rt::dnnl_ep {

namespace {

namespace rz = cpu::resize;

struct ResizeSpec {
  rz::Attrs attrs;
  std::string what;
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
};

// Copies a [N, C, H, W] tensor between NCHW and NHWC orders (to_nhwc: from NCHW to NHWC).
void relayout(const float* src, float* dst, const std::vector<int64_t>& d, bool to_nhwc) {
  const int64_t n = d[0], c = d[1], hw = d[2] * d[3];
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t p = 0; p < hw; ++p) {
        const int64_t nchw = (b * c + k) * hw + p, nhwc = (b * hw + p) * c + k;
        if (to_nhwc) dst[nhwc] = src[nchw];
        else dst[nchw] = src[nhwc];
      }
}

class ResizeKernel final : public Kernel {
 public:
  explicit ResizeKernel(std::shared_ptr<const ResizeSpec> spec) : spec_(std::move(spec)) {}

  Status run(KernelContext& ctx) override {
    const ResizeSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    if (!x || x->dtype() != DType::Float || x->rank() != 4)
      return invalid("{}: input is not a float 4-D tensor, as its producing step writes", s.what);
    ASSIGN_OR_RETURN(rz::Geometry g, rz::geometry(s.attrs, ctx));
    const bool in_nhwc = s.layouts->input_nhwc(0), out_nhwc = s.layouts->out_nhwc;
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, g.out, KernelContext::Fill::Uninitialized));
    if (y->numel() == 0) return Status::ok();
    rz::build_taps(s.attrs, g);
    if (auto plan = rz::plan_2d(g, x->dims(), in_nhwc)) {
      if (in_nhwc == out_nhwc) {
        rz::run_2d(*plan, x->data<float>(), y->mutable_data<float>(), ctx.threads());
        return Status::ok();
      }
      Tensor tmp(DType::Float, g.out);
      rz::run_2d(*plan, x->data<float>(), tmp.mutable_data<float>(), ctx.threads());
      relayout(tmp.data<float>(), y->mutable_data<float>(), g.out, out_nhwc);
      return Status::ok();
    }
    Tensor plain(DType::Float, x->dims());
    if (in_nhwc) relayout(x->data<float>(), plain.mutable_data<float>(), x->dims(), false);
    const Tensor& src = in_nhwc ? plain : *x;
    Tensor out(DType::Float, g.out);
    TRY(rz::interpolate(s.attrs, g, src, out, ctx.node()));
    if (out_nhwc) relayout(out.data<float>(), y->mutable_data<float>(), g.out, true);
    else std::copy(out.data<float>(), out.data<float>() + out.numel(), y->mutable_data<float>());
    return Status::ok();
  }

 private:
  std::shared_ptr<const ResizeSpec> spec_;
};

}  // namespace

std::optional<DnnlClaim> claim_resize(const GraphView& view, const ir::Node& node) {
  const bool upsample = ir::is_op(node, "Upsample");
  const int64_t opset = view.opset(node);
  if (node.num_inputs() == 0 || !node.input(0) || node.num_outputs() != 1 || !node.output(0)) return std::nullopt;
  if (upsample && opset < 7) return std::nullopt;
  auto attrs = rz::parse_attrs(node, opset, upsample);
  if (!attrs.is_ok()) return std::nullopt;
  const rz::Attrs& a = *attrs;
  if (a.mode == rz::Mode::Cubic || a.antialias || a.coord == rz::Coord::TfCropAndResize || !a.axes.empty())
    return std::nullopt;
  auto spec = std::make_shared<ResizeSpec>();
  spec->attrs = a;
  spec->what = node.describe();
  DnnlClaim dc;
  dc.layouts = spec->layouts;
  dc.nhwc_ok.assign(node.num_inputs(), false);
  dc.nhwc_ok[0] = true;
  dc.out_nhwc_ok = true;
  dc.claim.nodes = {&node};
  dc.claim.factory = [spec](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<ResizeKernel>(spec));
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
