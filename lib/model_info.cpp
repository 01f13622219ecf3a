// Computes the `ortool info` summary of a model: counts, parameters, and MACs from known shapes.
#include "lib/model_info.h"

#include <fmt/format.h>

#include <optional>
#include <set>

#include "lib/input_shapes.h"
#include "lib/model_io.h"
#include "lib/onnx_shape_inference.h"

namespace ortool {

namespace {

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

std::optional<Shape> value_shape(const ir::Value* v) {
  if (!v) return std::nullopt;
  if (v->is_constant()) return shape_from_dims(v->constant()->dims());
  if (v->type.is_tensor() && v->type.shape) return *v->type.shape;
  return std::nullopt;
}

// Multiplies dims of a shape, taking named symbols as 1 (and noting them); nullopt when a dim is
// unknown or the product overflows.
class DimProduct {
 public:
  std::set<std::string> symbols;

  std::optional<uint64_t> of(const Shape& s, size_t from = 0, size_t to = SIZE_MAX) {
    uint64_t p = 1;
    for (size_t i = from; i < s.size() && i < to; ++i) {
      std::optional<uint64_t> d = dim(s[i]);
      if (!d || __builtin_mul_overflow(p, *d, &p)) return std::nullopt;
    }
    return p;
  }
  std::optional<uint64_t> dim(const Dim& d) {
    if (d.kind == Dim::Kind::Value) return d.value >= 0 ? std::optional<uint64_t>(d.value) : std::nullopt;
    if (d.kind == Dim::Kind::Param && !d.param.empty()) {
      symbols.insert(d.param);
      return 1;
    }
    return std::nullopt;
  }
};

std::optional<uint64_t> times(std::optional<uint64_t> a, std::optional<uint64_t> b) {
  uint64_t r = 0;
  if (!a || !b || __builtin_mul_overflow(*a, *b, &r)) return std::nullopt;
  return r;
}

std::optional<uint64_t> plus(std::optional<uint64_t> a, std::optional<uint64_t> b) {
  uint64_t r = 0;
  if (!a || !b || __builtin_add_overflow(*a, *b, &r)) return std::nullopt;
  return r;
}

// Shapes and dim products for one node's count, keeping the first reason one is missing.
class MacCalc {
 public:
  explicit MacCalc(DimProduct& dp) : dp_(dp) {}
  std::string why;

  std::optional<Shape> shape(const ir::Value* v, std::string_view role) {
    std::optional<Shape> s = value_shape(v);
    if (!s && why.empty())
      why = v ? fmt::format("the shape of {} '{}' is unknown", role, v->name()) : fmt::format("no {}", role);
    return s;
  }
  std::optional<uint64_t> of(const Shape& s, const ir::Value* v, size_t from = 0, size_t to = SIZE_MAX) {
    std::optional<uint64_t> p = dp_.of(s, from, to);
    if (!p && why.empty()) {
      bool unknown = false;
      for (size_t i = from; i < s.size() && i < to; ++i) unknown = unknown || !dp_.dim(s[i]);
      why = fmt::format("'{}' {} {}", v->name(), shape_to_string(s), unknown ? "has unknown dims" : "is too large to count");
    }
    return p;
  }
  std::optional<uint64_t> dim(const Shape& s, size_t i, const ir::Value* v) {
    if (i >= s.size()) {
      if (why.empty()) why = fmt::format("'{}' {} has too few dims", v->name(), shape_to_string(s));
      return std::nullopt;
    }
    return of(s, v, i, i + 1);
  }

 private:
  DimProduct& dp_;
};

// prod(out) * prod(W[1:]): one multiply-accumulate per output element per weight of a group's filter.
std::optional<uint64_t> conv_macs(const ir::Value* y, const ir::Value* w, MacCalc& c) {
  auto ys = c.shape(y, "output");
  auto ws = c.shape(w, "weight");
  if (!ys || !ws) return std::nullopt;
  return times(c.of(*ys, y), c.of(*ws, w, 1));
}

// prod(out) * K, K being the reduced dimension of the first operand.
std::optional<uint64_t> matmul_macs(const ir::Value* a, const ir::Value* y, MacCalc& c) {
  auto as = c.shape(a, "input");
  auto ys = c.shape(y, "output");
  if (!as || !ys) return std::nullopt;
  if (as->empty()) return c.dim(*as, 0, a);
  return times(c.of(*ys, y), c.dim(*as, as->size() - 1, a));
}

// LSTM, GRU, RNN: every step multiplies the input by W and the hidden state by R, for each
// direction and gate: seq * batch * (prod(W) + prod(R)) with W [dirs, gates*H, in], R [dirs, gates*H, H].
std::optional<uint64_t> recurrent_macs(const ir::Node& n, MacCalc& c) {
  const ir::Value* x = n.input(0);
  const ir::Value* w = n.input(1);
  const ir::Value* r = n.input(2);
  auto xs = c.shape(x, "input");
  auto ws = c.shape(w, "weight W");
  auto rs = c.shape(r, "weight R");
  if (!xs || !ws || !rs) return std::nullopt;
  if (xs->size() != 3) {
    c.why = fmt::format("input '{}' {} is not of rank 3", x->name(), shape_to_string(*xs));
    return std::nullopt;
  }
  return times(c.of(*xs, x, 0, 2), plus(c.of(*ws, w), c.of(*rs, r)));
}

struct MacResult {
  bool counts = false;  // the op is one whose MACs are counted
  std::optional<uint64_t> macs;
  std::string why;      // why `macs` is missing
};

MacResult node_macs(const ir::Node& n, DimProduct& dp) {
  if (!is_default_domain(n.domain())) return {};
  const std::string& op = n.op_type();
  MacCalc c(dp);
  std::optional<uint64_t> macs;
  if (op == "Conv" || op == "ConvInteger") {
    macs = conv_macs(n.output(0), n.input(1), c);
  } else if (op == "QLinearConv") {
    macs = conv_macs(n.output(0), n.input(3), c);
  } else if (op == "ConvTranspose") {
    // Each input element is scattered through a filter of W[1:] (M/group x kernel).
    auto xs = c.shape(n.input(0), "input");
    auto ws = c.shape(n.input(1), "weight");
    if (xs && ws) macs = times(c.of(*xs, n.input(0)), c.of(*ws, n.input(1), 1));
  } else if (op == "MatMul" || op == "MatMulInteger" || op == "QLinearMatMul") {
    macs = matmul_macs(n.input(0), n.output(0), c);
  } else if (op == "Gemm") {
    auto ys = c.shape(n.output(0), "output");
    auto as = value_shape(n.input(0));
    auto bs = value_shape(n.input(1));
    std::optional<uint64_t> k;
    if (as && as->size() == 2) k = dp.dim((*as)[n.attr_int("transA", 0) ? 0 : 1]);
    if (!k && bs && bs->size() == 2) k = dp.dim((*bs)[n.attr_int("transB", 0) ? 1 : 0]);
    if (!k && c.why.empty()) c.why = "the inner dimension K of A and B is unknown";
    if (ys) macs = times(c.of(*ys, n.output(0)), k);
  } else if (op == "LSTM" || op == "GRU" || op == "RNN") {
    macs = recurrent_macs(n, c);
  } else if (op == "Einsum") {
    c.why = "Einsum's MACs are not modeled";
  } else {
    return {};
  }
  if (!macs && c.why.empty()) c.why = "the count overflows 64 bits";
  return {true, macs, c.why};
}

void add_tensor(const Tensor& t, ModelInfo& info) {
  info.parameter_count += t.numel();
  if (t.is_string()) {
    for (const std::string& s : t.strings()) info.parameter_bytes += s.size();
  } else {
    info.parameter_bytes += t.nbytes();
  }
}

// The value a Constant node holds, whichever attribute carries it.
void add_constant_node(const ir::Node& n, ModelInfo& info) {
  for (const ir::Attribute& a : n.attributes()) {
    switch (a.type) {
      case ir::AttrType::Tensor:
        if (a.t) add_tensor(*a.t, info);
        break;
      case ir::AttrType::Float:
        info.parameter_count += 1;
        info.parameter_bytes += 4;
        break;
      case ir::AttrType::Int:
        info.parameter_count += 1;
        info.parameter_bytes += 8;
        break;
      case ir::AttrType::String:
        info.parameter_count += 1;
        info.parameter_bytes += a.s.size();
        break;
      case ir::AttrType::Floats:
        info.parameter_count += static_cast<int64_t>(a.floats.size());
        info.parameter_bytes += 4 * a.floats.size();
        break;
      case ir::AttrType::Ints:
        info.parameter_count += static_cast<int64_t>(a.ints.size());
        info.parameter_bytes += 8 * a.ints.size();
        break;
      case ir::AttrType::Strings:
        info.parameter_count += static_cast<int64_t>(a.strings.size());
        for (const std::string& s : a.strings) info.parameter_bytes += s.size();
        break;
      default:
        break;  // sparse_value stays opaque: not counted
    }
  }
}

std::vector<ValueSummary> summarize_values(const std::vector<ir::Value*>& values, bool skip_initializers) {
  std::vector<ValueSummary> out;
  for (const ir::Value* v : values) {
    if (skip_initializers && v->is_constant()) continue;
    out.push_back({v->name(), v->type.kind == Type::Kind::None ? "?" : v->type.to_string()});
  }
  return out;
}

}  // namespace

ModelInfo summarize_model(const ir::Model& model) {
  ModelInfo info;
  info.producer_name = model.producer_name;
  info.producer_version = model.producer_version;
  info.ir_version = model.ir_version;
  for (const ir::OpsetImport& op : model.opset_imports)
    info.opsets.emplace_back(is_default_domain(op.domain) ? "ai.onnx" : op.domain, op.version);
  if (!model.graph) return info;
  const ir::Graph& main = *model.graph;
  info.inputs = summarize_values(main.inputs(), true);
  for (const ir::Value* v : main.inputs()) info.initializer_inputs += v->is_constant();
  info.outputs = summarize_values(main.outputs(), false);
  info.node_count = static_cast<int64_t>(main.num_nodes());
  for (const ir::Node* n : main.nodes())
    ++info.op_counts[is_default_domain(n->domain()) ? n->op_type() : n->domain() + ":" + n->op_type()];

  // Every graph once, without recursion (import bounds the depth, but a stack costs nothing).
  DimProduct dp;
  std::set<std::string> symbols;
  std::vector<const ir::Graph*> pending = {&main};
  while (!pending.empty()) {
    const ir::Graph* g = pending.back();
    pending.pop_back();
    for (const ir::Value* v : g->initializers())
      if (v->constant()) add_tensor(*v->constant(), info);
    for (const ir::Node* n : g->nodes()) {
      if (n->op_type() == "Constant" && is_default_domain(n->domain())) add_constant_node(*n, info);
      for (const ir::Graph* sg : n->subgraphs()) {
        ++info.subgraph_count;
        pending.push_back(sg);
      }
      dp.symbols.clear();
      MacResult m = node_macs(*n, dp);
      if (!m.counts) continue;
      uint64_t sum = 0;
      if (m.macs && !__builtin_add_overflow(info.macs, *m.macs, &sum)) {
        info.macs = sum;
        ++info.macs_nodes;
        symbols.insert(dp.symbols.begin(), dp.symbols.end());
      } else {
        ++info.macs_unknown_nodes;
        info.macs_uncounted.push_back({n->describe(), n->op_type(), m.why.empty() ? "the count overflows" : m.why});
      }
    }
  }
  info.macs_symbols.assign(symbols.begin(), symbols.end());
  return info;
}

Result<ModelInfo> inspect_model_file(const std::filesystem::path& path, const std::vector<std::string>& shape_args) {
  ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> model, load_model(path, LoadOptions{}));
  ShapeBindings bound;
  if (!shape_args.empty()) {
    // --shape as run and bench take it: the inputs get those dims before inference, so the MACs are
    // those of the shapes a caller will feed.
    auto resolved = resolve_shape_args(*model->graph, shape_args);
    if (!resolved.is_ok()) return resolved.status().with_context(path.string());
    bound = std::move(resolved).value();
    TRY(apply_input_shapes(*model, bound.input_shapes, bound.dim_bindings).with_context(path.string()));
  }
  // Inputs and outputs as the file declares them (with --shape applied), before inference refines anything.
  ModelInfo declared = summarize_model(*model);
  ShapeInferenceReport report;
  Status st = infer_shapes(*model, &report);
  ModelInfo info = summarize_model(*model);
  info.inputs = std::move(declared.inputs);
  info.outputs = std::move(declared.outputs);
  info.shapes_bound = std::move(bound);
  if (!st.is_ok()) {
    info.shape_inference = st.message();
  } else if (report.ran) {
    info.shape_inference = report.note.empty() ? "onnx" : "onnx: " + report.note;
  } else {
    info.shape_inference = report.note;
  }
  return info;
}

}  // namespace ortool
