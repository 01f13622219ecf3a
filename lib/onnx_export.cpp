// ONNX export: ir::Model -> ModelProto, writing back everything import kept (order, unknown fields).
#include "lib/onnx_export.h"

#include <climits>
#include <new>
#include <unordered_set>

#include "lib/proto_convert.h"

namespace ortool {

namespace proto {

namespace {

class Exporter {
 public:
  explicit Exporter(ExternalWritePlan* ext) : ext_(ext) {}
  Status graph(const ir::Graph& g, onnx::GraphProto* gp);

 private:
  Status attribute(const ir::Attribute& a, onnx::AttributeProto* ap);
  void initializer(const ir::Value& v, onnx::TensorProto* tp);
  ExternalWritePlan* ext_;
};

void value_info_to_proto(const ir::Value& v, onnx::ValueInfoProto* vi) {
  vi->set_name(v.name());
  if (v.type.kind != Type::Kind::None) type_to_proto(v.type, vi->mutable_type());
  if (!v.doc_string.empty()) vi->set_doc_string(v.doc_string);
  restore_unknown_fields(v.info_unknown_fields, vi);
}

template <typename Msg>
Status parse_kept(const std::string& bytes, Msg* out, std::string_view what) {
  if (!out->ParseFromString(bytes)) return internal_error("kept {} does not parse back", what);
  return Status::ok();
}

Status Exporter::attribute(const ir::Attribute& a, onnx::AttributeProto* ap) {
  using T = ir::AttrType;
  ap->set_name(a.name);
  if (a.type_was_set) ap->set_type(static_cast<onnx::AttributeProto::AttributeType>(a.type));
  if (!a.ref_attr_name.empty()) ap->set_ref_attr_name(a.ref_attr_name);
  if (!a.doc_string.empty()) ap->set_doc_string(a.doc_string);
  switch (a.type) {
    case T::Float: ap->set_f(a.f); break;
    case T::Int: ap->set_i(a.i); break;
    case T::String: ap->set_s(a.s); break;
    case T::Tensor:
      if (a.t) tensor_to_proto(*a.t, ap->mutable_t());
      break;
    case T::Graph:
      if (a.g) TRY(graph(*a.g, ap->mutable_g()));
      break;
    case T::Floats: ap->mutable_floats()->Add(a.floats.begin(), a.floats.end()); break;
    case T::Ints: ap->mutable_ints()->Add(a.ints.begin(), a.ints.end()); break;
    case T::Strings:
      for (const std::string& s : a.strings) ap->add_strings(s);
      break;
    case T::Tensors:
      for (const TensorPtr& t : a.tensors) tensor_to_proto(t ? *t : Tensor(), ap->add_tensors());
      break;
    case T::Graphs:
      for (const auto& sg : a.graphs)
        if (sg) TRY(graph(*sg, ap->add_graphs()));
      break;
    case T::SparseTensor:
      if (!a.opaque.empty()) TRY(parse_kept(a.opaque[0], ap->mutable_sparse_tensor(), "sparse tensor attribute"));
      break;
    case T::SparseTensors:
      for (const std::string& s : a.opaque) TRY(parse_kept(s, ap->add_sparse_tensors(), "sparse tensor attribute"));
      break;
    case T::TypeProto:
      if (!a.opaque.empty()) TRY(parse_kept(a.opaque[0], ap->mutable_tp(), "type attribute"));
      break;
    case T::TypeProtos:
      for (const std::string& s : a.opaque) TRY(parse_kept(s, ap->add_type_protos(), "type attribute"));
      break;
    default:
      break;
  }
  restore_unknown_fields(a.unknown_fields, ap);
  return Status::ok();
}

void Exporter::initializer(const ir::Value& v, onnx::TensorProto* tp) {
  const Tensor& t = *v.constant();
  if (ext_ && !t.is_string() && t.nbytes() > 0 && t.nbytes() >= ext_->threshold) {
    for (int64_t d : t.dims()) tp->add_dims(d);
    tp->set_data_type(static_cast<int32_t>(t.dtype()));
    tp->set_name(v.name());
    if (!t.doc_string.empty()) tp->set_doc_string(t.doc_string);
    const auto& e = ext_->layout.entries[ext_->layout.add(&t)];
    auto add = [&](const char* k, std::string val) {
      auto* kv = tp->add_external_data();
      kv->set_key(k);
      kv->set_value(std::move(val));
    };
    add("location", ext_->location);
    add("offset", std::to_string(e.offset));
    add("length", std::to_string(e.length));
    tp->set_data_location(onnx::TensorProto::EXTERNAL);
    return;
  }
  tensor_to_proto(t, tp);
  tp->set_name(v.name());  // the value may have been renamed since import
}

Status Exporter::graph(const ir::Graph& g, onnx::GraphProto* gp) {
  if (!g.name.empty()) gp->set_name(g.name);
  if (!g.doc_string.empty()) gp->set_doc_string(g.doc_string);

  std::vector<ir::Node*> order = g.nodes();
  if (g.edit_count() == g.original_order_edit_count && g.original_order.size() == order.size())
    order = g.original_order;
  for (const ir::Node* n : order) {
    auto* np = gp->add_node();
    for (const ir::Value* v : n->inputs()) np->add_input(v ? v->name() : std::string());
    for (const ir::Value* v : n->outputs()) np->add_output(v ? v->name() : std::string());
    if (n->name_written || !n->name.empty()) np->set_name(n->name);
    np->set_op_type(n->op_type());
    if (n->domain_written || !n->domain().empty()) np->set_domain(n->domain());
    if (!n->doc_string.empty()) np->set_doc_string(n->doc_string);
    for (const ir::Attribute& a : n->attributes()) TRY(attribute(a, np->add_attribute()));
    restore_unknown_fields(n->unknown_fields, np);
  }

  // Densified sparse initializers go back out as their sparse protos only.
  std::unordered_set<std::string> sparse_names;
  for (const std::string& s : g.sparse_initializers) {
    auto* sp = gp->add_sparse_initializer();
    TRY(parse_kept(s, sp, "sparse initializer"));
    sparse_names.insert(sp->values().name());
  }
  for (const ir::Value* v : g.initializers())
    if (v->constant() && !sparse_names.count(v->name())) initializer(*v, gp->add_initializer());
  for (const ir::Value* v : g.inputs()) value_info_to_proto(*v, gp->add_input());
  for (const ir::Value* v : g.outputs()) value_info_to_proto(*v, gp->add_output());
  for (const ir::Value* v : g.value_info) value_info_to_proto(*v, gp->add_value_info());
  for (const std::string& s : g.quantization_annotations)
    TRY(parse_kept(s, gp->add_quantization_annotation(), "quantization annotation"));
  restore_unknown_fields(g.unknown_fields, gp);
  return Status::ok();
}

}  // namespace

Status model_to_proto(const ir::Model& m, onnx::ModelProto* out, ExternalWritePlan* external) {
  out->set_ir_version(m.ir_version);
  for (const ir::OpsetImport& o : m.opset_imports) {
    auto* op = out->add_opset_import();
    if (o.domain_written || !o.domain.empty()) op->set_domain(o.domain);
    op->set_version(o.version);
  }
  if (!m.producer_name.empty()) out->set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) out->set_producer_version(m.producer_version);
  if (!m.domain.empty()) out->set_domain(m.domain);
  if (m.model_version != 0) out->set_model_version(m.model_version);
  if (!m.doc_string.empty()) out->set_doc_string(m.doc_string);
  for (const auto& [k, v] : m.metadata_props) {
    auto* kv = out->add_metadata_props();
    kv->set_key(k);
    kv->set_value(v);
  }
  if (!m.graph) return internal_error("model has no graph");
  Exporter ex(external);
  TRY(ex.graph(*m.graph, out->mutable_graph()));
  for (const std::string& s : m.training_info) TRY(parse_kept(s, out->add_training_info(), "training_info"));
  for (const std::string& s : m.functions) TRY(parse_kept(s, out->add_functions(), "function"));
  restore_unknown_fields(m.unknown_fields, out);
  return Status::ok();
}

}  // namespace proto

Result<std::string> export_model_proto_bytes(const ir::Model& model) {
  try {
    onnx::ModelProto mp;
    TRY(proto::model_to_proto(model, &mp, nullptr));
    size_t size = mp.ByteSizeLong();
    if (size > static_cast<size_t>(INT_MAX))
      return resource_limit("the model is {} bytes serialized, over protobuf's 2 GiB limit: save it with external data",
                            size);
    return mp.SerializeAsString();
  } catch (const std::bad_alloc&) {
    return resource_limit("out of memory while serializing the model");
  }
}

}  // namespace ortool
