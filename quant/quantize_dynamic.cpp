// quantize_dynamic: int8 weights for MatMul/Gemm (and Conv on request), activations quantized at run time.
//
// Each quantized node becomes what ONNX Runtime's quantize_dynamic writes (its runtime fuses it into
// MatMulIntegerToFloat):
//     x -> DynamicQuantizeLinear -> (x_q uint8, x_scale, x_zero_point)      one per activation tensor
//     MatMulInteger(x_q, w_q, x_zero_point, w_zero_point) -> int32 -> Cast(float)
//     Mul(x_scale, w_scale) -> Mul(cast, scales) [-> Add(bias) for Gemm]
// and for Conv, ConvInteger in place of MatMulInteger with the bias added after. Zero points stay
// scalars (ONNX Runtime's ConvInteger takes no per-channel zero point); per-channel weights keep their
// per-channel scales in the Mul.
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <set>
#include <unordered_map>

#include "lib/onnx_shape_inference.h"
#include "lib/op_id.h"
#include "passes/opset_conversion.h"
#include "passes/pass_util.h"
#include "quant/quantize.h"
#include "quant/quantize_graph.h"
#include "quant/quantize_plan.h"
#include "quant/quantize_report.h"

namespace ortool::quant {

namespace {

struct DynamicNode {
  const ir::Node* node = nullptr;
  std::string detail;
  bool quantized = false;
};

// Why `n` cannot be quantized dynamically ("" when it can).
std::string dynamic_precondition(const ir::Node& n) {
  const std::string& t = n.op_type();
  if (resolved_type(n.input(0)) != DType::Float) return "input is not float32";
  const Tensor* w = float_constant(n.input(1));
  if (!w) return "weight is not a constant float32 tensor";
  if (w->empty()) return "weight is empty";
  if (t == "MatMul" && w->rank() != 2) return "weight is not a 2-D matrix";
  if (t == "Gemm") {
    if (w->rank() != 2) return "weight is not a 2-D matrix";
    if (n.attr_int("transA", 0) != 0) return "transA is set";
    if (n.has_input(2) && !float_constant(n.input(2))) return "bias is not a constant float32 tensor";
  }
  if (t == "Conv") {
    if (w->rank() < 3) return "weight rank is below 3";
    if (n.has_input(2) && (!float_constant(n.input(2)) || float_constant(n.input(2))->numel() != w->dims()[0]))
      return "bias is not a constant float32 vector";
  }
  return {};
}

// The transpose of a 2-D float tensor.
Tensor transposed(const Tensor& w) {
  const int64_t r = w.dims()[0], c = w.dims()[1];
  Tensor out(DType::Float, {c, r});
  const float* s = w.data<float>();
  float* d = out.mutable_data<float>();
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) d[j * r + i] = s[i * c + j];
  return out;
}

class DynamicRewriter {
 public:
  DynamicRewriter(ir::Model& m, const QuantizeOptions& o, QuantizeReport& r)
      : g_(*m.graph), ed_(g_), o_(o), report_(r) {}

  void rewrite(ir::Node* n) {
    const std::string& t = n->op_type();
    const bool conv = t == "Conv";
    const bool gemm = t == "Gemm";
    const int64_t w_rank = float_constant(n->input(1))->rank();
    const DynamicWeight& w = weight(n, conv, gemm);
    const DynamicInput& x = quantize_input(n->input(0));
    ir::Value* out = n->output(0);
    const std::string base = out->name();
    ir::Node* integer = ed_.add_node(conv ? "ConvInteger" : "MatMulInteger", "", {x.q, w.q, x.zero_point, w.zero_point},
                                    {base + "_output_quantized"}, n->name.empty() ? "" : n->name + "_quant");
    if (conv)
      for (const ir::Attribute& a : n->attributes()) integer->set_attr(a);
    set_type_like(integer->output(0), DType::Int32, out);
    ir::Node* cast = ed_.add_node("Cast", "", {integer->output(0)}, {base + "_output_quantized_cast_output"},
                                 n->name.empty() ? "" : n->name + "_output_quantized_cast");
    cast->set_attr(ir::Attribute::make_int("to", static_cast<int64_t>(DType::Float)));
    set_type_like(cast->output(0), DType::Float, out);
    ir::Node* smul = ed_.add_node("Mul", "", {x.scale, w.scale}, {base + "_scales_mul"},
                                 n->name.empty() ? "" : n->name + "_scales_mul");
    ir::Node* mul = ed_.add_node("Mul", "", {cast->output(0), smul->output(0)}, {base + "_scaled"},
                                n->name.empty() ? "" : n->name + "_output_scale_mul");
    set_type_like(mul->output(0), DType::Float, out);
    ir::Value* result = mul->output(0);
    if (n->has_input(2)) result = add_bias(n, result, conv, w_rank, base);

    std::vector<ir::Value*> old_inputs(n->inputs().begin(), n->inputs().end());
    const std::string out_name = out->name();
    g_.replace_all_uses(out, result);
    g_.remove_node(n);
    g_.rename_value(result, out_name);
    for (ir::Value* v : old_inputs) ed_.drop_if_unused(v);
  }

  int64_t baked_inputs() const { return baked_inputs_; }

 private:
  struct DynamicWeight {
    ir::Value* q = nullptr;           // int8/uint8 weight, [K, N] for MatMulInteger
    ir::Value* zero_point = nullptr;  // one value
    ir::Value* scale = nullptr;       // per channel (times Gemm's alpha), shaped to broadcast
  };

  // The node's weight quantized for it alone, also where nodes share the float weight: ONNX Runtime's exact int8
  // mode on x86 (session.x64quantprecision=1) rewrites each node's int8 weight and zero point in place and
  // cannot load a model where two nodes hold one; its default kernels saturate there (the benchmark
  // transformer, whose four layers share weights: 19 dB from float in ONNX Runtime, 44 dB in exact mode).
  // --share-weights: once per (weight, layout, alpha).
  const DynamicWeight& weight(ir::Node* n, bool conv, bool gemm) {
    ir::Value* wv = n->input(1);
    const bool transpose = gemm && n->attr_int("transB", 0) != 0;
    const float alpha = gemm ? n->attr_float("alpha", 1.0f) : 1.0f;
    const auto key = std::make_tuple(o_.share_weights ? static_cast<const void*>(wv) : static_cast<const void*>(n), transpose, alpha);
    if (auto it = weights_.find(key); it != weights_.end()) return it->second;
    Tensor w = *float_constant(wv);
    if (transpose) w = transposed(w);  // stored [K, N] for MatMulInteger
    const int64_t axis = o_.per_channel ? (conv ? 0 : 1) : -1;
    QuantParams p = weight_params(w, o_.weight_type, axis, o_.reduce_range);
    DynamicWeight d;
    d.q = ed_.add_initializer(wv->name() + "_quantized", quantize_tensor(w, p));
    ++report_.weights_quantized;
    if (wv->is_graph_input()) ++baked_inputs_;
    // Scalar zero point (all channels share it: 0 for int8, 128 for symmetric uint8).
    d.zero_point = ed_.add_zero_point(wv->name() + "_zero_point", p.type, {p.zero_point[0]}, {});
    // Per-channel scales broadcast against the output: [N] for MatMul/Gemm, [M, 1, ..., 1] for Conv.
    std::vector<float> scales = p.scale;
    for (float& s : scales) s *= alpha;
    std::vector<int64_t> sdims;
    if (scales.size() > 1) {
      sdims = {static_cast<int64_t>(scales.size())};
      if (conv) sdims.insert(sdims.end(), static_cast<size_t>(w.rank() - 2), 1);
    }
    d.scale = ed_.add_initializer(wv->name() + "_scale", Tensor::from_vector(DType::Float, sdims, scales));
    return weights_[key] = d;
  }

  struct DynamicInput {
    ir::Value* q = nullptr;
    ir::Value* scale = nullptr;
    ir::Value* zero_point = nullptr;
  };

  // One DynamicQuantizeLinear per activation tensor, shared by its quantized readers.
  const DynamicInput& quantize_input(ir::Value* x) {
    auto it = inputs_.find(x);
    if (it != inputs_.end()) return it->second;
    const std::string base = x->name();
    ir::Node* d = ed_.add_node("DynamicQuantizeLinear", "",
                              {x}, {base + "_quantized", base + "_scale", base + "_zero_point"},
                              base + "_QuantizeLinear");
    set_type_like(d->output(0), DType::UInt8, x);
    d->output(1)->type = Type::tensor(DType::Float, Shape{});
    d->output(2)->type = Type::tensor(DType::UInt8, Shape{});
    return inputs_[x] = DynamicInput{d->output(0), d->output(1), d->output(2)};
  }

  // Gemm: + beta * C. Conv: + B reshaped to [M, 1, ..., 1].
  ir::Value* add_bias(ir::Node* n, ir::Value* y, bool conv, int64_t w_rank, const std::string& base) {
    Tensor b = *float_constant(n->input(2));
    if (conv) {
      std::vector<int64_t> dims = {b.numel()};
      dims.insert(dims.end(), static_cast<size_t>(w_rank - 2), 1);
      b = b.clone().reshaped(dims);
    } else if (const float beta = n->attr_float("beta", 1.0f); beta != 1.0f) {
      Tensor scaled = b.clone();
      for (int64_t i = 0; i < scaled.numel(); ++i) scaled.mutable_data<float>()[i] *= beta;
      b = std::move(scaled);
    }
    ir::Value* bias = ed_.add_initializer(n->input(2)->name() + (conv ? "_reshaped" : "_scaled"), std::move(b));
    ir::Node* add = ed_.add_node("Add", "", {y, bias}, {base + "_biased"}, n->name.empty() ? "" : n->name + "_bias_add");
    set_type_like(add->output(0), DType::Float, n->output(0));
    return add->output(0);
  }

  ir::Graph& g_;
  GraphEditor ed_;
  const QuantizeOptions& o_;
  QuantizeReport& report_;
  std::unordered_map<const ir::Value*, DynamicInput> inputs_;
  std::map<std::tuple<const void*, bool, float>, DynamicWeight> weights_;
  int64_t baked_inputs_ = 0;
};

}  // namespace

Result<QuantizeReport> quantize_dynamic(ir::Model& model, const QuantizeOptions& options) {
  TRY(validate_options(model, options, QuantMode::Dynamic));
  TRY(check_not_quantized(*model.graph));
  const auto& supported = supported_op_types(QuantMode::Dynamic, options.dynamic_conv);
  std::set<std::string> selected(options.op_types.empty() ? supported.begin() : options.op_types.begin(),
                                 options.op_types.empty() ? supported.end() : options.op_types.end());
  std::set<std::string> excluded_types(options.exclude_op_types.begin(), options.exclude_op_types.end());
  std::set<std::string> excluded_nodes(options.exclude_nodes.begin(), options.exclude_nodes.end());

  QuantizeReport report;
  report.opset_before = passes::onnx_opset(model);
  // DynamicQuantizeLinear exists from opset 11.
  if (report.opset_before < 11) {
    (void)infer_shapes(model);  // onnx's version converter needs ranks for some ops
    TRY(passes::convert_opset(model, 11).with_context("quantize"));
    report.notes.push_back(fmt::format("opset raised from {} to 11 (DynamicQuantizeLinear)", report.opset_before));
  }
  report.opset_after = passes::onnx_opset(model);
  if (model.ir_version < 6) model.ir_version = 6;

  ASSIGN_OR_RETURN(std::vector<ir::Node*> order, model.graph->topological_order());
  std::vector<ir::Node*> chosen;
  for (ir::Node* n : order) {
    NodeOutcome o{node_label(*n), n->op_type(), {}};
    const bool supported_op = ir::is_default_domain(n->domain()) &&
                              std::find(supported.begin(), supported.end(), n->op_type()) != supported.end();
    if (!supported_op) o.detail = fmt::format("op type {} is not quantized dynamically", n->op_type());
    else if (!selected.count(n->op_type())) o.detail = "op type not selected";
    else if (excluded_types.count(n->op_type())) o.detail = "op type excluded";
    else if (!n->name.empty() && excluded_nodes.count(n->name)) o.detail = "excluded by name";
    else o.detail = dynamic_precondition(*n);
    if (!o.detail.empty()) {
      report.left_float.push_back(std::move(o));
      continue;
    }
    o.detail = fmt::format("{}, {} {} weights", n->op_type() == "Conv" ? "ConvInteger" : "MatMulInteger",
                           options.per_channel ? "per-channel" : "per-tensor", dtype_name(options.weight_type));
    report.quantized.push_back(std::move(o));
    chosen.push_back(n);
  }
  DynamicRewriter rw(model, options, report);
  for (ir::Node* n : chosen) rw.rewrite(n);
  if (rw.baked_inputs() > 0)
    report.notes.push_back(fmt::format(
        "{} weight(s) were graph inputs with an initializer; they are stored quantized and are no longer inputs",
        rw.baked_inputs()));
  TRY(model.graph->sort_topologically());
  TRY(model.graph->verify().with_context("quantize: internal error, the rewritten graph is invalid"));
  if (report.quantized.empty()) report.notes.push_back("nothing was quantized");
  return report;
}

}  // namespace ortool::quant
