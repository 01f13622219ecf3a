// Runs onnx::shape_inference::InferShapes on the exported model and copies inferred types back.
#include "lib/onnx_shape_inference.h"

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <exception>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/proto_convert.h"

namespace ortool {

namespace {

constexpr size_t kInlineBytes = 4096;

// Copies the types onnx inferred for one graph (and, recursively, its subgraphs) into `g`.
class TypeWriter {
 public:
  // Symbols the model used before inference; onnx names every other unknown dim "unk__N", which
  // means nothing outside one inference run, so such dims are written back as unknown.
  explicit TypeWriter(std::unordered_set<std::string> symbols) : symbols_(std::move(symbols)) {}

  size_t typed = 0;

  void apply(ir::Graph& g, const onnx::GraphProto& gp) {
    std::unordered_set<const ir::Value*> listed(g.value_info.begin(), g.value_info.end());
    for (const auto& vi : gp.value_info()) {
      ir::Value* v = g.find_value(vi.name());
      if (!v || !vi.has_type()) continue;
      // Listed even when the type did not change: a pass may have typed the value without listing
      // it, and export writes only listed values (onnx's version converter reads ranks from them).
      if (!take_type(v, vi.type()) && v->type.kind == Type::Kind::None) continue;
      bool is_initializer = v->is_constant() && v->producer() == nullptr;
      if (!listed.count(v) && !v->is_graph_input() && !v->is_graph_output() && !is_initializer) {
        g.value_info.push_back(v);
        listed.insert(v);
      }
    }
    for (const auto& vi : gp.output()) {
      ir::Value* v = g.find_value(vi.name());
      if (v && vi.has_type()) take_type(v, vi.type());
    }
    apply_subgraphs(g, gp);
  }

 private:
  // Sets `v`'s type when onnx's (already merged with the existing one) says more; true if it changed.
  bool take_type(ir::Value* v, const onnx::TypeProto& tp) {
    if (tp.value_case() == onnx::TypeProto::VALUE_NOT_SET) return false;
    Type t = proto::type_from_proto(tp);
    forget_new_symbols(t);
    if (t.kind == Type::Kind::None || t.kind == Type::Kind::Opaque || t == v->type) return false;
    if (v->type.kind != Type::Kind::None && v->type.kind != t.kind) return false;  // never change the kind
    v->type = std::move(t);
    ++typed;
    return true;
  }

  void forget_new_symbols(Type& t) const {
    if (t.shape)
      for (Dim& d : *t.shape)
        if (d.kind == Dim::Kind::Param && !symbols_.count(d.param)) {
          d.kind = Dim::Kind::Unknown;
          d.param.clear();
        }
    if (t.inner) {
      auto inner = std::make_shared<Type>(*t.inner);
      forget_new_symbols(*inner);
      t.inner = std::move(inner);
    }
  }

  // Pairs IR nodes with proto nodes (same order when op types agree, else by first output name).
  void apply_subgraphs(ir::Graph& g, const onnx::GraphProto& gp) {
    // Export writes the file's node order while the graph is unedited, the list order otherwise.
    bool file_order = !g.original_order.empty() && g.original_order_edit_count == g.edit_count();
    std::vector<ir::Node*> nodes = file_order ? g.original_order : g.nodes();
    bool positional = static_cast<int>(nodes.size()) == gp.node_size();
    for (size_t i = 0; positional && i < nodes.size(); ++i)
      positional = nodes[i]->op_type() == gp.node(static_cast<int>(i)).op_type();
    std::unordered_map<std::string, const onnx::NodeProto*> by_output;
    if (!positional)
      for (const auto& np : gp.node())
        for (const auto& o : np.output())
          if (!o.empty()) {
            by_output.emplace(o, &np);
            break;
          }
    for (size_t i = 0; i < nodes.size(); ++i) {
      ir::Node* n = nodes[i];
      if (n->subgraphs().empty()) continue;
      const onnx::NodeProto* np = nullptr;
      if (positional) {
        np = &gp.node(static_cast<int>(i));
      } else {
        for (ir::Value* o : n->outputs()) {
          if (!o) continue;
          auto it = by_output.find(o->name());
          if (it != by_output.end()) np = it->second;
          break;
        }
      }
      if (!np || np->op_type() != n->op_type()) continue;
      for (const ir::Attribute& a : n->attributes()) {
        for (const auto& ap : np->attribute()) {
          if (ap.name() != a.name) continue;
          if (a.type == ir::AttrType::Graph && a.g && ap.has_g()) apply(*a.g, ap.g());
          if (a.type == ir::AttrType::Graphs && static_cast<int>(a.graphs.size()) == ap.graphs_size())
            for (size_t k = 0; k < a.graphs.size(); ++k)
              if (a.graphs[k]) apply(*a.graphs[k], ap.graphs(static_cast<int>(k)));
        }
      }
    }
  }

  std::unordered_set<std::string> symbols_;
};

void collect_symbols(const Type& t, std::unordered_set<std::string>& out) {
  if (t.shape)
    for (const Dim& d : *t.shape)
      if (d.kind == Dim::Kind::Param) out.insert(d.param);
  if (t.inner) collect_symbols(*t.inner, out);
}

std::unordered_set<std::string> model_symbols(const ir::Graph& main) {
  std::unordered_set<std::string> out;
  std::vector<const ir::Graph*> pending = {&main};
  while (!pending.empty()) {
    const ir::Graph* g = pending.back();
    pending.pop_back();
    for (const ir::Value* v : g->values()) collect_symbols(v->type, out);
    for (const ir::Node* n : g->nodes())
      for (const ir::Graph* sg : n->subgraphs()) pending.push_back(sg);
  }
  return out;
}

// Ranks of the values of `g` whose type or dims are declared, added to `ranks` (outer scopes first).
void add_ranks(const onnx::GraphProto& g, std::unordered_map<std::string, int>& ranks) {
  auto typed = [&](const onnx::ValueInfoProto& vi) {
    if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape())
      ranks[vi.name()] = vi.type().tensor_type().shape().dim_size();
  };
  for (const auto& vi : g.input()) typed(vi);
  for (const auto& vi : g.value_info()) typed(vi);
  for (const auto& vi : g.output()) typed(vi);
  for (const auto& t : g.initializer()) ranks[t.name()] = t.dims_size();
}

std::string conv_pool_hazard(const onnx::NodeProto& n, const std::unordered_map<std::string, int>& ranks) {
  static const std::unordered_set<std::string> family = {"Conv",    "ConvInteger", "QLinearConv", "ConvTranspose",
                                                         "AveragePool", "MaxPool", "LpPool",      "MaxUnpool"};
  if (!n.domain().empty() && n.domain() != "ai.onnx") return {};
  if (!family.count(n.op_type())) return {};
  const std::string where = fmt::format("node '{}' ({})", n.name(), n.op_type());
  bool has_kernel_shape = false;
  for (const auto& a : n.attribute()) {
    if (a.name() != "strides" && a.name() != "dilations" && a.name() != "kernel_shape") continue;
    has_kernel_shape = has_kernel_shape || a.name() == "kernel_shape";
    for (int64_t v : a.ints())
      if (v <= 0) return fmt::format("{} has {} {}", where, a.name(), v);
  }
  // Conv-like nodes without kernel_shape take it from the weight (input 1; QLinearConv: input 3).
  const int w = n.op_type() == "QLinearConv" ? 3 : 1;
  if (has_kernel_shape || n.op_type().find("Pool") != std::string::npos || n.input_size() <= w) return {};
  auto in = ranks.find(n.input(0));
  auto wr = ranks.find(n.input(w));
  if (in != ranks.end() && wr != ranks.end() && in->second != wr->second)
    return fmt::format("{} has a rank-{} weight for a rank-{} input", where, wr->second, in->second);
  return {};
}

// A required attribute of the node's schema that the node lacks or holds with another type: libonnx's
// shape functions read required attributes without checking them (Scan's num_scan_inputs: a null
// dereference, found by fuzz/fuzz_optimize), trusting the checker, which inference does not run.
std::string attribute_hazard(const onnx::NodeProto& n, const std::unordered_map<std::string, int64_t>& opsets) {
  const std::string domain = n.domain() == "ai.onnx" ? "" : n.domain();
  auto v = opsets.find(domain);
  if (v == opsets.end()) return {};
  const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(v->second), domain);
  if (!schema) return {};
  for (const auto& [name, attr] : schema->attributes()) {
    if (!attr.required) continue;
    const onnx::AttributeProto* found = nullptr;
    for (const auto& a : n.attribute())
      if (a.name() == name) found = &a;
    if (!found)
      return fmt::format("node '{}' ({}) lacks its required attribute '{}'", n.name(), n.op_type(), name);
    if (found->type() != attr.type)
      return fmt::format("node '{}' ({}) has attribute '{}' of the wrong type", n.name(), n.op_type(), name);
  }
  return {};
}

std::string graph_hazard(const onnx::GraphProto& g, std::unordered_map<std::string, int> ranks,
                         const std::unordered_map<std::string, int64_t>& opsets) {
  add_ranks(g, ranks);
  for (const auto& n : g.node()) {
    if (std::string h = conv_pool_hazard(n, ranks); !h.empty()) return h;
    if (std::string h = attribute_hazard(n, opsets); !h.empty()) return h;
    for (const auto& a : n.attribute()) {
      if (a.has_g())
        if (std::string h = graph_hazard(a.g(), ranks, opsets); !h.empty()) return h;
      for (const auto& sg : a.graphs())
        if (std::string h = graph_hazard(sg, ranks, opsets); !h.empty()) return h;
    }
  }
  return {};
}

}  // namespace

std::string onnx_inference_hazard(const onnx::ModelProto& model) {
  std::unordered_map<std::string, int64_t> opsets;
  for (const auto& op : model.opset_import()) opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
  return graph_hazard(model.graph(), {}, opsets);
}

std::string opset_newer_than_onnx(std::string_view domain, int64_t version) {
  if (domain == "ai.onnx") domain = "";
  const auto& known = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = known.find(std::string(domain));
  if (it == known.end() || version <= it->second.second) return {};
  return fmt::format("{} opset {} is newer than libonnx's {}", domain.empty() ? "ai.onnx" : domain, version,
                     it->second.second);
}

std::string opsets_newer_than_onnx(const ir::Model& model) {
  for (const ir::OpsetImport& op : model.opset_imports)
    if (std::string s = opset_newer_than_onnx(op.domain, op.version); !s.empty()) return s;
  return {};
}

Status infer_shapes(ir::Model& model, ShapeInferenceReport* report) {
  ShapeInferenceReport local;
  ShapeInferenceReport& r = report ? *report : local;
  r = {};
  if (!model.graph) return invalid("shape inference: the model has no graph");
  if (std::string too_new = opsets_newer_than_onnx(model); !too_new.empty()) {
    r.note = fmt::format("onnx shape inference skipped: {}", too_new);
    return Status::ok();
  }
  // Large initializers are exported as (never written) external references instead of copies:
  // inference needs only their types, and the values of small shape-like tensors.
  proto::ExternalWritePlan plan;
  plan.location = "ortool-shape-inference-placeholder";
  plan.threshold = kInlineBytes;
  onnx::ModelProto exported;
  TRY(proto::model_to_proto(model, &exported, &plan).with_context("shape inference: export"));

  if (std::string hazard = onnx_inference_hazard(exported); !hazard.empty()) {
    r.note = fmt::format("onnx shape inference skipped: {}", hazard);
    return Status::ok();
  }
  // Data propagation infers more static shapes (Shape -> Gather -> Reshape chains) but is the
  // newer, less exercised path: when it throws, try once more without it.
  std::string error;
  for (bool data_prop : {true, false}) {
    onnx::ModelProto proto = data_prop ? exported : std::move(exported);
    try {
      onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/0, /*data_prop=*/data_prop);
      onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), options);
    } catch (const std::exception& e) {
      error = e.what();
      continue;
    }
    TypeWriter writer(model_symbols(*model.graph));
    writer.apply(*model.graph, proto.graph());
    r.ran = true;
    r.values_typed = writer.typed;
    if (!data_prop) r.note = fmt::format("onnx shape inference ran without data propagation ({})", error);
    return Status::ok();
  }
  r.note = fmt::format("onnx shape inference failed: {}", error);
  return invalid("shape inference: {}", error);
}

}  // namespace ortool
