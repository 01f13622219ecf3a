// com.microsoft QGemm: 8-bit Gemm with zero points, an int32 bias at a_scale x b_scale, and an 8-bit
// (with y_scale) or float output: y = alpha * a_scale * b_scale[n] * (sum_k (a - az)(b - bz[n]) + C).
#include <cmath>

#include "runtime/cpu/qlinear.h"

namespace ortool::rt::cpu::qlinear {

namespace {

class QGemmKernel final : public Kernel {
 public:
  explicit QGemmKernel(const KernelInit& init)
      : trans_a_(init.node.attr_int("transA", 0) != 0),
        trans_b_(init.node.attr_int("transB", 0) != 0),
        alpha_(init.node.attr_float("alpha", 1.0f)) {}

  Status run(KernelContext& ctx) override {
    const ir::Node& n = ctx.node();
    ASSIGN_OR_RETURN(const Tensor* a, q8_input(ctx, 0, "A"));
    ASSIGN_OR_RETURN(const Tensor* b, q8_input(ctx, 3, "B"));
    if (a->rank() != 2 || b->rank() != 2)
      return invalid("{}: inputs 'A' and 'B' must be 2-D", n.describe());
    const int64_t M = trans_a_ ? a->dims()[1] : a->dims()[0], K = trans_a_ ? a->dims()[0] : a->dims()[1];
    const int64_t KB = trans_b_ ? b->dims()[1] : b->dims()[0], N = trans_b_ ? b->dims()[0] : b->dims()[1];
    if (K != KB) return invalid("{}: inner dims differ ({} and {})", n.describe(), K, KB);
    ASSIGN_OR_RETURN(QParam pa, read_param(ctx, 1, 2, a->dtype(), "A"));
    // B's scale and zero point: one value, or one per column.
    const Tensor* bs = ctx.input_tensor(4);
    const Tensor* bz = ctx.input_tensor(5);
    if (!bs || bs->dtype() != DType::Float || (bs->numel() != 1 && bs->numel() != N))
      return invalid("{}: b_scale must be float32 with 1 or {} values", n.describe(), N);
    if (bz && (bz->dtype() != b->dtype() || bz->numel() != bs->numel()))
      return invalid("{}: b_zero_point must match b_scale in size and B in type", n.describe());
    const Tensor* c = ctx.input_tensor(6);
    if (c && (c->dtype() != DType::Int32 || !(c->numel() == 1 || c->numel() == N || c->numel() == M * N)))
      return invalid("{}: C must be int32 broadcastable to [{}, {}]", n.describe(), M, N);
    const bool quantized_out = ctx.input_tensor(7) != nullptr;
    const Tensor* yz = ctx.input_tensor(8);
    const DType out_type = quantized_out ? (yz ? yz->dtype() : a->dtype()) : DType::Float;
    QParam py;
    if (quantized_out) {
      if (out_type != DType::UInt8 && out_type != DType::Int8)
        return invalid("{}: y_zero_point must be uint8 or int8", n.describe());
      ASSIGN_OR_RETURN(py, read_param(ctx, 7, 8, out_type, "Y"));
    }
    auto at = [&](const Tensor* t, int64_t i) { return t->get_int64(i); };
    std::vector<float> y(static_cast<size_t>(M * N));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t j = 0; j < N; ++j) {
        const int64_t pc = bs->numel() == 1 ? 0 : j;
        const int64_t zb = bz ? at(bz, pc) : 0;
        int64_t acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t av = at(a, trans_a_ ? k * M + m : m * K + k) - pa.zero_point;
          const int64_t bv = at(b, trans_b_ ? j * K + k : k * N + j) - zb;
          acc += av * bv;
        }
        if (c) acc += c->numel() == 1 ? at(c, 0) : c->numel() == N ? at(c, j) : at(c, m * N + j);
        y[static_cast<size_t>(m * N + j)] = alpha_ * pa.scale * bs->data<float>()[pc] * static_cast<float>(acc);
      }
    ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, out_type, {M, N}));
    if (quantized_out) quantize_into(y.data(), py, *out);
    else std::copy(y.begin(), y.end(), out->mutable_data<float>());
    return Status::ok();
  }

 private:
  bool trans_a_, trans_b_;
  float alpha_;
};

}  // namespace

KernelFactory qgemm_kernel() { return factory_of<QGemmKernel>(); }

}  // namespace ortool::rt::cpu::qlinear
