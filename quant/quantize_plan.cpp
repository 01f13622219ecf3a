// Planning static quantization: per node of the main graph, what gets quantized and from which range.
#include "quant/quantize_plan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "lib/op_id.h"
#include "passes/layer_norm_pattern.h"
#include "passes/pass_util.h"

namespace ortool::quant {

namespace {

enum class Scheme { None, Conv, ConvTranspose, Gemm, MatMul, Generic, Passthrough, Removable, Softmax };

Scheme scheme_of(const ir::Node& n, const ir::Model& m) {
  if (!ir::is_default_domain(n.domain())) return Scheme::None;
  const std::string& t = n.op_type();
  if (t == "Conv") return Scheme::Conv;
  if (t == "ConvTranspose") return Scheme::ConvTranspose;
  if (t == "Gemm") return Scheme::Gemm;
  if (t == "MatMul") return Scheme::MatMul;
  if (t == "Relu" || t == "Clip") return Scheme::Removable;
  if (t == "Softmax") return Scheme::Softmax;
  // MaxPool takes 8-bit inputs from opset 12; before that it is quantized like any other op.
  if (t == "MaxPool") return ir::node_opset(m, n) >= 12 ? Scheme::Passthrough : Scheme::Generic;
  for (const char* p : {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Slice", "Split", "Resize",
                        "AveragePool", "Gather"})
    if (t == p) return Scheme::Passthrough;
  for (const char* g : {"Add", "Mul", "Concat", "GlobalAveragePool", "LeakyRelu", "Sigmoid", "HardSwish"})
    if (t == g) return Scheme::Generic;
  return Scheme::None;
}

// Ops whose output 0 has the element type of input 0 (used to type values exporters left untyped).
bool type_preserving(const ir::Node& n) {
  static const std::set<std::string> ops = {
      "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "ConvTranspose", "Div", "Dropout",
      "Elu", "Erf", "Expand", "Flatten", "Gather", "Gelu", "Gemm", "GlobalAveragePool", "GlobalMaxPool",
      "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "LayerNormalization", "LeakyRelu",
      "MatMul", "Max", "MaxPool", "Min", "Mul", "Neg", "Pad", "Pow", "PRelu", "ReduceMax", "ReduceMean",
      "ReduceMin", "ReduceSum", "Relu", "Reshape", "Resize", "Selu", "Sigmoid", "Slice", "Softmax", "Softplus",
      "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "Tile", "Transpose", "Unsqueeze", "Upsample"};
  return ir::is_default_domain(n.domain()) && ops.count(n.op_type()) > 0;
}

// Clip bounds: attributes before opset 11, optional constant inputs after; nullopt when not constant.
std::optional<std::pair<double, double>> clip_bounds(const ir::Node& n, const ir::Model& m) {
  const double inf = std::numeric_limits<double>::infinity();
  if (n.op_type() == "Relu") return std::make_pair(0.0, inf);
  if (ir::node_opset(m, n) < 11)
    return std::make_pair(static_cast<double>(n.attr_float("min", -std::numeric_limits<float>::max())),
                          static_cast<double>(n.attr_float("max", std::numeric_limits<float>::max())));
  double lo = -inf, hi = inf;
  for (int i : {1, 2}) {
    if (!n.has_input(static_cast<size_t>(i))) continue;
    std::optional<double> v = passes::constant_scalar(n.input(static_cast<size_t>(i)));
    if (!v) return std::nullopt;
    (i == 1 ? lo : hi) = *v;
  }
  return std::make_pair(lo, hi);
}

// The operand of a two-input node besides a constant scalar of about `want` (exporters round sqrt(2)), or null.
const ir::Value* besides_scalar(const ir::Node& n, double want) {
  if (n.num_inputs() != 2) return nullptr;
  auto near = [&](const ir::Value* v) {
    const std::optional<double> c = passes::constant_scalar(v);
    return c && std::fabs(*c - want) <= 1e-3 * want;
  };
  if (near(n.input(1))) return n.input(0);
  if (near(n.input(0))) return n.input(1);
  return nullptr;
}

// The nodes of every GELU written as ops around an Erf, x * 0.5 * (1 + erf(x / sqrt(2))) in the orders exporters
// write it (Div or Mul by the constant; the 0.5 applied to x, to the sum or to the product): kept float, its
// input and output quantized, the whole function is one elementwise chain between a DequantizeLinear and a
// QuantizeLinear, which int8 runtimes run as one lookup table (dnnl here), where 8-bit rounding inside it made
// two more passes and lost digits.
std::unordered_set<const ir::Node*> gelu_nodes(const ir::Graph& g) {
  std::unordered_set<const ir::Node*> out;
  for (const ir::Node* erf : g.nodes()) {
    if (erf->op_type() != "Erf" || erf->num_inputs() != 1 || !erf->input(0)) continue;
    const ir::Node* pre = erf->input(0)->producer();
    if (!pre || (pre->op_type() != "Div" && pre->op_type() != "Mul")) continue;
    const ir::Value* x = besides_scalar(*pre, pre->op_type() == "Div" ? std::sqrt(2.0) : std::sqrt(0.5));
    const ir::Node* add = passes::single_consumer(erf->output(0));
    if (!x || !add || add->op_type() != "Add" || !besides_scalar(*add, 1.0)) continue;
    const ir::Node* m1 = passes::single_consumer(add->output(0));
    if (!m1 || m1->op_type() != "Mul" || m1->num_inputs() != 2) continue;
    const ir::Value* other = m1->input(0) == add->output(0) ? m1->input(1) : m1->input(0);
    std::vector<const ir::Node*> found{pre, erf, add, m1};
    const ir::Node* half = other ? other->producer() : nullptr;
    if (other == x) {  // (x * (1 + erf)) * 0.5
      const ir::Node* m2 = passes::single_consumer(m1->output(0));
      if (m2 && m2->op_type() == "Mul" && besides_scalar(*m2, 0.5) == m1->output(0)) found.push_back(m2);
    } else if (half && half->op_type() == "Mul" && besides_scalar(*half, 0.5) == x &&
               passes::single_consumer(other) == m1) {  // (x * 0.5) * (1 + erf)
      found.push_back(half);
    } else if (besides_scalar(*m1, 0.5) == add->output(0)) {  // ((1 + erf) * 0.5) * x
      const ir::Node* m2 = passes::single_consumer(m1->output(0));
      if (!m2 || m2->op_type() != "Mul" || (m2->input(0) != x && m2->input(1) != x)) continue;
      found.push_back(m2);
    } else {
      continue;
    }
    out.insert(found.begin(), found.end());
  }
  return out;
}

class Planner {
 public:
  Planner(const ir::Model& m, const QuantizeOptions& o) : m_(m), o_(o) {
    const auto& all = supported_op_types(QuantMode::Static);
    selected_.insert(o.op_types.empty() ? all.begin() : o.op_types.begin(),
                     o.op_types.empty() ? all.end() : o.op_types.end());
    excluded_types_.insert(o.exclude_op_types.begin(), o.exclude_op_types.end());
    excluded_nodes_.insert(o.exclude_nodes.begin(), o.exclude_nodes.end());
    float_norms_ = passes::layer_norm_nodes(*m.graph);
    float_gelus_ = gelu_nodes(*m.graph);
  }

  Result<StaticPlan> run() {
    ASSIGN_OR_RETURN(std::vector<ir::Node*> order, m_.graph->topological_order());
    for (const ir::Node* n : order) {
      NodePlan np{n, false, {}};
      np.detail = plan_node(*n, np.quantized);
      plan_.nodes.push_back(std::move(np));
    }
    return std::move(plan_);
  }

 private:
  // Returns the detail line; sets `quantized`.
  std::string plan_node(const ir::Node& n, bool& quantized) {
    const Scheme s = scheme_of(n, m_);
    if (s == Scheme::None) return fmt::format("op type {} is not quantized", n.op_type());
    if (!selected_.count(n.op_type())) return "op type not selected";
    if (excluded_types_.count(n.op_type())) return "op type excluded";
    if (!n.name.empty() && excluded_nodes_.count(n.name)) return "excluded by name";
    // In 8 bits a variance loses most of its digits and an epsilon rounds to 0 or to a step of the range; float
    // there also lets the runtime fuse the normalization into one LayerNormalization.
    if (float_norms_.count(&n)) return "part of a layer normalization written as ops (kept float)";
    if (adds_epsilon(n)) return "adds an epsilon before a square root (kept float)";
    if (float_gelus_.count(&n)) return "part of a GELU written as ops (kept float: one elementwise function)";
    for (size_t i = 0; i < n.num_inputs(); ++i) {
      if (!is_data_input(s, n, i) || !n.input(i)) continue;
      const DType t = resolved_type(n.input(i));
      if (t != DType::Float)
        return fmt::format("input '{}' is {}, not float32", n.input(i)->name(),
                           t == DType::Undefined ? "of unknown type" : dtype_name(t));
    }
    std::string detail;
    switch (s) {
      case Scheme::Conv:
      case Scheme::ConvTranspose: detail = plan_conv(n, s == Scheme::ConvTranspose); break;
      case Scheme::Gemm: detail = plan_gemm(n); break;
      case Scheme::MatMul: detail = plan_matmul(n); break;
      case Scheme::Generic: detail = plan_generic(n); break;
      case Scheme::Passthrough: detail = plan_passthrough(n); break;
      case Scheme::Removable: detail = plan_removable(n); break;
      case Scheme::Softmax: detail = plan_softmax(n); break;
      case Scheme::None: break;
    }
    quantized = quantized_.count(&n) > 0;
    return detail;
  }

  // An Add of a constant scalar whose sum only a Sqrt reads: the epsilon of a normalization the layer_norm_nodes
  // pattern does not cover (RMSNorm, a LayerNorm over other axes).
  static bool adds_epsilon(const ir::Node& n) {
    if (n.op_type() != "Add" || n.num_inputs() != 2 || !n.output(0)) return false;
    const bool constant = passes::constant_scalar(n.input(0)).has_value() || passes::constant_scalar(n.input(1)).has_value();
    const ir::Node* reader = passes::single_consumer(n.output(0));
    return constant && reader && reader->op_type() == "Sqrt";
  }

  // Inputs that must be float32 for the node to be quantized.
  static bool is_data_input(Scheme s, const ir::Node& n, size_t i) {
    switch (s) {
      case Scheme::Conv:
      case Scheme::ConvTranspose:
      case Scheme::Gemm:
      case Scheme::MatMul: return i <= 1;
      case Scheme::Generic: return n.op_type() == "Add" || n.op_type() == "Mul" || n.op_type() == "Concat" || i == 0;
      default: return i == 0;
    }
  }

  const ir::Value* canonical(const ir::Value* v) const {
    auto it = alias_.find(v);
    return it == alias_.end() ? v : it->second;
  }
  ActivationPlan* find(const ir::Value* v) {
    auto it = index_.find(canonical(v));
    return it == index_.end() ? nullptr : &plan_.activations[it->second];
  }
  ActivationPlan& add(const ir::Value* v) {
    index_[v] = plan_.activations.size();
    plan_.activations.push_back(ActivationPlan{});
    plan_.activations.back().value = v;
    return plan_.activations.back();
  }

  // An activation input slot: a tensor with a measured range, or a constant quantized from its values.
  void use_activation(const ir::Node& n, size_t i) {
    const ir::Value* v = n.input(i);
    if (!v) return;
    if (float_constant(v)) {
      ActivationPlan* a = find(v);
      if (!a) {
        a = &add(v);
        a->source = ActivationPlan::Source::Constant;
      }
      a->uses.push_back(ir::Use{const_cast<ir::Node*>(&n), static_cast<int>(i)});
      return;
    }
    if (find(v)) return;
    ActivationPlan& a = add(canonical(v));
    a.range_name = v->name();
  }
  void own_range_output(const ir::Value* v) {
    if (!v || find(v)) return;
    ActivationPlan& a = add(v);
    a.range_name = v->name();
  }

  int64_t weight(const ir::Node& n, int input, int64_t axis) {
    if (!o_.per_channel) axis = -1;
    if (axis >= 0) plan_.per_channel = true;
    plan_.weights.push_back(WeightPlan{&n, input, axis});
    return static_cast<int64_t>(plan_.weights.size() - 1);
  }

  std::string plan_conv(const ir::Node& n, bool transpose) {
    const Tensor* w = float_constant(n.input(1));
    if (!w || w->rank() < 3) return "weight is not a constant float32 tensor";
    if (w->empty()) return "weight is empty";
    const int64_t group = n.attr_int("group", 1);
    const int64_t out_channels = transpose ? w->dims()[1] * group : w->dims()[0];
    use_activation(n, 0);
    const int64_t wi = weight(n, 1, transpose ? 1 : 0);
    std::string detail = "QDQ";
    if (n.has_input(2)) {
      const Tensor* b = float_constant(n.input(2));
      if (b && b->rank() == 1 && b->numel() == out_channels)
        plan_.biases.push_back(BiasPlan{&n, 2, canonical(n.input(0)), static_cast<size_t>(wi)});
      else
        detail += ", bias left float (not a constant float32 vector)";
    }
    own_range_output(n.output(0));
    quantized_.insert(&n);
    return detail;
  }

  std::string plan_gemm(const ir::Node& n) {
    const Tensor* b = float_constant(n.input(1));
    if (b && b->empty()) return "weight is empty";
    std::string detail = "QDQ";
    use_activation(n, 0);
    int64_t wi = -1;
    if (b && b->rank() == 2) {
      wi = weight(n, 1, n.attr_int("transB", 0) ? 0 : 1);
    } else {
      use_activation(n, 1);
    }
    if (n.has_input(2)) {
      const Tensor* c = float_constant(n.input(2));
      const int64_t cols = b && b->rank() == 2 ? b->dims()[n.attr_int("transB", 0) ? 0 : 1] : -1;
      if (wi >= 0 && c && c->rank() == 1 && c->numel() == cols && n.attr_float("alpha", 1.0f) == 1.0f &&
          n.attr_float("beta", 1.0f) == 1.0f)
        plan_.biases.push_back(BiasPlan{&n, 2, canonical(n.input(0)), static_cast<size_t>(wi)});
      else
        detail += ", bias left float";
    }
    own_range_output(n.output(0));
    quantized_.insert(&n);
    return detail;
  }

  std::string plan_matmul(const ir::Node& n) {
    const Tensor* b = float_constant(n.input(1));
    if (b && b->empty()) return "weight is empty";
    use_activation(n, 0);
    if (b) weight(n, 1, b->rank() == 2 ? 1 : -1);
    else use_activation(n, 1);
    own_range_output(n.output(0));
    quantized_.insert(&n);
    return "QDQ";
  }

  std::string plan_generic(const ir::Node& n) {
    const bool all_inputs = n.op_type() == "Add" || n.op_type() == "Mul" || n.op_type() == "Concat";
    for (size_t i = 0; i < (all_inputs ? n.num_inputs() : 1); ++i) use_activation(n, i);
    own_range_output(n.output(0));
    quantized_.insert(&n);
    return "QDQ";
  }

  std::string plan_passthrough(const ir::Node& n) {
    const ir::Value* in = n.input(0);
    if (!find(in)) return "input is not quantized (its scale passes through)";
    // Split's outputs are all data; MaxPool's second output holds int64 indices.
    const size_t outputs = n.op_type() == "Split" ? n.num_outputs() : 1;
    for (size_t i = 0; i < outputs; ++i) {
      const ir::Value* out = n.output(i);
      if (!out || find(out)) continue;
      ActivationPlan& a = add(out);
      a.source = ActivationPlan::Source::SameAs;
      a.same_as = canonical(in);
    }
    quantized_.insert(&n);
    return "QDQ, scale of the input passed through";
  }

  std::string plan_softmax(const ir::Node& n) {
    use_activation(n, 0);
    const ir::Value* out = n.output(0);
    if (out && !find(out)) {
      ActivationPlan& a = add(out);
      a.source = ActivationPlan::Source::Fixed;
      a.fixed = TensorRange{0.0, 1.0};
    }
    quantized_.insert(&n);
    return "QDQ, output range [0, 1]";
  }

  std::string plan_removable(const ir::Node& n) {
    const ir::Value* in = n.input(0);
    const ir::Value* out = n.output(0);
    ActivationPlan* a = find(in);
    if (!a) return "input is not quantized";
    auto bounds = clip_bounds(n, m_);
    // The producer's output registered with its own range, read by this node only.
    const bool own = a->source == ActivationPlan::Source::Range && a->value == canonical(in) &&
                     a->range_name == in->name() && in->uses().size() == 1 && !in->is_graph_output() &&
                     !in->is_graph_input();
    if (own && bounds) {
      // Quantizing with the activation's range clamps to it; folding is exact when the quantized range
      // stays inside the bounds: asymmetric zero point at the range's low end, bounds around 0.
      a->range_name = out->name();
      a->clamp = n.op_type() == "Clip";
      a->lo = bounds->first;
      a->hi = bounds->second;
      const ir::Node* producer = in->producer();
      const bool fold = !o_.symmetric_activations && bounds->first <= 0 && bounds->second >= 0 && producer &&
                        quantized_.count(producer) && scheme_has_own_output(*producer);
      if (fold) {
        plan_.folds.push_back(FoldPlan{&n, producer});
        alias_[out] = canonical(in);
        quantized_.insert(&n);
        return fmt::format("folded into the output range of {}", producer->describe());
      }
    }
    own_range_output(out);
    quantized_.insert(&n);
    return "QDQ";
  }

  bool scheme_has_own_output(const ir::Node& p) const {
    const Scheme s = scheme_of(p, m_);
    return s == Scheme::Conv || s == Scheme::ConvTranspose || s == Scheme::Gemm || s == Scheme::MatMul ||
           s == Scheme::Generic;
  }

  const ir::Model& m_;
  const QuantizeOptions& o_;
  StaticPlan plan_;
  std::set<std::string> selected_, excluded_types_, excluded_nodes_;
  std::unordered_set<const ir::Node*> float_norms_;  // nodes of decomposed layer normalizations
  std::unordered_set<const ir::Node*> float_gelus_;  // nodes of decomposed GELUs
  std::unordered_map<const ir::Value*, size_t> index_;
  std::unordered_map<const ir::Value*, const ir::Value*> alias_;  // folded activation output -> producer output
  std::set<const ir::Node*> quantized_;
};

}  // namespace

DType resolved_type(const ir::Value* v) {
  for (int depth = 0; v && depth < 100000; ++depth) {
    if (const Tensor* t = passes::constant_tensor(v)) return t->dtype();
    if (v->is_constant()) return v->constant()->dtype();
    const DType t = passes::elem_type(v);
    if (t != DType::Undefined) return t;
    const ir::Node* p = v->producer();
    if (!p || !type_preserving(*p) || (p->op_type() != "Split" && v->producer_index() != 0)) return DType::Undefined;
    v = p->input(0);
  }
  return DType::Undefined;
}

const Tensor* float_constant(const ir::Value* v) {
  if (!v) return nullptr;
  const Tensor* t = v->is_constant() ? v->constant().get() : passes::constant_tensor(v);
  return t && t->dtype() == DType::Float ? t : nullptr;
}

Status check_not_quantized(const ir::Graph& g) {
  static const std::set<std::string> quantized_ops = {
      "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul",
      "MatMulInteger", "ConvInteger", "QGemm", "DynamicQuantizeMatMul", "MatMulIntegerToFloat"};
  for (const ir::Node* n : g.nodes())
    if (quantized_ops.count(n->op_type()) || n->op_type().rfind("QLinear", 0) == 0)
      return invalid("the model is already quantized ({}); quantize the float model", n->describe());
  return Status::ok();
}

Result<StaticPlan> plan_static(const ir::Model& model, const QuantizeOptions& options) {
  TRY(check_not_quantized(*model.graph));
  return Planner(model, options).run();
}

Result<std::vector<std::string>> tensors_to_calibrate(const ir::Model& model, const QuantizeOptions& options) {
  TRY(validate_options(model, options, QuantMode::Static));
  ASSIGN_OR_RETURN(StaticPlan plan, plan_static(model, options));
  std::set<std::string> names;
  for (const ActivationPlan& a : plan.activations)
    if (a.source == ActivationPlan::Source::Range) names.insert(a.range_name);
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace ortool::quant
