// The dnnl provider's standalone inference BatchNormalization (one no conv could fold: DenseNet's norm after
// each Concat, pre-activation ResNets), with a Relu that alone reads it, on float 4-D tensors inside an
// NHWC region: y = x * a + b per channel with the reference kernel's coefficients (cpu::batch_norm_affine),
// then Relu. On the cpu provider such a node broke the region: its input and output went NCHW, with a
// reorder at every conv and concat around it (densenet121: 62 of them).
#include <algorithm>
#include <memory>
#include <vector>

#include "runtime/claim_util.h"
#include "runtime/cpu/batch_norm_affine.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"
#include "runtime/thread_pool.h"

namespace ortool::rt::dnnl_ep {

namespace {

struct BatchNormSpec {
  std::vector<const ir::Node*> nodes;  // the BatchNormalization, then the fused Relu
  std::string what;
  std::vector<float> a, b;  // y = x * a[c] + b[c]
  bool relu = false;
  std::shared_ptr<Layouts> layouts = std::make_shared<Layouts>();
};

// y[i] = x[i] * a[i] + b[i] (the reference's expression, so the compiler contracts it alike), then Relu.
// x and y may be the same buffer (the output reuses a dying input), so they are not restrict.
template <bool Relu>
void affine_row(const float* x, float* y, const float* __restrict a, const float* __restrict b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] * a[i] + b[i];
    y[i] = Relu ? (v < 0.0f ? 0.0f : v) : v;
  }
}
template <bool Relu>
void affine_plane(const float* x, float* y, float a, float b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] * a + b;
    y[i] = Relu ? (v < 0.0f ? 0.0f : v) : v;
  }
}

class DnnlBatchNormKernel final : public Kernel {
 public:
  explicit DnnlBatchNormKernel(std::shared_ptr<const BatchNormSpec> spec) : spec_(std::move(spec)) {}

  Status run(KernelContext& ctx) override {
    const BatchNormSpec& s = *spec_;
    const Tensor* x = ctx.input_tensor(0);
    const int64_t channels = static_cast<int64_t>(s.a.size());
    if (!x || x->dtype() != DType::Float || x->rank() != 4 || x->dims()[1] != channels)
      return invalid("{}: input X is not a float [N, {}, H, W] tensor, as its producing step writes", s.what, channels);
    ASSIGN_OR_RETURN(Tensor * y, ctx.reuse_input_or_allocate(0, 0, DType::Float, x->dims()));
    const int64_t n = x->dims()[0], hw = x->dims()[2] * x->dims()[3];
    const float* xd = x->data<float>();
    float* yd = y->mutable_data<float>();
    // The input and output share their layout (the claim's same_layout): rows are pixels of `channels` values
    // (NHWC) or planes of `hw` values of one channel (NCHW).
    const bool nhwc = s.layouts->input_nhwc(0);
    const int64_t rows = nhwc ? n * hw : n * channels, row = nhwc ? channels : hw;
    auto work = [&](size_t r0, size_t r1) {
      for (int64_t r = static_cast<int64_t>(r0); r < static_cast<int64_t>(r1); ++r) {
        const float* xr = xd + r * row;
        float* yr = yd + r * row;
        if (nhwc) {
          if (s.relu) affine_row<true>(xr, yr, s.a.data(), s.b.data(), row);
          else affine_row<false>(xr, yr, s.a.data(), s.b.data(), row);
        } else {
          const size_t c = static_cast<size_t>(r % channels);
          if (s.relu) affine_plane<true>(xr, yr, s.a[c], s.b[c], row);
          else affine_plane<false>(xr, yr, s.a[c], s.b[c], row);
        }
      }
    };
    // Chunks of at least ~16k values: smaller ones cost more to hand out than they save.
    const size_t min_rows = static_cast<size_t>(std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, row)));
    ThreadPool* pool = ctx.threads();
    if (pool && pool->size() > 1 && static_cast<size_t>(rows) > min_rows)
      pool->parallel_for(static_cast<size_t>(rows), work, min_rows);
    else
      work(0, static_cast<size_t>(rows));
    return Status::ok();
  }

 private:
  std::shared_ptr<const BatchNormSpec> spec_;
};

}  // namespace

std::optional<DnnlClaim> claim_batch_norm(const GraphView& view, const ir::Node& node, int threads) {
  (void)threads;  // the kernel splits rows over the session's own threads
  if (node.num_inputs() != 5 || !node.input(0) || !node.output(0)) return std::nullopt;
  for (size_t i = 1; i < node.num_outputs(); ++i)
    if (node.output(i)) return std::nullopt;  // the training outputs are the reference kernel's job
  const int64_t opset = view.opset(node);
  if (opset >= 14 && node.attr_int("training_mode", 0) != 0) return std::nullopt;
  if (opset < 9 && node.attr_int("spatial", 1) == 0) return std::nullopt;
  TensorPtr params[4];
  for (size_t i = 0; i < 4; ++i) {
    params[i] = fixed_tensor(view, node.input(i + 1));
    if (!params[i] || params[i]->rank() != 1 || params[i]->numel() != params[0]->numel() ||
        (params[i]->dtype() != DType::Float && params[i]->dtype() != DType::Double))
      return std::nullopt;
  }
  auto spec = std::make_shared<BatchNormSpec>();
  spec->nodes = {&node};
  cpu::batch_norm_affine(*params[0], *params[1], *params[2], *params[3], node.attr_float("epsilon", 1e-5f), spec->a,
                         spec->b);
  if (const ir::Node* r = sole_reader(view, node.output(0)); r && ir::is_op(*r, "Relu") && r->output(0)) {
    const ir::Node* group[] = {&node, r};
    if (view.read_only_by(*node.output(0), group)) {  // not when the value is watched (layerwise compare)
      spec->nodes.push_back(r);
      spec->relu = true;
    }
  }
  spec->what = describe_nodes(spec->nodes);
  DnnlClaim dc;
  dc.layouts = spec->layouts;
  dc.nhwc_ok = {true, false, false, false, false};
  dc.out_nhwc_ok = true;
  dc.same_layout = true;
  dc.claim.nodes = spec->nodes;
  dc.claim.factory = [spec](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<DnnlBatchNormKernel>(spec));
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
