// ONNX import: ModelProto -> ir::Model in two phases per graph (define every name, then connect).
#include "lib/onnx_import.h"

#include <new>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "lib/proto_convert.h"

namespace ortool {

namespace {

using proto::unknown_fields_of;

// Densified sparse initializers larger than this are refused: a tiny file must not claim gigabytes.
constexpr uint64_t kMaxDenseSparseBytes = uint64_t{1} << 30;

// Same wording as ir::Node::describe(), for nodes that do not exist yet.
std::string node_label(const onnx::NodeProto& np) {
  if (!np.name().empty()) return fmt::format("node '{}' ({})", np.name(), np.op_type());
  for (const std::string& o : np.output())
    if (!o.empty()) return fmt::format("{} node producing '{}'", np.op_type(), o);
  return fmt::format("unnamed {} node", np.op_type());
}

void apply_value_info(const onnx::ValueInfoProto& vi, ir::Value* v) {
  if (vi.has_type()) v->type = proto::type_from_proto(vi.type());
  if (!vi.doc_string().empty()) v->doc_string = vi.doc_string();
  std::string unknown = unknown_fields_of(vi);
  if (!unknown.empty()) v->info_unknown_fields = std::move(unknown);
}

// Old models omit AttributeProto.type; the kind is whichever field is set.
ir::AttrType infer_attr_type(const onnx::AttributeProto& a) {
  using T = ir::AttrType;
  if (a.has_f()) return T::Float;
  if (a.has_i()) return T::Int;
  if (a.has_s()) return T::String;
  if (a.has_t()) return T::Tensor;
  if (a.has_g()) return T::Graph;
  if (a.has_sparse_tensor()) return T::SparseTensor;
  if (a.has_tp()) return T::TypeProto;
  if (a.floats_size()) return T::Floats;
  if (a.ints_size()) return T::Ints;
  if (a.strings_size()) return T::Strings;
  if (a.tensors_size()) return T::Tensors;
  if (a.graphs_size()) return T::Graphs;
  if (a.sparse_tensors_size()) return T::SparseTensors;
  if (a.type_protos_size()) return T::TypeProtos;
  return T::Undefined;
}

// A SparseTensorProto as a dense tensor (values scattered into zeros), every index checked.
Result<Tensor> densify_sparse(const onnx::SparseTensorProto& sp, const ExternalDataContext* ctx) {
  const std::string label = proto::tensor_label(sp.values().name());
  ASSIGN_OR_RETURN(Tensor values, proto::tensor_from_proto(sp.values(), ctx));
  ASSIGN_OR_RETURN(Tensor indices, proto::tensor_from_proto(sp.indices(), ctx));
  if (values.is_string()) return unsupported("{}: sparse string tensors are not supported", label);
  std::vector<int64_t> dims(sp.dims().begin(), sp.dims().end());
  auto numel = checked_numel(dims);
  if (!numel) return invalid("{} (sparse): dims: {}", label, numel.status().message());
  if (values.rank() != 1) return invalid("{} (sparse): values must be 1-D", label);
  const int64_t nnz = values.numel();
  if (indices.dtype() != DType::Int64) return invalid("{} (sparse): indices must be int64", label);
  const bool linear = indices.rank() == 1;
  if (linear ? indices.dims()[0] != nnz
             : (indices.rank() != 2 || indices.dims()[0] != nnz || indices.dims()[1] != static_cast<int64_t>(dims.size())))
    return invalid("{} (sparse): indices shape does not match {} values of rank {}", label, nnz, dims.size());
  auto dense_r = Tensor::make(values.dtype(), dims, kMaxDenseSparseBytes);
  if (!dense_r) return dense_r.status().with_context(fmt::format("{} (sparse, densified)", label));
  Tensor dense = std::move(*dense_r);
  const auto* idx = indices.data<int64_t>();
  const size_t es = values.element_size();
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t lin = 0;
    if (linear) {
      lin = idx[k];
    } else {
      for (size_t d = 0; d < dims.size(); ++d) {
        int64_t c = idx[k * static_cast<int64_t>(dims.size()) + static_cast<int64_t>(d)];
        if (c < 0 || c >= dims[d]) return invalid("{} (sparse): index {} out of range", label, c);
        lin = lin * dims[d] + c;
      }
    }
    if (lin < 0 || lin >= *numel) return invalid("{} (sparse): index {} out of range", label, lin);
    std::memcpy(static_cast<std::byte*>(dense.raw_mutable()) + static_cast<size_t>(lin) * es,
                static_cast<const std::byte*>(values.raw()) + static_cast<size_t>(k) * es, es);
  }
  dense.name = sp.values().name();
  return dense;
}

class Importer {
 public:
  explicit Importer(const ImportOptions& opt) : opt_(opt) {}
  Status import_graph(onnx::GraphProto& gp, ir::Graph* g, int depth);

 private:
  Result<ir::Attribute> import_attribute(onnx::AttributeProto& ap, ir::Graph* g, ir::Node* n, int depth);
  const ImportOptions& opt_;
  // A subgraph error names the outermost and the innermost attribute only: a breadcrumb per level
  // would make one line of kilobytes from a deeply nested (possibly hostile) model.
  bool crumbed_ = false;   // the innermost level has named itself
  int crumbs_skipped_ = 0;  // levels between it and the outermost
};

Result<ir::Attribute> Importer::import_attribute(onnx::AttributeProto& ap, ir::Graph* g, ir::Node* n, int depth) {
  using T = ir::AttrType;
  ir::Attribute a;
  a.name = ap.name();
  a.doc_string = ap.doc_string();
  a.ref_attr_name = ap.ref_attr_name();
  a.unknown_fields = unknown_fields_of(ap);
  a.type_was_set = ap.has_type();
  a.type = ap.has_type() ? static_cast<T>(ap.type()) : infer_attr_type(ap);
  const std::string where = fmt::format("{} attribute '{}'", n->describe(), a.name);

  auto tensor = [&](onnx::TensorProto& tp) -> Result<TensorPtr> {
    auto t = proto::tensor_from_proto(tp, opt_.external_data, /*steal=*/true);
    if (!t) return t.status().with_context(where);
    return std::make_shared<const Tensor>(std::move(*t));
  };
  auto graph = [&](onnx::GraphProto& gp) -> Result<std::shared_ptr<ir::Graph>> {
    auto sub = std::make_shared<ir::Graph>(g, n);
    Status st = import_graph(gp, sub.get(), depth + 1);
    if (st) return sub;
    if (depth == 0) {
      const int skipped = std::exchange(crumbs_skipped_, 0);
      crumbed_ = false;
      return st.with_context(skipped ? fmt::format("{}: ... {} more levels ...", where, skipped) : where);
    }
    if (crumbed_) {
      ++crumbs_skipped_;
      return st;
    }
    crumbed_ = true;
    return st.with_context(where);
  };

  switch (a.type) {
    case T::Undefined: break;
    case T::Float: a.f = ap.f(); break;
    case T::Int: a.i = ap.i(); break;
    case T::String: a.s = ap.s(); break;
    case T::Tensor: { ASSIGN_OR_RETURN(a.t, tensor(*ap.mutable_t())); break; }
    case T::Graph: { ASSIGN_OR_RETURN(a.g, graph(*ap.mutable_g())); break; }
    case T::Floats: a.floats.assign(ap.floats().begin(), ap.floats().end()); break;
    case T::Ints: a.ints.assign(ap.ints().begin(), ap.ints().end()); break;
    case T::Strings: a.strings.assign(ap.strings().begin(), ap.strings().end()); break;
    case T::Tensors:
      for (auto& tp : *ap.mutable_tensors()) {
        ASSIGN_OR_RETURN(TensorPtr t, tensor(tp));
        a.tensors.push_back(std::move(t));
      }
      break;
    case T::Graphs:
      for (auto& gp : *ap.mutable_graphs()) {
        ASSIGN_OR_RETURN(std::shared_ptr<ir::Graph> sub, graph(gp));
        a.graphs.push_back(std::move(sub));
      }
      break;
    // Kinds the IR does not interpret travel as serialized protos.
    case T::SparseTensor: a.opaque.push_back(ap.sparse_tensor().SerializeAsString()); break;
    case T::SparseTensors:
      for (const auto& s : ap.sparse_tensors()) a.opaque.push_back(s.SerializeAsString());
      break;
    case T::TypeProto: a.opaque.push_back(ap.tp().SerializeAsString()); break;
    case T::TypeProtos:
      for (const auto& s : ap.type_protos()) a.opaque.push_back(s.SerializeAsString());
      break;
    default:
      return invalid("{}: unknown attribute type {}", where, static_cast<int>(a.type));
  }
  return a;
}

Status Importer::import_graph(onnx::GraphProto& gp, ir::Graph* g, int depth) {
  if (depth > opt_.max_subgraph_depth)
    return invalid("subgraphs nested deeper than {} levels", opt_.max_subgraph_depth);
  g->name = gp.name();
  g->doc_string = gp.doc_string();
  g->unknown_fields = unknown_fields_of(gp);

  // Phase 1: every name this graph defines, with what defined it (for duplicate messages).
  std::unordered_map<std::string, std::string> defined_by;
  for (int i = 0; i < gp.input_size(); ++i) {
    const auto& vi = gp.input(i);
    if (vi.name().empty()) return invalid("graph input #{} has no name", i);
    if (defined_by.count(vi.name())) return invalid("graph input '{}' is listed twice", vi.name());
    ir::Value* v = g->add_value(vi.name());
    apply_value_info(vi, v);
    g->add_input(v);
    defined_by[vi.name()] = "a graph input";
  }

  std::unordered_set<std::string> initializer_names;
  for (int i = 0; i < gp.initializer_size(); ++i) {
    auto& tp = *gp.mutable_initializer(i);
    const std::string name = tp.name();
    if (name.empty()) return invalid("initializer #{} has no name", i);
    if (!initializer_names.insert(name).second) return invalid("initializer '{}' is defined twice", name);
    auto t = proto::tensor_from_proto(tp, opt_.external_data, /*steal=*/true);
    if (!t) return t.status();
    // An IR<4 model lists initializers among the graph inputs too: then it is one value, both.
    ir::Value* v = g->find_value(name);
    if (!v) {
      v = g->add_value(name);
      defined_by[name] = "an initializer";
    }
    if (v->type.kind == Type::Kind::None) v->type = Type::tensor(t->dtype(), shape_from_dims(t->dims()));
    g->set_constant(v, std::make_shared<const Tensor>(std::move(*t)));
  }

  for (int i = 0; i < gp.sparse_initializer_size(); ++i) {
    const auto& sp = gp.sparse_initializer(i);
    const std::string& name = sp.values().name();
    g->sparse_initializers.push_back(sp.SerializeAsString());
    if (name.empty()) return invalid("sparse initializer #{} has no name", i);
    if (initializer_names.count(name) || (defined_by.count(name) && !g->find_value(name)->is_graph_input()))
      return invalid("sparse initializer '{}' is defined twice", name);
    initializer_names.insert(name);
    // Also a dense constant, so nodes can read it; export writes it back as the sparse proto only.
    ASSIGN_OR_RETURN(Tensor dense, densify_sparse(sp, opt_.external_data));
    ir::Value* v = g->find_value(name);
    if (!v) {
      v = g->add_value(name);
      defined_by[name] = "a sparse initializer";
    }
    if (v->type.kind == Type::Kind::None) v->type = Type::tensor(dense.dtype(), shape_from_dims(dense.dims()));
    g->set_constant(v, std::make_shared<const Tensor>(std::move(dense)));
  }

  std::vector<ir::Node*> created;
  created.reserve(static_cast<size_t>(gp.node_size()));
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& np = gp.node(i);
    const std::string label = node_label(np);
    if (np.op_type().empty()) return invalid("{} (node #{}) has no op_type", label, i);
    std::vector<std::string> outs(np.output().begin(), np.output().end());
    for (const std::string& o : outs) {
      if (o.empty()) continue;
      auto it = defined_by.find(o);
      if (it != defined_by.end())
        return invalid("{}: output '{}' is already defined by {}", label, o, it->second);
      defined_by[o] = label;
    }
    ir::Node* n = g->add_node(np.op_type(), np.domain(), {}, outs, np.name());
    n->name_written = np.has_name();
    n->domain_written = np.has_domain();
    for (size_t k = 0; k < outs.size(); ++k) {
      // Absent optional outputs ("") are dropped at once, so their generated names never collide.
      if (outs[k].empty()) g->set_output_absent(n, k);
      else if (n->output(k)->name() != outs[k])
        return internal_error("{}: output '{}' was renamed to '{}'", label, outs[k], n->output(k)->name());
    }
    n->doc_string = np.doc_string();
    n->unknown_fields = unknown_fields_of(np);
    created.push_back(n);
  }

  // Phase 2: connect inputs (any order in the file works), then import subgraphs, which may read
  // any value of this graph or an enclosing one.
  for (int i = 0; i < gp.node_size(); ++i) {
    auto& np = *gp.mutable_node(i);
    ir::Node* n = created[static_cast<size_t>(i)];
    for (int k = 0; k < np.input_size(); ++k) {
      const std::string& in = np.input(k);
      ir::Value* v = nullptr;
      if (!in.empty()) {
        v = g->lookup(in);
        if (!v) return invalid("{}: input '{}' is not defined", n->describe(), in);
      }
      g->set_input(n, static_cast<size_t>(k), v);
    }
    for (auto& ap : *np.mutable_attribute()) {
      ASSIGN_OR_RETURN(ir::Attribute a, import_attribute(ap, g, n, depth));
      n->attributes().push_back(std::move(a));
    }
  }

  for (int i = 0; i < gp.output_size(); ++i) {
    const auto& vi = gp.output(i);
    if (vi.name().empty()) return invalid("graph output #{} has no name", i);
    // A subgraph may return an outer value directly.
    ir::Value* v = g->lookup(vi.name());
    if (!v) return invalid("graph output '{}' is not defined", vi.name());
    if (v->graph() == g) apply_value_info(vi, v);
    g->add_output(v);
  }

  for (const auto& vi : gp.value_info()) {
    if (vi.name().empty()) continue;
    ir::Value* v = g->find_value(vi.name());
    if (!v && g->lookup(vi.name())) continue;  // annotates an outer value: its own graph carries the type
    // value_info of a name nothing defines is kept (lossless) on a value with no producer and no uses.
    if (!v) v = g->add_value(vi.name());
    apply_value_info(vi, v);
    g->value_info.push_back(v);
  }
  for (const auto& qa : gp.quantization_annotation()) g->quantization_annotations.push_back(qa.SerializeAsString());

  g->original_order = created;
  TRY(g->sort_topologically());
  // Snapshot after sorting: export keeps the file order as long as nothing edits the graph.
  g->original_order_edit_count = g->edit_count();
  return Status::ok();
}

Status import_model(onnx::ModelProto& mp, ir::Model& m, const ImportOptions& opt) {
  if (!mp.has_ir_version()) return invalid("missing ir_version");
  if (mp.ir_version() <= 0) return invalid("invalid ir_version {}", mp.ir_version());
  if (mp.ir_version() > kMaxIrVersion)
    return unsupported("ir_version {} is newer than the newest supported ({})", mp.ir_version(), kMaxIrVersion);
  if (mp.opset_import_size() == 0) return invalid("no opset_import (which operator set versions does it use?)");
  m.ir_version = mp.ir_version();
  std::unordered_set<std::string> domains;
  for (const auto& o : mp.opset_import()) {
    std::string d = o.domain() == "ai.onnx" ? std::string() : o.domain();
    if (!domains.insert(d).second) return invalid("opset_import lists domain '{}' twice", o.domain());
    if (o.version() < 0) return invalid("opset_import for domain '{}' has negative version {}", o.domain(), o.version());
    m.opset_imports.push_back({o.domain(), o.version(), o.has_domain() || !o.domain().empty()});
  }
  m.producer_name = mp.producer_name();
  m.producer_version = mp.producer_version();
  m.domain = mp.domain();
  m.model_version = mp.model_version();
  m.doc_string = mp.doc_string();
  for (const auto& kv : mp.metadata_props()) m.metadata_props.emplace_back(kv.key(), kv.value());
  for (const auto& f : mp.functions()) m.functions.push_back(f.SerializeAsString());
  for (const auto& t : mp.training_info()) m.training_info.push_back(t.SerializeAsString());
  m.unknown_fields = unknown_fields_of(mp);
  if (!mp.has_graph()) return invalid("model has no graph");
  Importer importer(opt);
  TRY(importer.import_graph(*mp.mutable_graph(), m.graph.get(), 0));
  return m.graph->verify();
}

}  // namespace

namespace proto {

int model_recursion_limit(int max_subgraph_depth) {
  // Every subgraph level costs three message levels (Graph > Node > Attribute); types nest further.
  return 3 * max_subgraph_depth + 64;
}

Result<std::unique_ptr<ir::Model>> import_parsed_model(onnx::ModelProto& mp, const ImportOptions& opt) {
  auto model = std::make_unique<ir::Model>();
  try {
    TRY(import_model(mp, *model, opt).with_context(opt.source_name));
  } catch (const std::bad_alloc&) {
    return resource_limit("{}: out of memory while importing the model", opt.source_name);
  }
  return model;
}

}  // namespace proto

Result<std::unique_ptr<ir::Model>> import_model_proto(std::string_view bytes, const ImportOptions& opt) {
  onnx::ModelProto mp;
  TRY(proto::parse_model_proto(bytes, &mp, opt.source_name, proto::model_recursion_limit(opt.max_subgraph_depth)));
  return proto::import_parsed_model(mp, opt);
}

}  // namespace ortool
