// The xnnpack provider's elementwise ops: Sigmoid, Relu, Clip, LeakyRelu, HardSwish, Sqrt, Pow(x, 2), and Add/Sub/Mul/Div
// with numpy broadcasting and a fused Relu/Clip.
//
// These read and write every element in place order, so the layout hardly matters: they run on the
// NCHW tensors between steps as they are, or on NHWC ones inside an xnnpack region (a broadcasting
// operand then listed to XNNPACK in NHWC dim order; see xnn_layout.cpp). They pay where the reference kernels are slow (Sigmoid's
// exp; Swish = x * Sigmoid(x) in EfficientNet) and where a clamp fuses into an Add.
// A single node whose input turns out not to be float goes to the cpu provider's kernel; a fused
// pair is claimed only when the graph declares its inputs float.
#include <algorithm>
#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/xnnpack/xnn_common.h"

namespace ortool::rt::xnn_ep {

namespace {

enum class Binary { Add, Sub, Mul, Div };

struct ElementwiseSpec {
  std::vector<const ir::Node*> nodes;  // the op, then the fused clamp if any
  std::string what;
  bool binary = false;
  Binary bop = Binary::Add;
};

bool float_or_unknown(const ir::Value* v) {
  return v && (!v->type.is_tensor() || v->type.elem == DType::Float || v->type.elem == DType::Undefined);
}
bool declared_float(const ir::Value* v) { return v && v->type.is_tensor() && v->type.elem == DType::Float; }

// Numpy broadcasting of two shapes; nullopt when they do not broadcast.
std::optional<std::vector<int64_t>> broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t x = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const int64_t y = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (x != y && x != 1 && y != 1) return std::nullopt;
    out[i] = x == 1 ? y : x;
  }
  return out;
}

class XnnElementwiseKernel final : public Kernel {
 public:
  XnnElementwiseKernel(std::shared_ptr<const ElementwiseSpec> spec, Operator op, ThreadPoolPtr pool, Layout layout,
                       const KernelInit& init)
      : spec_(std::move(spec)), op_(std::move(op)), pool_(std::move(pool)), layout_(std::move(layout)), fallback_(init) {}

  Status run(KernelContext& ctx) override {
    const ElementwiseSpec& s = *spec_;
    const Tensor* a = ctx.input_tensor(0);
    const Tensor* b = s.binary ? ctx.input_tensor(1) : nullptr;
    const bool floats = a && a->dtype() == DType::Float && (!s.binary || (b && b->dtype() == DType::Float));
    if (!floats) {
      if (s.nodes.size() == 1) return fallback_.run(ctx, a ? a->dtype() : DType::Float);
      return invalid("{}: the inputs are not float tensors", s.what);
    }
    pthreadpool_t tp = pool_.get();
    if (!s.binary) {
      ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, a->dims()));
      if (a->numel() == 0) return Status::ok();
      TRY(check(setup_unary(static_cast<size_t>(a->numel()), a->data<float>(), y->mutable_data<float>(), tp), s.what,
                "xnn_setup (unary)"));
      return check(xnn_run_operator(op_.get(), tp), s.what, "xnn_run_operator");
    }
    const auto out = broadcast(a->dims(), b->dims());
    if (!out)
      return invalid("{}: shapes [{}] and [{}] do not broadcast", s.what, fmt::join(a->dims(), ", "),
                     fmt::join(b->dims(), ", "));
    if (a->rank() > XNN_MAX_TENSOR_DIMS || b->rank() > XNN_MAX_TENSOR_DIMS)
      return fallback_.run(ctx, DType::Float);  // claimed only alone when ranks are unknown
    ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::Float, *out));
    if (y->numel() == 0) return Status::ok();
    std::vector<size_t> da, db;
    if (layout_.out_nhwc) {
      // NHWC operands, or layout-neutral ones: hand XNNPACK the dims in NHWC order.
      ASSIGN_OR_RETURN(da, nhwc_dims(*a, 0));
      ASSIGN_OR_RETURN(db, nhwc_dims(*b, 1));
    } else {
      // XNNPACK wants at least one dim per input.
      da.assign(a->dims().begin(), a->dims().end());
      db.assign(b->dims().begin(), b->dims().end());
      if (da.empty()) da.push_back(1);
      if (db.empty()) db.push_back(1);
    }
    TRY(check(setup_binary(da, db, a->data<float>(), b->data<float>(), y->mutable_data<float>(), tp), s.what,
              "xnn_setup (binary)"));
    return check(xnn_run_operator(op_.get(), tp), s.what, "xnn_run_operator");
  }

 private:
  // Operand i's dims padded to [N, C, H, W] and listed as N, H, W, C.
  Result<std::vector<size_t>> nhwc_dims(const Tensor& t, size_t i) const {
    const bool stored_nhwc = i < layout_.inputs_nhwc.size() && layout_.inputs_nhwc[i];
    if (t.rank() > 4 || (stored_nhwc && t.rank() != 4) || (!stored_nhwc && !layout_neutral_dims(t.dims())))
      return invalid("{}: input {} has shape [{}], not the one the graph declares", spec_->what, i,
                     fmt::join(t.dims(), ", "));
    std::vector<size_t> d(4, 1);
    for (size_t k = 0; k < t.rank(); ++k) d[4 - t.rank() + k] = static_cast<size_t>(t.dims()[k]);
    return std::vector<size_t>{d[0], d[2], d[3], d[1]};
  }

  xnn_status setup_unary(size_t n, const float* x, float* y, pthreadpool_t tp) {
    const std::string& op = spec_->nodes.front()->op_type();
    // One channel of n rows with unit strides: XNNPACK sees a contiguous vector and splits it in blocks.
    if (op == "Sigmoid") return xnn_setup_sigmoid_nc_f32(op_.get(), n, x, y, tp);
    if (op == "LeakyRelu") return xnn_setup_leaky_relu_nc_f32(op_.get(), n, x, y, tp);
    if (op == "HardSwish") return xnn_setup_hardswish_nc_f32(op_.get(), n, x, y, tp);
    if (op == "Pow") return xnn_setup_square_nc_f32(op_.get(), n, x, y, tp);
    if (op == "Sqrt") return xnn_setup_square_root_nc_f32(op_.get(), n, x, y, tp);
    return xnn_setup_clamp_nc_f32(op_.get(), n, x, y, tp);  // Relu, Clip
  }
  xnn_status setup_binary(const std::vector<size_t>& da, const std::vector<size_t>& db, const float* a, const float* b,
                          float* y, pthreadpool_t tp) {
    switch (spec_->bop) {
      case Binary::Add: return xnn_setup_add_nd_f32(op_.get(), da.size(), da.data(), db.size(), db.data(), a, b, y, tp);
      case Binary::Sub:
        return xnn_setup_subtract_nd_f32(op_.get(), da.size(), da.data(), db.size(), db.data(), a, b, y, tp);
      case Binary::Mul:
        return xnn_setup_multiply_nd_f32(op_.get(), da.size(), da.data(), db.size(), db.data(), a, b, y, tp);
      case Binary::Div: return xnn_setup_divide_nd_f32(op_.get(), da.size(), da.data(), db.size(), db.data(), a, b, y, tp);
    }
    return xnn_status_invalid_parameter;
  }

  std::shared_ptr<const ElementwiseSpec> spec_;
  Operator op_;
  ThreadPoolPtr pool_;
  Layout layout_;
  CpuFallback fallback_;
};

// A float scalar fixed to 2 (Pow's exponent).
bool is_two(const GraphView& view, const ir::Value* v) {
  const TensorPtr t = fixed_tensor(view, v);
  return t && t->dtype() == DType::Float && t->numel() == 1 && t->data<float>()[0] == 2.0f;
}

// A rank the graph declares above XNNPACK's limit (or no rank at all for a fused pair) stays out.
bool rank_ok(const ir::Value* v, bool need_known) {
  if (!v->type.is_tensor() || !v->type.shape) return !need_known;
  return v->type.shape->size() <= XNN_MAX_TENSOR_DIMS;
}

}  // namespace

std::optional<XnnClaim> claim_elementwise(const GraphView& view, const ir::Node& node, const ThreadPoolPtr& pool) {
  const std::string& op = node.op_type();
  auto spec = std::make_shared<ElementwiseSpec>();
  spec->nodes = {&node};
  if (node.num_outputs() != 1 || !node.output(0)) return std::nullopt;
  xnn_operator_t raw = nullptr;
  xnn_status st = xnn_status_invalid_parameter;
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    if (node.num_inputs() != 2 || view.opset(node) < 7) return std::nullopt;  // before 7: axis broadcasting
    const ir::Value *a = node.input(0), *b = node.input(1);
    if (!float_or_unknown(a) || !float_or_unknown(b)) return std::nullopt;
    spec->binary = true;
    spec->bop = op == "Add" ? Binary::Add : op == "Sub" ? Binary::Sub : op == "Mul" ? Binary::Mul : Binary::Div;
    Clamp clamp;
    // A fused clamp needs float inputs for sure (no cpu fallback for a pair) and a rank XNNPACK takes.
    if (declared_float(a) && declared_float(b) && rank_ok(a, true) && rank_ok(b, true)) clamp = fusable_clamp(view, node);
    else if (!rank_ok(a, false) || !rank_ok(b, false)) return std::nullopt;
    if (clamp.node) spec->nodes.push_back(clamp.node);
    switch (spec->bop) {
      case Binary::Add: st = xnn_create_add_nd_f32(clamp.lo, clamp.hi, 0, &raw); break;
      case Binary::Sub: st = xnn_create_subtract_nd_f32(clamp.lo, clamp.hi, 0, &raw); break;
      case Binary::Mul: st = xnn_create_multiply_nd_f32(clamp.lo, clamp.hi, 0, &raw); break;
      case Binary::Div: st = xnn_create_divide_nd_f32(clamp.lo, clamp.hi, 0, &raw); break;
    }
  } else {
    if (node.num_inputs() < 1 || !float_or_unknown(node.input(0))) return std::nullopt;
    if (op == "Sigmoid" && node.num_inputs() == 1) {
      st = xnn_create_sigmoid_nc_f32(1, 1, 1, 0, &raw);
    } else if (op == "Sqrt" && node.num_inputs() == 1) {
      st = xnn_create_square_root_nc_f32(1, 1, 1, 0, &raw);
    } else if (op == "Pow" && node.num_inputs() == 2 && is_two(view, node.input(1))) {
      st = xnn_create_square_nc_f32(1, 1, 1, 0, &raw);  // x^2, as LayerNorm's variance is often written
    } else if (op == "HardSwish" && node.num_inputs() == 1) {
      st = xnn_create_hardswish_nc_f32(1, 1, 1, 0, &raw);
    } else if (op == "LeakyRelu" && node.num_inputs() == 1) {
      const float alpha = node.attr_float("alpha", 0.01f);
      if (!std::isfinite(alpha)) return std::nullopt;
      st = xnn_create_leaky_relu_nc_f32(1, 1, 1, alpha, 0, &raw);
    } else if (op == "Relu" || op == "Clip") {
      const Clamp c = clamp_of(view, node);
      if (!c.node) return std::nullopt;
      st = xnn_create_clamp_nc_f32(1, 1, 1, c.lo, c.hi, 0, &raw);
    } else {
      return std::nullopt;
    }
  }
  spec->what = describe_nodes(spec->nodes);
  if (!check(st, spec->what, "xnn_create").is_ok()) return std::nullopt;
  auto holder = std::make_shared<Operator>(raw);
  XnnClaim out;
  out.elementwise = true;
  Claim& c = out.claim;
  c.nodes = spec->nodes;
  c.factory = [spec, pool, holder, layout = out.layout](const KernelInit& init) -> Result<std::unique_ptr<Kernel>> {
    if (!*holder) return internal_error("{}: the xnnpack kernel was made twice", spec->what);
    return std::unique_ptr<Kernel>(
        std::make_unique<XnnElementwiseKernel>(spec, std::move(*holder), pool, *layout, init));
  };
  return out;
}

}  // namespace ortool::rt::xnn_ep
