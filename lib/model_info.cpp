// Computes the `ortool info` summary of a model: counts, parameters, and MACs from known shapes.
#include "lib/model_info.h"

#include <optional>
#include <set>

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

// prod(out) * prod(W[1:]): one multiply-accumulate per output element per weight of a group's filter.
std::optional<uint64_t> conv_macs(const ir::Value* y, const ir::Value* w, DimProduct& dp) {
  auto ys = value_shape(y);
  auto ws = value_shape(w);
  if (!ys || !ws || ws->size() < 2) return std::nullopt;
  return times(dp.of(*ys), dp.of(*ws, 1));
}

// prod(out) * K, K being the reduced dimension of the first operand.
std::optional<uint64_t> matmul_macs(const ir::Value* a, const ir::Value* y, DimProduct& dp) {
  auto as = value_shape(a);
  auto ys = value_shape(y);
  if (!as || !ys || as->empty()) return std::nullopt;
  return times(dp.of(*ys), dp.dim(as->back()));
}

struct MacResult {
  bool counts = false;  // the op is one whose MACs are counted
  std::optional<uint64_t> macs;
};

MacResult node_macs(const ir::Node& n, DimProduct& dp) {
  if (!is_default_domain(n.domain())) return {};
  const std::string& op = n.op_type();
  if (op == "Conv" || op == "ConvInteger") return {true, conv_macs(n.output(0), n.input(1), dp)};
  if (op == "QLinearConv") return {true, conv_macs(n.output(0), n.input(3), dp)};
  if (op == "ConvTranspose") {
    // Each input element is scattered through a filter of W[1:] (M/group x kernel).
    auto xs = value_shape(n.input(0));
    auto ws = value_shape(n.input(1));
    if (!xs || !ws || ws->size() < 2) return {true, std::nullopt};
    return {true, times(dp.of(*xs), dp.of(*ws, 1))};
  }
  if (op == "MatMul" || op == "MatMulInteger" || op == "QLinearMatMul")
    return {true, matmul_macs(n.input(0), n.output(0), dp)};
  if (op == "Gemm") {
    auto ys = value_shape(n.output(0));
    auto as = value_shape(n.input(0));
    auto bs = value_shape(n.input(1));
    std::optional<uint64_t> k;
    if (as && as->size() == 2) k = dp.dim((*as)[n.attr_int("transA", 0) ? 0 : 1]);
    if (!k && bs && bs->size() == 2) k = dp.dim((*bs)[n.attr_int("transB", 0) ? 1 : 0]);
    if (!ys) return {true, std::nullopt};
    return {true, times(dp.of(*ys), k)};
  }
  return {};
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
      }
    }
  }
  info.macs_symbols.assign(symbols.begin(), symbols.end());
  return info;
}

Result<ModelInfo> inspect_model_file(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<ir::Model> model, load_model(path, LoadOptions{}));
  // Inputs and outputs as the file declares them, before inference refines anything.
  ModelInfo declared = summarize_model(*model);
  ShapeInferenceReport report;
  Status st = infer_shapes(*model, &report);
  ModelInfo info = summarize_model(*model);
  info.inputs = std::move(declared.inputs);
  info.outputs = std::move(declared.outputs);
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
