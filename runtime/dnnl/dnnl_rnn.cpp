// The dnnl provider's RNN, GRU and LSTM: the cpu provider's float path (rnn_fast.cpp) with oneDNN's
// sgemm for the input projection of all steps (AVX-512 where the machine has it; Eigen's products
// in this build stop at AVX2). ONNX's attributes (activations, clip, sequence lengths, peepholes,
// linear_before_reset) are the float path's; a run whose X is not float32 takes the cpu kernel.
#include <memory>

#include "runtime/cpu/rnn.h"
#include "runtime/dnnl/dnnl_common.h"

namespace ortool::rt::dnnl_ep {

namespace {

class RecurrentKernel final : public Kernel {
 public:
  RecurrentKernel(const KernelInit& init, cpu::RnnConfig cfg) : cfg_(std::move(cfg)), fallback_(init) {}

  Status run(KernelContext& ctx) override {
    const Tensor* x = ctx.input_tensor(0);
    if (!x || x->dtype() != DType::Float) return fallback_.run(ctx, x ? x->dtype() : DType::Undefined);
    use_threads(ctx);
    const std::string& what = ctx.node().describe();
    return cpu::run_recurrent_f32(ctx, cfg_, [&](int64_t m, int64_t n, int64_t k, const float* a, const float* b,
                                                 float* c) -> Status {
      const dnnl_status_t st = dnnl_sgemm('N', 'T', m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
      if (st != dnnl_success) return unsupported("{}: oneDNN sgemm failed (status {})", what, static_cast<int>(st));
      return Status::ok();
    });
  }

 private:
  cpu::RnnConfig cfg_;
  CpuFallback fallback_;
};

}  // namespace

std::optional<DnnlClaim> claim_recurrent(const GraphView& view, const ir::Node& node) {
  (void)view;
  const std::string& op = node.op_type();
  const cpu::RnnCellKind cell = op == "LSTM" ? cpu::RnnCellKind::Lstm
                                : op == "GRU" ? cpu::RnnCellKind::Gru
                                              : cpu::RnnCellKind::Simple;
  const ir::Value* x = node.num_inputs() > 0 ? node.input(0) : nullptr;
  if (!x || (x->type.is_tensor() && x->type.elem != DType::Float && x->type.elem != DType::Undefined))
    return std::nullopt;
  auto cfg = cpu::parse_rnn_config(node, cell);
  if (!cfg.is_ok()) return std::nullopt;
  DnnlClaim dc;
  dc.nhwc_ok.assign(node.num_inputs(), false);
  dc.claim.nodes = {&node};
  dc.claim.factory = [c = *cfg](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<RecurrentKernel>(init, c));
  };
  return dc;
}

}  // namespace ortool::rt::dnnl_ep
