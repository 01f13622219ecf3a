// The xnnpack provider's Concat of 4-D float tensors along channels, so fire modules and the like
// do not end an NHWC region.
//
// It is layout-free in the way the elementwise ops are (see xnn_layout.cpp): NHWC when its output
// and every input are NHWC or layout-neutral, NCHW otherwise. NHWC concatenation along channels
// interleaves the inputs pixel by pixel; NCHW concatenation copies one block per image and input.
// No XNNPACK operator: plain copies, split over images (NCHW) or pixel ranges (NHWC) on the pool.
#include <algorithm>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt::xnn_ep {

namespace {

struct CopyJob {
  const float* src;
  float* dst;
  size_t rows;        // NHWC: pixels; NCHW: images
  size_t src_stride;  // floats per row in src
  size_t dst_stride;  // floats per row in dst
  size_t width;       // floats copied per row
};

void copy_rows(void* ctx, size_t r0, size_t count) {
  const auto& j = *static_cast<const CopyJob*>(ctx);
  for (size_t r = r0; r < r0 + count; ++r)
    std::memcpy(j.dst + r * j.dst_stride, j.src + r * j.src_stride, j.width * sizeof(float));
}

class XnnConcatKernel final : public Kernel {
 public:
  XnnConcatKernel(std::string what, ThreadPoolPtr pool, Layout layout)
      : what_(std::move(what)), pool_(std::move(pool)), layout_(std::move(layout)) {}

  Status run(KernelContext& ctx) override {
    std::vector<const Tensor*> ins;
    int64_t channels = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor* t = ctx.input_tensor(i);
      if (!t || t->dtype() != DType::Float || t->rank() != 4)
        return invalid("{}: input {} is not a 4-D float tensor", what_, i);
      const auto& d0 = ins.empty() ? t->dims() : ins.front()->dims();
      if (t->dims()[0] != d0[0] || t->dims()[2] != d0[2] || t->dims()[3] != d0[3])
        return invalid("{}: input {} has shape [{}], which does not match [{}] outside the channels", what_, i,
                       fmt::join(t->dims(), ", "), fmt::join(d0, ", "));
      ins.push_back(t);
      channels += t->dims()[1];
    }
    if (ins.empty()) return invalid("{}: no inputs", what_);
    const auto& d = ins.front()->dims();
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, {d[0], channels, d[2], d[3]}));
    if (y->numel() == 0) return Status::ok();
    const size_t n = static_cast<size_t>(d[0]), hw = static_cast<size_t>(d[2] * d[3]);
    size_t offset = 0;  // channels before this input
    for (size_t i = 0; i < ins.size(); ++i) {
      const size_t c = static_cast<size_t>(ins[i]->dims()[1]);
      if (c == 0) continue;
      const bool nhwc = layout_.out_nhwc;  // inputs not stored NHWC are layout-neutral then
      CopyJob j{ins[i]->data<float>(),
                y->mutable_data<float>() + offset * (nhwc ? 1 : hw),
                nhwc ? n * hw : n,
                nhwc ? c : c * hw,
                static_cast<size_t>(channels) * (nhwc ? 1 : hw),
                nhwc ? c : c * hw};
      pthreadpool_parallelize_1d_tile_1d(pool_.get(), copy_rows, &j, j.rows, std::max<size_t>(1, 4096 / j.width + 1), 0);
      offset += c;
    }
    return Status::ok();
  }

 private:
  std::string what_;
  ThreadPoolPtr pool_;
  Layout layout_;
};

}  // namespace

std::optional<XnnClaim> claim_concat(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool) {
  (void)view;
  if (node.num_inputs() < 1 || node.num_outputs() != 1 || !node.output(0) || !node.has_attr("axis")) return std::nullopt;
  const int64_t axis = node.attr_int("axis", 0);
  if (axis != 1 && axis != -3) return std::nullopt;
  // Declared 4-D float inputs only: no cpu fallback for other types or ranks.
  for (const ir::Value* v : node.inputs())
    if (!v || !v->type.is_tensor() || v->type.elem != DType::Float || !v->type.shape || v->type.shape->size() != 4)
      return std::nullopt;
  XnnClaim out;
  out.elementwise = true;  // layout-free in the placement's sense
  out.claim.nodes = {&node};
  out.claim.factory = [what = node.describe(), pool, layout = out.layout](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<XnnConcatKernel>(what, pool, *layout));
  };
  return out;
}

}  // namespace ortool::rt::xnn_ep
