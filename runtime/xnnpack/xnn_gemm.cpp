// The xnnpack provider's Gemm and MatMul: float32 A times a constant 2-D weight (+ bias, fused Relu/Clip).
//
// XNNPACK's fully-connected operator takes rows of A as they lie, so no layout change is needed.
// Gemm's alpha and beta are folded into the packed weight and the bias when the operator is made
// (once, at session creation); MatMul's leading dims of A are flattened into rows.
#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt::xnn_ep {

namespace {

struct GemmSpec {
  std::vector<const ir::Node*> nodes;  // the Gemm or MatMul, then the fused activation if any
  std::string what;
  bool gemm = false;  // Gemm: A must be 2-D
  int64_t k = 0, n = 0;
};

class XnnGemmKernel final : public Kernel {
 public:
  XnnGemmKernel(std::shared_ptr<const GemmSpec> spec, Operator op, ThreadPoolPtr pool)
      : spec_(std::move(spec)), op_(std::move(op)), pool_(std::move(pool)) {}

  Status run(KernelContext& ctx) override {
    const GemmSpec& s = *spec_;
    const Tensor* a = ctx.input_tensor(0);
    if (!a) return invalid("{}: input A is required", s.what);
    if (a->dtype() != DType::Float) return invalid("{}: input A is {}, the weight is float", s.what, dtype_name(a->dtype()));
    if ((s.gemm && a->rank() != 2) || a->rank() < 1 || a->dims().back() != s.k)
      return invalid("{}: input A has shape [{}]; want {} with {} columns to match the weight [{}, {}]", s.what,
                     fmt::join(a->dims(), ", "), s.gemm ? "a matrix" : "rank 1 or more", s.k, s.k, s.n);
    std::vector<int64_t> y_dims(a->dims().begin(), a->dims().end() - 1);  // a vector A gives a vector Y
    y_dims.push_back(s.n);
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, y_dims));
    if (y->numel() == 0) return Status::ok();
    const size_t rows = static_cast<size_t>(a->numel() / s.k);  // k > 0: empty weights are not claimed
    TRY(check(xnn_setup_fully_connected_nc_f32(op_.get(), rows, a->data<float>(), y->mutable_data<float>(), pool_.get()),
              s.what, "xnn_setup_fully_connected_nc_f32"));
    return check(xnn_run_operator(op_.get(), pool_.get()), s.what, "xnn_run_operator");
  }

 private:
  std::shared_ptr<const GemmSpec> spec_;
  Operator op_;
  ThreadPoolPtr pool_;
};

bool float_or_unknown(const ir::Value& v) {
  return !v.type.is_tensor() || v.type.elem == DType::Float || v.type.elem == DType::Undefined;
}

// Gemm's C as a per-column bias: a scalar, [N] or [1, N]; empty when C is absent, nullopt otherwise
// (a C varying along rows is not a bias XNNPACK can add).
std::optional<std::vector<float>> gemm_bias(const GraphView& view, const ir::Value* c, int64_t n, float beta) {
  if (!c || beta == 0.0f) return std::vector<float>{};
  const TensorPtr t = fixed_tensor(view, c);
  if (!t || t->dtype() != DType::Float) return std::nullopt;
  const auto& d = t->dims();
  std::vector<float> out(static_cast<size_t>(n));
  if (t->numel() == 1) {
    std::fill(out.begin(), out.end(), beta * t->data<float>()[0]);
  } else if ((d.size() == 1 && d[0] == n) || (d.size() == 2 && d[0] == 1 && d[1] == n)) {
    for (int64_t j = 0; j < n; ++j) out[static_cast<size_t>(j)] = beta * t->data<float>()[j];
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::optional<XnnClaim> claim_gemm(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool) {
  const bool gemm = node.op_type() == "Gemm";
  const ir::Value* a = node.input(0);
  if (!a || node.num_outputs() != 1 || !node.output(0) || node.num_inputs() > (gemm ? 3u : 2u)) return std::nullopt;
  const TensorPtr bc = fixed_tensor(view, node.input(1));
  if (!float_or_unknown(*a) || !bc) return std::nullopt;
  const Tensor& bt = *bc;
  if (bt.dtype() != DType::Float || bt.rank() != 2 || bt.numel() == 0) return std::nullopt;
  if (a->type.is_tensor() && a->type.shape && a->type.shape->empty()) return std::nullopt;

  auto spec = std::make_shared<GemmSpec>();
  spec->gemm = gemm;
  bool trans_b = false;
  float alpha = 1.0f, beta = 1.0f;
  if (gemm) {
    if (node.attr_int("transA", 0) != 0) return std::nullopt;
    if (view.opset(node) < 7 && node.attr_int("broadcast", 0) == 0 && node.has_input(2)) return std::nullopt;
    trans_b = node.attr_int("transB", 0) != 0;
    alpha = node.attr_float("alpha", 1.0f);
    beta = node.attr_float("beta", 1.0f);
    if (!std::isfinite(alpha) || !std::isfinite(beta)) return std::nullopt;
  }
  const int64_t k = trans_b ? bt.dims()[1] : bt.dims()[0], n = trans_b ? bt.dims()[0] : bt.dims()[1];
  spec->k = k;
  spec->n = n;
  if (a->type.is_tensor() && a->type.shape) {
    const Shape& s = *a->type.shape;
    if (gemm && s.size() != 2) return std::nullopt;
    if (s.back().is_known() && s.back().value != k) return std::nullopt;
  }
  std::vector<float> bias;
  if (gemm) {
    auto b = gemm_bias(view, node.input(2), n, beta);
    if (!b) return std::nullopt;
    bias = std::move(*b);
  }
  // XNNPACK's weight is [N][K] (output channels first): ONNX's B transposed, or B itself with transB.
  std::vector<float> w(static_cast<size_t>(k * n));
  const float* src = bt.data<float>();
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < k; ++i) w[static_cast<size_t>(j * k + i)] = alpha * (trans_b ? src[j * k + i] : src[i * n + j]);
  const Clamp clamp = fusable_clamp(view, node);
  spec->nodes = {&node};
  if (clamp.node) spec->nodes.push_back(clamp.node);
  spec->what = describe_nodes(spec->nodes);
  // The operator packs the weights now, once; the packed copy is XNNPACK's, so `w` may go.
  xnn_operator_t op = nullptr;
  if (!check(xnn_create_fully_connected_nc_f32(static_cast<size_t>(k), static_cast<size_t>(n), static_cast<size_t>(k),
                                               static_cast<size_t>(n), w.data(), bias.empty() ? nullptr : bias.data(),
                                               clamp.lo, clamp.hi, 0, &op),
             spec->what, "xnn_create_fully_connected_nc_f32")
           .is_ok())
    return std::nullopt;
  auto holder = std::make_shared<Operator>(op);
  XnnClaim out;  // rows of A as they lie: NCHW only
  Claim& c = out.claim;
  c.nodes = spec->nodes;
  c.factory = [spec, pool, holder](const KernelInit&) -> Result<std::unique_ptr<Kernel>> {
    if (!*holder) return internal_error("{}: the xnnpack kernel was made twice", spec->what);
    return std::unique_ptr<Kernel>(std::make_unique<XnnGemmKernel>(spec, std::move(*holder), pool));
  };
  return out;
}

}  // namespace ortool::rt::xnn_ep
