// Tests for ONNX import/export: lossless round trips, the ONNX node test models, and bad inputs.
#include <doctest/doctest.h>
#include <google/protobuf/unknown_field_set.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "lib/model_io.h"
#include "lib/onnx_export.h"
#include "lib/onnx_import.h"
#include "lib/tensor_proto.h"
#include "tests/lib/io_test_util.h"

using namespace ortool;
using ortool::testing::TempDir;
namespace fs = std::filesystem;

namespace {

Result<std::unique_ptr<ir::Model>> import_bytes(const std::string& bytes) {
  ImportOptions o;
  o.source_name = "model.onnx";
  return import_model_proto(bytes, o);
}

Result<std::unique_ptr<ir::Model>> import_proto(const onnx::ModelProto& m) { return import_bytes(m.SerializeAsString()); }

std::string import_error(const onnx::ModelProto& m) {
  auto r = import_proto(m);
  return r.is_ok() ? std::string("(no error)") : r.status().message();
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(bytes));
  return m;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---------------------------------------------------------------- proto comparison

void compare_graph(const onnx::GraphProto& a, const onnx::GraphProto& b, const std::string& where);

void compare_tensor(const onnx::TensorProto& a, const onnx::TensorProto& b, const std::string& where) {
  CAPTURE(where);
  auto ta = tensor_from_proto_bytes(a.SerializeAsString());
  auto tb = tensor_from_proto_bytes(b.SerializeAsString());
  REQUIRE(ta.is_ok());
  REQUIRE(tb.is_ok());
  CHECK(ta->equals(*tb));
  CHECK(a.name() == b.name());
  CHECK(a.doc_string() == b.doc_string());
}

void compare_value_infos(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& a,
                         const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& b, const std::string& where) {
  CAPTURE(where);
  REQUIRE(a.size() == b.size());
  for (int i = 0; i < a.size(); ++i) {
    CHECK(a[i].name() == b[i].name());
    CHECK(a[i].has_type() == b[i].has_type());
    CHECK(a[i].type().SerializeAsString() == b[i].type().SerializeAsString());
    CHECK(a[i].doc_string() == b[i].doc_string());
  }
}

bool same_bits(float x, float y) { return std::memcmp(&x, &y, sizeof x) == 0; }

void compare_attribute(const onnx::AttributeProto& a, const onnx::AttributeProto& b, const std::string& where) {
  std::string w = where + " attribute " + a.name();
  CAPTURE(w);
  CHECK(a.name() == b.name());
  CHECK(a.has_type() == b.has_type());
  CHECK(a.type() == b.type());
  CHECK(a.ref_attr_name() == b.ref_attr_name());
  CHECK(a.doc_string() == b.doc_string());
  CHECK(same_bits(a.f(), b.f()));
  CHECK(a.i() == b.i());
  CHECK(a.s() == b.s());
  REQUIRE(a.floats_size() == b.floats_size());
  for (int i = 0; i < a.floats_size(); ++i) CHECK(same_bits(a.floats(i), b.floats(i)));
  CHECK(std::equal(a.ints().begin(), a.ints().end(), b.ints().begin(), b.ints().end()));
  CHECK(std::equal(a.strings().begin(), a.strings().end(), b.strings().begin(), b.strings().end()));
  CHECK(a.has_t() == b.has_t());
  if (a.has_t()) compare_tensor(a.t(), b.t(), w);
  REQUIRE(a.tensors_size() == b.tensors_size());
  for (int i = 0; i < a.tensors_size(); ++i) compare_tensor(a.tensors(i), b.tensors(i), w);
  CHECK(a.has_g() == b.has_g());
  if (a.has_g()) compare_graph(a.g(), b.g(), w);
  REQUIRE(a.graphs_size() == b.graphs_size());
  for (int i = 0; i < a.graphs_size(); ++i) compare_graph(a.graphs(i), b.graphs(i), w);
  CHECK(a.sparse_tensor().SerializeAsString() == b.sparse_tensor().SerializeAsString());
  CHECK(a.tp().SerializeAsString() == b.tp().SerializeAsString());
  CHECK(a.sparse_tensors_size() == b.sparse_tensors_size());
  CHECK(a.type_protos_size() == b.type_protos_size());
}

void compare_graph(const onnx::GraphProto& a, const onnx::GraphProto& b, const std::string& where) {
  std::string w = where + " graph " + a.name();
  CAPTURE(w);
  CHECK(a.name() == b.name());
  CHECK(a.doc_string() == b.doc_string());
  REQUIRE(a.node_size() == b.node_size());
  for (int i = 0; i < a.node_size(); ++i) {
    const auto& na = a.node(i);
    const auto& nb = b.node(i);
    CHECK(na.op_type() == nb.op_type());
    CHECK(na.name() == nb.name());
    CHECK(na.domain() == nb.domain());
    CHECK(na.doc_string() == nb.doc_string());
    CHECK(std::equal(na.input().begin(), na.input().end(), nb.input().begin(), nb.input().end()));
    CHECK(std::equal(na.output().begin(), na.output().end(), nb.output().begin(), nb.output().end()));
    REQUIRE(na.attribute_size() == nb.attribute_size());
    for (int k = 0; k < na.attribute_size(); ++k)
      compare_attribute(na.attribute(k), nb.attribute(k), w + " node " + na.name() + "/" + na.op_type());
  }
  REQUIRE(a.initializer_size() == b.initializer_size());
  for (int i = 0; i < a.initializer_size(); ++i) compare_tensor(a.initializer(i), b.initializer(i), w + " initializer");
  REQUIRE(a.sparse_initializer_size() == b.sparse_initializer_size());
  for (int i = 0; i < a.sparse_initializer_size(); ++i)
    CHECK(a.sparse_initializer(i).SerializeAsString() == b.sparse_initializer(i).SerializeAsString());
  compare_value_infos(a.input(), b.input(), w + " inputs");
  compare_value_infos(a.output(), b.output(), w + " outputs");
  compare_value_infos(a.value_info(), b.value_info(), w + " value_info");
  REQUIRE(a.quantization_annotation_size() == b.quantization_annotation_size());
}

void compare_models(const onnx::ModelProto& a, const onnx::ModelProto& b) {
  CHECK(a.ir_version() == b.ir_version());
  REQUIRE(a.opset_import_size() == b.opset_import_size());
  for (int i = 0; i < a.opset_import_size(); ++i) {
    CHECK(a.opset_import(i).domain() == b.opset_import(i).domain());
    CHECK(a.opset_import(i).version() == b.opset_import(i).version());
  }
  CHECK(a.producer_name() == b.producer_name());
  CHECK(a.producer_version() == b.producer_version());
  CHECK(a.domain() == b.domain());
  CHECK(a.model_version() == b.model_version());
  CHECK(a.doc_string() == b.doc_string());
  REQUIRE(a.metadata_props_size() == b.metadata_props_size());
  REQUIRE(a.functions_size() == b.functions_size());
  for (int i = 0; i < a.functions_size(); ++i)
    CHECK(a.functions(i).SerializeAsString() == b.functions(i).SerializeAsString());
  REQUIRE(a.training_info_size() == b.training_info_size());
  compare_graph(a.graph(), b.graph(), "main");
}

// ---------------------------------------------------------------- a model with everything

std::string sparse_tensor_bytes(const std::string& name) {
  onnx::SparseTensorProto sp;
  auto* v = sp.mutable_values();
  v->set_name(name);
  v->set_data_type(onnx::TensorProto::FLOAT);
  v->add_dims(2);
  v->add_float_data(5.f);
  v->add_float_data(7.f);
  auto* idx = sp.mutable_indices();
  idx->set_data_type(onnx::TensorProto::INT64);
  idx->add_dims(2);
  idx->add_int64_data(1);
  idx->add_int64_data(4);
  sp.add_dims(2);
  sp.add_dims(3);
  return sp.SerializeAsString();
}

std::string type_proto_bytes() {
  onnx::TypeProto tp;
  tp.mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
  return tp.SerializeAsString();
}

TensorPtr make_tensor(std::vector<float> v) {
  Tensor t = Tensor::from_vector<float>(DType::Float, {static_cast<int64_t>(v.size())}, v);
  return std::make_shared<const Tensor>(std::move(t));
}

// z = Identity(add(x, outer)) as a subgraph body reading an outer-scope value.
std::shared_ptr<ir::Graph> make_body(ir::Graph* parent, ir::Value* outer, const std::string& name) {
  auto body = std::make_shared<ir::Graph>(parent, nullptr);
  body->name = name;
  ir::Node* n = body->add_node("Identity", "", {outer}, {name + "_out"}, name + "_id");
  n->output(0)->type = Type::tensor(DType::Float, shape_from_dims({3}));
  body->add_output(n->output(0));
  return body;
}

std::unique_ptr<ir::Model> build_everything_model() {
  auto m = std::make_unique<ir::Model>();
  m->ir_version = 8;
  m->set_opset("", 17);
  m->set_opset("com.test", 1);
  m->producer_name = "tests";
  m->producer_version = "1.0";
  m->domain = "org.test";
  m->model_version = 3;
  m->doc_string = "model doc";
  m->metadata_props = {{"k1", "v1"}, {"k2", "v2"}};
  onnx::FunctionProto fn;
  fn.set_name("MyFn");
  fn.set_domain("com.test");
  m->functions.push_back(fn.SerializeAsString());
  onnx::TrainingInfoProto ti;
  ti.mutable_algorithm()->set_name("algo");
  m->training_info.push_back(ti.SerializeAsString());

  ir::Graph& g = *m->graph;
  g.name = "main";
  g.doc_string = "graph doc";
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::symbol("N"), Dim::known(3)});
  x->type.shape->at(0).denotation = "DATA_BATCH";
  x->doc_string = "input doc";
  g.add_input(x);
  ir::Value* seq = g.add_value("seq");
  seq->type.kind = Type::Kind::Sequence;
  seq->type.inner = std::make_shared<Type>(Type::tensor(DType::Float, Shape{Dim{}}));
  g.add_input(seq);
  ir::Value* opt = g.add_value("opt");
  opt->type.kind = Type::Kind::Optional;
  opt->type.inner = std::make_shared<Type>(Type::tensor(DType::Int64, shape_from_dims({2})));
  g.add_input(opt);
  ir::Value* map = g.add_value("map");
  map->type.kind = Type::Kind::Map;
  map->type.elem = DType::Int64;
  map->type.inner = std::make_shared<Type>(Type::tensor(DType::Float));
  g.add_input(map);
  ir::Value* w = g.add_initializer("w", make_tensor({1, 2, 3}));

  ir::Node* n = g.add_node("Custom", "com.test", {x, nullptr, w}, {"y", "unused"}, "custom");
  g.set_output_absent(n, 1);
  n->doc_string = "node doc";
  auto& attrs = n->attributes();
  attrs.push_back(ir::Attribute::make_float("f", 1.5f));
  attrs.push_back(ir::Attribute::make_int("i", -7));
  attrs.push_back(ir::Attribute::make_string("s", std::string("bytes\0x", 7)));
  attrs.push_back(ir::Attribute::make_tensor("t", make_tensor({4, 5})));
  ir::Attribute ga;
  ga.name = "g";
  ga.type = ir::AttrType::Graph;
  ga.g = make_body(&g, w, "body");
  ga.g->set_parent(&g, n);
  attrs.push_back(ga);
  attrs.push_back(ir::Attribute::make_floats("fs", {0.5f, -0.0f}));
  attrs.push_back(ir::Attribute::make_ints("is", {1, 2, 3}));
  ir::Attribute ss;
  ss.name = "ss";
  ss.type = ir::AttrType::Strings;
  ss.strings = {"a", "bc"};
  attrs.push_back(ss);
  ir::Attribute ts;
  ts.name = "ts";
  ts.type = ir::AttrType::Tensors;
  ts.tensors = {make_tensor({1}), make_tensor({2, 3})};
  attrs.push_back(ts);
  ir::Attribute gs;
  gs.name = "gs";
  gs.type = ir::AttrType::Graphs;
  gs.graphs = {make_body(&g, x, "b1"), make_body(&g, w, "b2")};
  for (auto& sg : gs.graphs) sg->set_parent(&g, n);
  attrs.push_back(gs);
  ir::Attribute sp;
  sp.name = "sp";
  sp.type = ir::AttrType::SparseTensor;
  sp.opaque = {sparse_tensor_bytes("sp")};
  attrs.push_back(sp);
  ir::Attribute sps = sp;
  sps.name = "sps";
  sps.type = ir::AttrType::SparseTensors;
  sps.opaque = {sparse_tensor_bytes("a"), sparse_tensor_bytes("b")};
  attrs.push_back(sps);
  ir::Attribute tp;
  tp.name = "tp";
  tp.type = ir::AttrType::TypeProto;
  tp.opaque = {type_proto_bytes()};
  tp.doc_string = "attr doc";
  attrs.push_back(tp);
  ir::Attribute tps = tp;
  tps.name = "tps";
  tps.type = ir::AttrType::TypeProtos;
  tps.opaque = {type_proto_bytes(), type_proto_bytes()};
  attrs.push_back(tps);
  ir::Attribute untyped = ir::Attribute::make_int("old_style", 9);
  untyped.type_was_set = false;
  attrs.push_back(untyped);

  ir::Value* y = n->output(0);
  ir::Node* r = g.add_node("Relu", "", {y}, {"out"}, "relu");
  y->type = Type::tensor(DType::Float, Shape{Dim::symbol("N"), Dim::known(3)});
  g.value_info.push_back(y);
  r->output(0)->type = Type::tensor(DType::Float, Shape{Dim::symbol("N"), Dim{}});
  g.add_output(r->output(0));
  g.sparse_initializers.push_back(sparse_tensor_bytes("sparse_w"));
  onnx::TensorAnnotation qa;
  qa.set_tensor_name("y");
  g.quantization_annotations.push_back(qa.SerializeAsString());
  return m;
}

// A chain of If nodes, each holding the next level as its then_branch.
onnx::ModelProto nested_if_model(int depth) {
  onnx::GraphProto inner;
  inner.set_name("leaf");
  ortool::testing::add_node(&inner, "Identity", {"c"}, {"leaf_out"});
  ortool::testing::set_tensor_type(inner.add_output(), "leaf_out", onnx::TensorProto::BOOL, {});
  for (int level = depth; level >= 1; --level) {
    onnx::GraphProto outer;
    outer.set_name("level" + std::to_string(level));
    auto* n = ortool::testing::add_node(&outer, "If", {"c"}, {"o" + std::to_string(level)});
    auto* a = n->add_attribute();
    a->set_name("then_branch");
    a->set_type(onnx::AttributeProto::GRAPH);
    *a->mutable_g() = std::move(inner);
    ortool::testing::set_tensor_type(outer.add_output(), "o" + std::to_string(level), onnx::TensorProto::BOOL, {});
    inner = std::move(outer);
  }
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  *m.mutable_graph() = std::move(inner);
  ortool::testing::set_tensor_type(m.mutable_graph()->add_input(), "c", onnx::TensorProto::BOOL, {});
  return m;
}

}  // namespace

// ---------------------------------------------------------------- round trips

TEST_CASE("onnx io: a model with every attribute kind, type kind and model field round-trips") {
  auto m = build_everything_model();
  REQUIRE(m->graph->verify().is_ok());
  auto bytes = export_model_proto_bytes(*m);
  REQUIRE(bytes.is_ok());
  auto back = import_bytes(*bytes);
  REQUIRE_MESSAGE(back.is_ok(), back.status().message());
  ir::Model& b = **back;
  CHECK(b.ir_version == 8);
  REQUIRE(b.opset_imports.size() == 2);
  CHECK(b.opset_imports[1].domain == "com.test");
  CHECK(b.producer_name == "tests");
  CHECK(b.model_version == 3);
  CHECK(b.metadata_props == m->metadata_props);
  CHECK(b.functions == m->functions);
  CHECK(b.training_info == m->training_info);
  ir::Graph& g = *b.graph;
  CHECK(g.name == "main");
  CHECK(g.doc_string == "graph doc");
  REQUIRE(g.inputs().size() == 4);
  CHECK(g.inputs()[0]->type == m->graph->inputs()[0]->type);
  CHECK(g.inputs()[0]->doc_string == "input doc");
  CHECK(g.inputs()[1]->type.kind == Type::Kind::Sequence);
  CHECK(g.inputs()[2]->type.kind == Type::Kind::Optional);
  CHECK(g.inputs()[3]->type.kind == Type::Kind::Map);
  CHECK(g.inputs()[3]->type == m->graph->inputs()[3]->type);
  REQUIRE(g.num_nodes() == 2);
  ir::Node* n = g.nodes()[0];
  CHECK(n->op_type() == "Custom");
  CHECK(n->domain() == "com.test");
  CHECK(n->doc_string == "node doc");
  REQUIRE(n->num_inputs() == 3);
  CHECK(n->input(1) == nullptr);
  REQUIRE(n->num_outputs() == 2);
  CHECK(n->output(1) == nullptr);
  REQUIRE(n->attributes().size() == m->graph->nodes()[0]->attributes().size());
  CHECK(n->attr("f")->f == 1.5f);
  CHECK(n->attr("s")->s == std::string("bytes\0x", 7));
  CHECK(n->attr("t")->t->equals(*make_tensor({4, 5})));
  const ir::Graph* body = n->attr("g")->g.get();
  REQUIRE(body);
  CHECK(body->parent() == &g);
  CHECK(body->nodes()[0]->input(0) == g.find_value("w"));  // outer-scope use
  CHECK(n->attr("gs")->graphs.size() == 2);
  CHECK(n->attr("ts")->tensors.size() == 2);
  CHECK(n->attr("sps")->opaque.size() == 2);
  CHECK(n->attr("tps")->opaque.size() == 2);
  CHECK(n->attr("tp")->doc_string == "attr doc");
  CHECK(!n->attr("old_style")->type_was_set);
  CHECK(n->attr("old_style")->type == ir::AttrType::Int);
  CHECK(g.value_info.size() == 1);
  CHECK(g.sparse_initializers.size() == 1);
  CHECK(g.quantization_annotations.size() == 1);
  // The sparse initializer is also a dense constant, but is exported only in its sparse form.
  ir::Value* sw = g.find_value("sparse_w");
  REQUIRE(sw);
  REQUIRE(sw->is_constant());
  CHECK(sw->constant()->dims() == std::vector<int64_t>{2, 3});
  CHECK(sw->constant()->data<float>()[1] == 5.f);
  CHECK(sw->constant()->data<float>()[4] == 7.f);
  CHECK(g.verify().is_ok());

  auto again = export_model_proto_bytes(b);
  REQUIRE(again.is_ok());
  CHECK(*again == *bytes);  // export(import(x)) == x
  onnx::ModelProto mp = parse(*again);
  CHECK(mp.graph().initializer_size() == 1);
  CHECK(mp.graph().sparse_initializer_size() == 1);
  CHECK(!mp.graph().node(0).attribute(mp.graph().node(0).attribute_size() - 1).has_type());
}

// Loads, exports and re-imports one model file, comparing every field that matters.
void check_round_trip(const fs::path& p) {
  CAPTURE(p.string());
  auto m = load_model(p);
  REQUIRE_MESSAGE(m.is_ok(), m.status().message());
  auto bytes = export_model_proto_bytes(**m);
  REQUIRE(bytes.is_ok());
  onnx::ModelProto original = parse(ortool::testing::read_bytes(p));
  onnx::ModelProto exported = parse(*bytes);
  compare_models(original, exported);
  // Idempotent: importing the export and exporting again gives the same bytes.
  auto m2 = import_bytes(*bytes);
  REQUIRE(m2.is_ok());
  auto bytes2 = export_model_proto_bytes(**m2);
  REQUIRE(bytes2.is_ok());
  CHECK(*bytes2 == *bytes);
}

std::vector<fs::path> test_models(const fs::path& root) {
  std::vector<fs::path> models;
  if (!fs::exists(root)) return models;
  for (const auto& e : fs::directory_iterator(root))
    if (fs::exists(e.path() / "model.onnx")) models.push_back(e.path() / "model.onnx");
  std::sort(models.begin(), models.end());
  return models;
}

TEST_CASE("onnx io: every ONNX node test model round-trips") {
  const fs::path root = "/usr/share/libonnx-testdata/data";
  if (!fs::exists(root)) {
    MESSAGE("libonnx-testdata not installed; skipped");
    return;
  }
  std::vector<fs::path> node = test_models(root / "node");
  CHECK(node.size() >= 900);
  for (const fs::path& p : node) check_round_trip(p);
  // The older PyTorch-converted models (IR 3: initializers listed as graph inputs) too.
  size_t others = 0;
  for (const char* sub : {"pytorch-converted", "pytorch-operator", "simple"}) {
    for (const fs::path& p : test_models(root / sub)) {
      check_round_trip(p);
      ++others;
    }
  }
  MESSAGE(node.size() << " node test models and " << others << " other test models round-tripped");
}

TEST_CASE("onnx io: unsorted node lists are accepted; file order is kept until the graph is edited") {
  onnx::ModelProto mp = ortool::testing::small_model_proto();
  mp.mutable_graph()->mutable_node()->SwapElements(0, 1);  // Relu before Add
  auto m = import_proto(mp);
  REQUIRE_MESSAGE(m.is_ok(), m.status().message());
  ir::Graph& g = *(*m)->graph;
  CHECK(g.nodes()[0]->op_type() == "Add");  // sorted for everyone else
  onnx::ModelProto out = parse(*export_model_proto_bytes(**m));
  CHECK(out.graph().node(0).op_type() == "Relu");  // file order kept
  CHECK(out.graph().node(1).op_type() == "Add");

  g.nodes()[1]->name = "renamed";  // a field edit: not a structural edit
  g.set_input(g.nodes()[1], 0, g.nodes()[0]->output(0));
  out = parse(*export_model_proto_bytes(**m));
  CHECK(out.graph().node(0).op_type() == "Add");  // edited: current (sorted) order
}

TEST_CASE("onnx io: a graph input that is also an initializer is one value") {
  onnx::ModelProto mp = ortool::testing::small_model_proto();
  mp.set_ir_version(3);
  ortool::testing::set_tensor_type(mp.mutable_graph()->add_input(), "w", onnx::TensorProto::FLOAT, {4});
  auto m = import_proto(mp);
  REQUIRE_MESSAGE(m.is_ok(), m.status().message());
  ir::Value* w = (*m)->graph->find_value("w");
  REQUIRE(w);
  CHECK(w->is_graph_input());
  CHECK(w->is_constant());
  onnx::ModelProto out = parse(*export_model_proto_bytes(**m));
  CHECK(out.graph().input_size() == 2);
  CHECK(out.graph().initializer_size() == 1);
}

TEST_CASE("onnx io: unknown protobuf fields survive import and export") {
  onnx::ModelProto mp = ortool::testing::small_model_proto();
  auto add_unknown = [](google::protobuf::Message* msg, int field) {
    auto* u = msg->GetReflection()->MutableUnknownFields(msg);
    u->AddVarint(field, 42);
    u->AddLengthDelimited(field + 1, "kept");
  };
  add_unknown(&mp, 1000);
  add_unknown(mp.mutable_graph(), 1002);
  add_unknown(mp.mutable_graph()->mutable_node(0), 1004);
  add_unknown(mp.mutable_graph()->mutable_input(0), 1006);
  auto* attr = mp.mutable_graph()->mutable_node(1)->add_attribute();
  attr->set_name("a");
  attr->set_type(onnx::AttributeProto::INT);
  attr->set_i(1);
  add_unknown(attr, 1008);
  auto m = import_proto(mp);
  REQUIRE(m.is_ok());
  onnx::ModelProto out = parse(*export_model_proto_bytes(**m));
  auto unknown_count = [](const google::protobuf::Message& msg) {
    return msg.GetReflection()->GetUnknownFields(msg).field_count();
  };
  CHECK(unknown_count(out) == 2);
  CHECK(unknown_count(out.graph()) == 2);
  CHECK(unknown_count(out.graph().node(0)) == 2);
  CHECK(unknown_count(out.graph().input(0)) == 2);
  CHECK(unknown_count(out.graph().node(1).attribute(0)) == 2);
  CHECK(out.GetReflection()->GetUnknownFields(out).field(1).length_delimited() == "kept");
}

TEST_CASE("onnx io: types the IR does not model are kept as bytes") {
  onnx::ModelProto mp = ortool::testing::small_model_proto();
  // elem_type 23 (float4e2m1, IR 11) is newer than the IR's dtypes.
  mp.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(23);
  auto* vi = mp.mutable_graph()->add_value_info();
  vi->set_name("s");
  vi->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  vi->mutable_type()->set_denotation("TENSOR");
  auto m = import_proto(mp);
  REQUIRE(m.is_ok());
  CHECK((*m)->graph->outputs()[0]->type.kind == Type::Kind::Opaque);
  CHECK((*m)->graph->find_value("s")->type.kind == Type::Kind::Tensor);
  onnx::ModelProto out = parse(*export_model_proto_bytes(**m));
  CHECK(out.graph().output(0).type().tensor_type().elem_type() == 23);
  CHECK(out.graph().value_info(0).type().denotation() == "TENSOR");
}

TEST_CASE("onnx io: subgraphs may use outer values defined later in the file and return outer values") {
  onnx::ModelProto mp = ortool::testing::small_model_proto();
  auto* g = mp.mutable_graph();
  // An If whose branch reads "s" (made by the Add node, listed after the If) and returns "w".
  auto* iff = g->add_node();
  iff->set_op_type("If");
  iff->set_name("if");
  iff->add_input("c");
  iff->add_output("z");
  auto* a = iff->add_attribute();
  a->set_name("then_branch");
  a->set_type(onnx::AttributeProto::GRAPH);
  auto* body = a->mutable_g();
  body->set_name("then");
  ortool::testing::add_node(body, "Neg", {"s"}, {"neg"});
  ortool::testing::set_tensor_type(body->add_output(), "neg", onnx::TensorProto::FLOAT, {4});
  auto* a2 = iff->add_attribute();
  a2->set_name("else_branch");
  a2->set_type(onnx::AttributeProto::GRAPH);
  a2->mutable_g()->set_name("else");
  ortool::testing::set_tensor_type(a2->mutable_g()->add_output(), "w", onnx::TensorProto::FLOAT, {4});
  ortool::testing::set_tensor_type(g->add_input(), "c", onnx::TensorProto::BOOL, {});
  g->mutable_node()->SwapElements(0, 2);  // If first
  auto m = import_proto(mp);
  REQUIRE_MESSAGE(m.is_ok(), m.status().message());
  ir::Graph& mg = *(*m)->graph;
  CHECK(mg.verify().is_ok());
  // The If must come after the Add in sorted order, because its branch reads "s".
  auto nodes = mg.nodes();
  auto pos = [&](const std::string& op) {
    return std::find_if(nodes.begin(), nodes.end(), [&](ir::Node* n) { return n->op_type() == op; }) - nodes.begin();
  };
  CHECK(pos("Add") < pos("If"));
  onnx::ModelProto out = parse(*export_model_proto_bytes(**m));
  compare_models(mp, out);
}

// ---------------------------------------------------------------- structural errors

TEST_CASE("onnx io: structural errors name the file, node and value") {
  onnx::ModelProto mp = ortool::testing::small_model_proto();
  auto* g = mp.mutable_graph();
  SUBCASE("dangling input") {
    g->mutable_node(0)->set_input(1, "nope");
    CHECK(import_error(mp) == "model.onnx: node 'add' (Add): input 'nope' is not defined");
  }
  SUBCASE("cycle") {
    g->mutable_node(0)->set_input(0, "y");
    CHECK(contains(import_error(mp), "cycle"));
  }
  SUBCASE("node consuming its own output") {
    g->mutable_node(1)->set_input(0, "y");
    CHECK(contains(import_error(mp), "cycle"));
  }
  SUBCASE("two nodes producing one name") {
    g->mutable_node(1)->set_output(0, "s");
    std::string e = import_error(mp);
    CHECK(contains(e, "node 'relu' (Relu): output 's' is already defined by node 'add' (Add)"));
  }
  SUBCASE("node output named like a graph input or initializer") {
    g->mutable_node(1)->set_output(0, "x");
    CHECK(contains(import_error(mp), "already defined by a graph input"));
    g->mutable_node(1)->set_output(0, "w");
    CHECK(contains(import_error(mp), "already defined by an initializer"));
  }
  SUBCASE("duplicate initializer") {
    *g->add_initializer() = g->initializer(0);
    CHECK(contains(import_error(mp), "initializer 'w' is defined twice"));
  }
  SUBCASE("graph output nothing defines") {
    g->mutable_output(0)->set_name("ghost");
    CHECK(contains(import_error(mp), "graph output 'ghost' is not defined"));
  }
  SUBCASE("duplicate graph input") {
    *g->add_input() = g->input(0);
    CHECK(contains(import_error(mp), "listed twice"));
  }
  SUBCASE("node without op_type") {
    g->mutable_node(0)->clear_op_type();
    CHECK(contains(import_error(mp), "no op_type"));
  }
  SUBCASE("ir_version missing, zero, negative, too new") {
    mp.clear_ir_version();
    CHECK(contains(import_error(mp), "missing ir_version"));
    mp.set_ir_version(0);
    CHECK(contains(import_error(mp), "invalid ir_version 0"));
    mp.set_ir_version(-3);
    CHECK(contains(import_error(mp), "invalid ir_version -3"));
    mp.set_ir_version(12);
    CHECK(contains(import_error(mp), "ir_version 12 is newer"));
  }
  SUBCASE("opset_import missing or duplicated") {
    mp.clear_opset_import();
    CHECK(contains(import_error(mp), "no opset_import"));
    mp.add_opset_import()->set_version(17);
    auto* dup = mp.add_opset_import();
    dup->set_domain("ai.onnx");
    dup->set_version(16);
    CHECK(contains(import_error(mp), "twice"));
  }
  SUBCASE("no graph") {
    mp.clear_graph();
    CHECK(contains(import_error(mp), "no graph"));
  }
  SUBCASE("bad initializer tensor") {
    g->mutable_initializer(0)->set_data_type(999);
    CHECK(import_error(mp) == "model.onnx: tensor 'w': unsupported data_type 999");
    g->mutable_initializer(0)->set_data_type(onnx::TensorProto::FLOAT);
    g->mutable_initializer(0)->set_dims(0, -4);
    CHECK(contains(import_error(mp), "tensor 'w': negative dimension"));
    g->mutable_initializer(0)->set_dims(0, int64_t{1} << 40);
    CHECK(contains(import_error(mp), "tensor 'w'"));
    g->mutable_initializer(0)->set_dims(0, 4);
    g->mutable_initializer(0)->clear_float_data();
    g->mutable_initializer(0)->set_raw_data(std::string(15, 'x'));
    CHECK(contains(import_error(mp), "tensor 'w': raw_data has 15 bytes"));
  }
  SUBCASE("errors inside subgraphs say where") {
    auto* iff = ortool::testing::add_node(g, "If", {"x"}, {"z"}, "if1");
    auto* a = iff->add_attribute();
    a->set_name("then_branch");
    a->set_type(onnx::AttributeProto::GRAPH);
    ortool::testing::add_node(a->mutable_g(), "Neg", {"missing"}, {"n"}, "neg");
    std::string e = import_error(mp);
    CHECK(e == "model.onnx: node 'if1' (If) attribute 'then_branch': node 'neg' (Neg): input 'missing' is not defined");
  }
}

TEST_CASE("onnx io: subgraph nesting is bounded, never a stack overflow") {
  CHECK(import_proto(nested_if_model(10)).is_ok());
  auto r = import_proto(nested_if_model(65));
  REQUIRE(!r.is_ok());
  CHECK(contains(r.status().message(), "nested deeper than 64 levels"));
  for (int depth : {100, 1000}) {
    auto deep = import_proto(nested_if_model(depth));
    REQUIRE(!deep.is_ok());
    CHECK(contains(deep.status().message(), "model.onnx: not a valid ONNX model"));
  }
}

// ---------------------------------------------------------------- bad bytes and bad paths

TEST_CASE("onnx io: bad bytes give errors, not crashes") {
  onnx::ModelProto mp = ortool::testing::small_model_proto();
  auto* big = mp.mutable_graph()->add_initializer();
  big->set_name("big");
  big->set_data_type(onnx::TensorProto::FLOAT);
  big->add_dims(256);
  big->set_raw_data(std::string(1024, '\x11'));
  const std::string valid = mp.SerializeAsString();
  REQUIRE(import_bytes(valid).is_ok());

  CHECK(import_bytes("").status().message() == "model.onnx: empty file");
  CHECK(contains(import_bytes("\x08").status().message(), "not a valid ONNX model"));
  for (double frac : {0.1, 0.5, 0.99}) {
    CAPTURE(frac);
    auto r = import_bytes(valid.substr(0, static_cast<size_t>(static_cast<double>(valid.size()) * frac)));
    CHECK(!r.is_ok());
  }
  // Every truncation point must fail cleanly or import something consistent.
  for (size_t n = 0; n < valid.size(); n += 7) {
    auto r = import_bytes(valid.substr(0, n));
    if (r.is_ok()) CHECK((*r)->graph->verify().is_ok());
  }
  std::mt19937 rng(1234);
  for (int i = 0; i < 100; ++i) {
    std::string junk(1 + rng() % 2000, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    CHECK(!import_bytes(junk).is_ok());
  }
  for (int i = 0; i < 2000; ++i) {
    std::string flipped = valid;
    for (int k = 0; k < 1 + i % 4; ++k) flipped[rng() % flipped.size()] ^= static_cast<char>(1u << (rng() % 8));
    auto r = import_bytes(flipped);
    if (r.is_ok()) CHECK((*r)->graph->verify().is_ok());
  }
  // A length-delimited field (the graph) claiming more bytes than the file has.
  std::string lying = valid;
  size_t graph_tag = lying.find('\x3a');  // field 7, wire type 2
  REQUIRE(graph_tag != std::string::npos);
  lying[graph_tag + 1] = '\x7f';
  lying = lying.substr(0, graph_tag + 2) + "\x01";
  CHECK(!import_bytes(lying).is_ok());
}

TEST_CASE("onnx io: load_model accepts regular files only") {
  TempDir dir;
  auto st = load_model(dir.path()).status();
  CHECK(contains(st.message(), "not a regular file (a directory)"));
  CHECK(contains(load_model("/dev/zero").status().message(), "a character device"));
  REQUIRE(::mkfifo((dir / "fifo.onnx").c_str(), 0600) == 0);
  CHECK(contains(load_model(dir / "fifo.onnx").status().message(), "a FIFO"));
  CHECK(!load_model(dir / "missing.onnx").is_ok());
  ortool::testing::write_bytes(dir / "empty.onnx", "");
  CHECK(load_model(dir / "empty.onnx").status().message() == (dir / "empty.onnx").string() + ": empty file");
  {
    // Over 2 GiB (a sparse file: no disk space used): refused before reading.
    int fd = ::open((dir / "huge.onnx").c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, (int64_t{2} << 30) + 16) == 0);
    ::close(fd);
    CHECK(contains(load_model(dir / "huge.onnx").status().message(), "over protobuf's 2 GiB limit"));
  }
  ortool::testing::write_bytes(dir / "junk.onnx", "junk!");
  CHECK(load_model(dir / "junk.onnx").status().message() ==
        (dir / "junk.onnx").string() +
            ": not a valid ONNX model (protobuf parse failed: corrupt, truncated, or nested deeper than 256 messages)");
}

TEST_CASE("onnx io: save_model writes atomically and refuses to overwrite the input") {
  TempDir dir;
  auto m = import_proto(ortool::testing::small_model_proto());
  REQUIRE(m.is_ok());
  auto path = dir / "m.onnx";
  REQUIRE(save_model(**m, path).is_ok());
  auto loaded = load_model(path);
  REQUIRE(loaded.is_ok());
  CHECK((*loaded)->graph->num_nodes() == 2);

  SaveOptions o;
  o.input_path = path;
  CHECK(contains(save_model(**loaded, path, o).status().message(), "refusing to overwrite the input"));
  o.force = true;
  CHECK(save_model(**loaded, path, o).is_ok());

  if (::geteuid() != 0) {
    auto ro = dir / "ro";
    fs::create_directory(ro);
    REQUIRE(save_model(**m, ro / "m.onnx").is_ok());
    std::string before = ortool::testing::read_bytes(ro / "m.onnx");
    ::chmod(ro.c_str(), 0500);
    CHECK(!save_model(**m, ro / "m.onnx").is_ok());
    CHECK(ortool::testing::read_bytes(ro / "m.onnx") == before);
    ::chmod(ro.c_str(), 0700);
  } else {
    // Root writes into read-only folders anyway; a missing folder is the failure to check.
    auto st = save_model(**m, dir / "missing" / "m.onnx").status();
    CHECK(contains(st.message(), "does not exist"));
  }
}
