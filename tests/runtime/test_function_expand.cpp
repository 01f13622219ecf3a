// Function expansion tests: model-local and schema functions inlined, then run; malformed bodies refused.
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "lib/function_inline.h"
#include "lib/npy.h"
#include "lib/onnx_import.h"
#include "runtime/provider.h"
#include "runtime/session.h"

using namespace ortool;

namespace {

constexpr const char* kDom = "t";

onnx::NodeProto node(const std::string& op, std::vector<std::string> ins, std::vector<std::string> outs,
                     const std::string& domain = "") {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_domain(domain);
  for (auto& i : ins) n.add_input(i);
  for (auto& o : outs) n.add_output(o);
  return n;
}

void add_float_attr(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void add_ref_attr(onnx::NodeProto& n, const std::string& name, const std::string& ref) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_ref_attr_name(ref);
}

onnx::NodeProto constant(const std::string& out, float v) {
  onnx::NodeProto n = node("Constant", {}, {out});
  add_float_attr(n, "value_float", v);
  return n;
}

onnx::FunctionProto function(const std::string& name, std::vector<std::string> ins, std::vector<std::string> outs,
                             std::vector<onnx::NodeProto> nodes, std::vector<std::string> attrs = {},
                             int64_t onnx_opset = 13) {
  onnx::FunctionProto f;
  f.set_name(name);
  f.set_domain(kDom);
  for (auto& i : ins) f.add_input(i);
  for (auto& o : outs) f.add_output(o);
  for (auto& n : nodes) *f.add_node() = n;
  for (auto& a : attrs) f.add_attribute(a);
  auto* o = f.add_opset_import();
  o->set_domain("");
  o->set_version(onnx_opset);
  o = f.add_opset_import();
  o->set_domain(kDom);
  o->set_version(1);
  return f;
}

// MyRelu6(x) = Clip(x, 0, 6)
onnx::FunctionProto relu6() {
  return function("MyRelu6", {"x"}, {"y"}, {constant("lo", 0), constant("hi", 6), node("Clip", {"x", "lo", "hi"}, {"y"})});
}

void add_io(onnx::ValueInfoProto* vi, const std::string& name, int64_t n) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(n);
}

// A model with float[n] input "x" and output "y", the given nodes and functions.
onnx::ModelProto model(std::vector<onnx::NodeProto> nodes, std::vector<onnx::FunctionProto> fns, int64_t n = 6,
                       int64_t onnx_opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(onnx_opset);
  o = m.add_opset_import();
  o->set_domain(kDom);
  o->set_version(1);
  auto* g = m.mutable_graph();
  g->set_name("main");
  add_io(g->add_input(), "x", n);
  add_io(g->add_output(), "y", n);
  for (auto& nd : nodes) *g->add_node() = nd;
  for (auto& f : fns) *m.add_functions() = f;
  return m;
}

bool cpu_has_kernel(const ir::Node& n, int64_t opset) {
  return rt::cpu_registry().find(n.domain(), n.op_type(), opset, DType::Undefined) != nullptr;
}

Tensor ramp(int64_t n, float start, float step) {
  Tensor t(DType::Float, {n});
  for (int64_t i = 0; i < n; ++i) t.mutable_data<float>()[i] = start + step * static_cast<float>(i);
  return t;
}

struct Expanded {
  std::unique_ptr<ir::Model> model;
  ExpandReport report;
};

Result<Expanded> load_and_expand(const onnx::ModelProto& mp, const HasKernelFn& has_kernel = cpu_has_kernel) {
  ImportOptions io;
  io.source_name = "test.onnx";
  Expanded e;
  ASSIGN_OR_RETURN(e.model, import_model_proto(mp.SerializeAsString(), io));
  TRY(expand_functions(*e.model, has_kernel, {}, &e.report));
  return e;
}

Result<std::vector<float>> run(const ir::Model& m, const std::map<std::string, RValue>& feeds) {
  ASSIGN_OR_RETURN(auto s, rt::Session::create(m));
  ASSIGN_OR_RETURN(auto out, s->run(feeds));
  const Tensor& y = out.at(0).tensor;
  return std::vector<float>(y.data<float>(), y.data<float>() + y.numel());
}

Result<std::vector<float>> expand_and_run(const onnx::ModelProto& mp, Tensor x) {
  ASSIGN_OR_RETURN(Expanded e, load_and_expand(mp));
  return run(*e.model, {{"x", RValue(std::move(x))}});
}

size_t count_op(const ir::Graph& g, const std::string& op) {
  size_t c = 0;
  for (const ir::Node* n : g.nodes()) {
    if (n->op_type() == op) ++c;
    for (const ir::Graph* sg : n->subgraphs()) c += count_op(*sg, op);
  }
  return c;
}

bool contains(const Status& s, const std::string& part) { return s.message().find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a model-local function is inlined: Clip replaces the call, the output keeps its name") {
  auto r = load_and_expand(model({node("MyRelu6", {"x"}, {"y"}, kDom)}, {relu6()}));
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  const ir::Graph& g = *r->model->graph;
  CHECK(r->report.calls_expanded == 1);
  CHECK(count_op(g, "MyRelu6") == 0);
  CHECK(count_op(g, "Clip") == 1);
  REQUIRE(g.outputs().size() == 1);
  CHECK(g.outputs()[0]->name() == "y");
  CHECK(g.verify().is_ok());
  auto y = run(*r->model, {{"x", RValue(ramp(6, -2, 2))}});  // -2 0 2 4 6 8
  REQUIRE_MESSAGE(y.is_ok(), y.status().message());
  CHECK(*y == std::vector<float>{0, 0, 2, 4, 6, 6});
}

TEST_CASE("attribute references take the call's value, else the default, else are dropped") {
  // Scale(x) = x * alpha, alpha a Constant whose value references the function attribute.
  onnx::NodeProto c = node("Constant", {}, {"a"});
  add_ref_attr(c, "value_float", "alpha");
  onnx::FunctionProto scale = function("Scale", {"x"}, {"y"}, {c, node("Mul", {"x", "a"}, {"y"})}, {"alpha"});
  onnx::NodeProto call = node("Scale", {"x"}, {"y"}, kDom);
  add_float_attr(call, "alpha", 3);
  auto y = expand_and_run(model({call}, {scale}), ramp(6, 0, 1));
  REQUIRE_MESSAGE(y.is_ok(), y.status().message());
  CHECK(*y == std::vector<float>{0, 3, 6, 9, 12, 15});

  // No alpha on the call: FunctionProto.attribute_proto (field 11 of newer onnx) gives the default.
  onnx::AttributeProto def;
  def.set_name("alpha");
  def.set_type(onnx::AttributeProto::FLOAT);
  def.set_f(0.5f);
  onnx::FunctionProto with_default = scale;
  with_default.clear_attribute();
  with_default.GetReflection()->MutableUnknownFields(&with_default)->AddLengthDelimited(11, def.SerializeAsString());
  auto y2 = expand_and_run(model({node("Scale", {"x"}, {"y"}, kDom)}, {with_default}), ramp(6, 0, 1));
  REQUIRE_MESSAGE(y2.is_ok(), y2.status().message());
  CHECK(*y2 == std::vector<float>{0, 0.5f, 1, 1.5f, 2, 2.5f});

  // Neither: the referencing attribute is dropped, so LeakyRelu uses its own default alpha 0.01.
  onnx::NodeProto lr = node("LeakyRelu", {"x"}, {"y"});
  add_ref_attr(lr, "alpha", "slope");
  onnx::FunctionProto leaky = function("Leaky", {"x"}, {"y"}, {lr}, {"slope"});
  auto y3 = expand_and_run(model({node("Leaky", {"x"}, {"y"}, kDom)}, {leaky}), ramp(6, -100, 50));
  REQUIRE_MESSAGE(y3.is_ok(), y3.status().message());
  CHECK((*y3)[0] == doctest::Approx(-1.0));
  CHECK((*y3)[1] == doctest::Approx(-0.5));
  CHECK((*y3)[3] == doctest::Approx(50));
}

TEST_CASE("nested functions, omitted optional inputs, pass-through outputs and If bodies reading formal inputs") {
  // Outer(x) = MyRelu6(Neg(x)), plus a second output that is the input itself.
  onnx::FunctionProto outer = function("Outer", {"x"}, {"y", "same"},
                                       {node("Neg", {"x"}, {"nx"}), node("MyRelu6", {"nx"}, {"y"}, kDom)});
  outer.set_output(1, "x");
  auto mp = model({node("Outer", {"x"}, {"y", "z"}, kDom)}, {outer, relu6()});
  auto* z = mp.mutable_graph()->add_output();
  add_io(z, "z", 6);
  auto r = load_and_expand(mp);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK(r->report.calls_expanded == 2);
  auto s = rt::Session::create(*r->model);
  REQUIRE_MESSAGE(s.is_ok(), s.status().message());
  auto out = (*s)->run({{"x", RValue(ramp(6, -8, 2))}});  // -8 -6 -4 -2 0 2
  REQUIRE_MESSAGE(out.is_ok(), out.status().message());
  const float* y = (*out)[0].tensor.data<float>();
  CHECK(std::vector<float>(y, y + 6) == std::vector<float>{6, 6, 4, 2, 0, 0});
  CHECK((*out)[1].tensor.data<float>()[0] == -8);

  // Clip3(x, lo, hi) = Clip(x, lo, hi) called with x only: min and max stay omitted.
  onnx::FunctionProto clip3 = function("Clip3", {"x", "lo", "hi"}, {"y"}, {node("Clip", {"x", "lo", "hi"}, {"y"})});
  auto y2 = expand_and_run(model({node("Clip3", {"x"}, {"y"}, kDom)}, {clip3}), ramp(6, -1, 1));
  REQUIRE_MESSAGE(y2.is_ok(), y2.status().message());
  CHECK(*y2 == std::vector<float>{-1, 0, 1, 2, 3, 4});

  // Pick(x) = If(ReduceSum(x) > 0, then Neg(x), else MyRelu6(x)): the branches read the formal input x.
  auto branch = [](const std::string& name, onnx::NodeProto n) {
    onnx::GraphProto g;
    g.set_name(name);
    *g.add_node() = n;
    g.add_output()->set_name(n.output(0));
    return g;
  };
  onnx::NodeProto iff = node("If", {"pos"}, {"y"});
  auto* th = iff.add_attribute();
  th->set_name("then_branch");
  th->set_type(onnx::AttributeProto::GRAPH);
  *th->mutable_g() = branch("then", node("Neg", {"x"}, {"t"}));
  auto* el = iff.add_attribute();
  el->set_name("else_branch");
  el->set_type(onnx::AttributeProto::GRAPH);
  *el->mutable_g() = branch("else", node("MyRelu6", {"x"}, {"e"}, kDom));
  onnx::NodeProto sum = node("ReduceSum", {"x"}, {"s"});
  auto* kd = sum.add_attribute();
  kd->set_name("keepdims");
  kd->set_type(onnx::AttributeProto::INT);
  kd->set_i(0);
  onnx::FunctionProto pick = function("Pick", {"x"}, {"y"}, {sum, constant("zero", 0), node("Greater", {"s", "zero"}, {"pos"}), iff});
  auto rp = load_and_expand(model({node("Pick", {"x"}, {"y"}, kDom)}, {pick, relu6()}));
  REQUIRE_MESSAGE(rp.is_ok(), rp.status().message());
  CHECK(count_op(*rp->model->graph, "MyRelu6") == 0);
  CHECK(count_op(*rp->model->graph, "Clip") == 1);
  auto pos = run(*rp->model, {{"x", RValue(ramp(6, 0, 1))}});
  REQUIRE_MESSAGE(pos.is_ok(), pos.status().message());
  CHECK(*pos == std::vector<float>{0, -1, -2, -3, -4, -5});
  auto neg = run(*rp->model, {{"x", RValue(ramp(6, -9, 1))}});  // -9 .. -4 -> relu6 -> 0
  REQUIRE_MESSAGE(neg.is_ok(), neg.status().message());
  CHECK(*neg == std::vector<float>(6, 0.0f));
}

TEST_CASE("malformed and recursive functions are errors naming the function and the call") {
  // Direct recursion.
  onnx::FunctionProto self = function("Self", {"x"}, {"y"}, {node("Self", {"x"}, {"y"}, kDom)});
  onnx::NodeProto call = node("Self", {"x"}, {"y"}, kDom);
  call.set_name("c1");
  auto r = load_and_expand(model({call}, {self}));
  REQUIRE_FALSE(r.is_ok());
  CHECK(contains(r.status(), "recursively"));
  CHECK(contains(r.status(), "t:Self"));
  CHECK(contains(r.status(), "c1"));

  // Mutual recursion A -> B -> A.
  onnx::FunctionProto a = function("A", {"x"}, {"y"}, {node("B", {"x"}, {"y"}, kDom)});
  onnx::FunctionProto b = function("B", {"x"}, {"y"}, {node("A", {"x"}, {"y"}, kDom)});
  auto r2 = load_and_expand(model({node("A", {"x"}, {"y"}, kDom)}, {a, b}));
  REQUIRE_FALSE(r2.is_ok());
  CHECK(contains(r2.status(), "t:A -> t:B -> t:A"));

  // An output the body never produces.
  onnx::FunctionProto no_out = function("NoOut", {"x"}, {"y"}, {node("Relu", {"x"}, {"r"})});
  onnx::NodeProto c2 = node("NoOut", {"x"}, {"y"}, kDom);
  c2.set_name("c2");
  auto r3 = load_and_expand(model({c2}, {no_out}));
  REQUIRE_FALSE(r3.is_ok());
  CHECK(contains(r3.status(), "function 't:NoOut'"));
  CHECK(contains(r3.status(), "c2"));
  CHECK(contains(r3.status(), "'y'"));

  // A body reading a name nothing defines; more call inputs than formal inputs; an unnamed function.
  onnx::FunctionProto undef = function("Undef", {"x"}, {"y"}, {node("Add", {"x", "ghost"}, {"y"})});
  auto r4 = load_and_expand(model({node("Undef", {"x"}, {"y"}, kDom)}, {undef}));
  REQUIRE_FALSE(r4.is_ok());
  CHECK(contains(r4.status(), "ghost"));
  auto r5 = load_and_expand(model({node("MyRelu6", {"x", "x"}, {"y"}, kDom)}, {relu6()}));
  REQUIRE_FALSE(r5.is_ok());
  CHECK(contains(r5.status(), "2 inputs"));
  onnx::FunctionProto unnamed = relu6();
  unnamed.clear_name();
  CHECK_FALSE(load_and_expand(model({node("Relu", {"x"}, {"y"})}, {unnamed})).is_ok());
  onnx::ModelProto garbage = model({node("Relu", {"x"}, {"y"})}, {});
  ImportOptions io;
  auto gm = import_model_proto(garbage.SerializeAsString(), io);
  REQUIRE(gm.is_ok());
  (*gm)->functions.push_back("\xff\xff\xff");
  CHECK_FALSE(expand_functions(**gm, cpu_has_kernel).is_ok());

  // Too deep: a chain of 40 functions F0 -> F1 -> ... -> F39 -> Relu.
  std::vector<onnx::FunctionProto> chain;
  for (int i = 0; i < 40; ++i)
    chain.push_back(function("F" + std::to_string(i), {"x"}, {"y"},
                             {i == 39 ? node("Relu", {"x"}, {"y"}) : node("F" + std::to_string(i + 1), {"x"}, {"y"}, kDom)}));
  auto r6 = load_and_expand(model({node("F0", {"x"}, {"y"}, kDom)}, chain));
  REQUIRE_FALSE(r6.is_ok());
  CHECK(contains(r6.status(), "deeper than 32"));
}

TEST_CASE("function opset imports: missing domains are added, an incompatible default-domain version is refused") {
  // The function imports ai.onnx 13 and uses Neg (unchanged 13..14): fine in an opset-14 model.
  onnx::FunctionProto neg = function("MyNeg", {"x"}, {"y"}, {node("Neg", {"x"}, {"y"})});
  auto y = expand_and_run(model({node("MyNeg", {"x"}, {"y"}, kDom)}, {neg}, 6, 14), ramp(6, 0, 1));
  REQUIRE_MESSAGE(y.is_ok(), y.status().message());
  CHECK(*y == std::vector<float>{0, -1, -2, -3, -4, -5});
  // Clip changed at opset 13: a function of opset 12 cannot run in an opset-13 model.
  onnx::FunctionProto old = relu6();
  old.mutable_opset_import(0)->set_version(12);
  auto r = load_and_expand(model({node("MyRelu6", {"x"}, {"y"}, kDom)}, {old}));
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::kUnsupported);
  CHECK(contains(r.status(), "opset 12 but the model imports 13"));
  MESSAGE(r.status().message());
  // A domain only the function imports is added to the model.
  onnx::FunctionProto extra = neg;
  auto* o = extra.add_opset_import();
  o->set_domain("com.example");
  o->set_version(3);
  auto e = load_and_expand(model({node("MyNeg", {"x"}, {"y"}, kDom)}, {extra}));
  REQUIRE(e.is_ok());
  CHECK(e->model->opset("com.example") == 3);
}

TEST_CASE("schema functions: ops without a kernel run as their onnx function body, same numbers") {
  // MeanVarianceNormalization (a static body) and SoftmaxCrossEntropyLoss (a context-dependent body
  // that calls NegativeLogLikelihoodLoss, itself context-dependent and needing inferred input types).
  auto no_kernel_for = [](std::vector<std::string> ops) {
    return [ops](const ir::Node& n, int64_t opset) {
      if (std::find(ops.begin(), ops.end(), n.op_type()) != ops.end()) return false;
      return cpu_has_kernel(n, opset);
    };
  };
  {
    onnx::NodeProto mvn = node("MeanVarianceNormalization", {"x"}, {"y"});
    auto* axes = mvn.add_attribute();
    axes->set_name("axes");
    axes->set_type(onnx::AttributeProto::INTS);
    axes->add_ints(0);
    auto mp = model({mvn}, {}, 6, 13);
    auto direct = expand_and_run(mp, ramp(6, 1, 1.5f));
    REQUIRE_MESSAGE(direct.is_ok(), direct.status().message());
    auto e = load_and_expand(mp, no_kernel_for({"MeanVarianceNormalization"}));
    REQUIRE_MESSAGE(e.is_ok(), e.status().message());
    CHECK(count_op(*e->model->graph, "MeanVarianceNormalization") == 0);
    CHECK(count_op(*e->model->graph, "ReduceMean") == 2);
    auto via_body = run(*e->model, {{"x", RValue(ramp(6, 1, 1.5f))}});
    REQUIRE_MESSAGE(via_body.is_ok(), via_body.status().message());
    for (size_t i = 0; i < 6; ++i) CHECK((*via_body)[i] == doctest::Approx((*direct)[i]).epsilon(1e-5));
  }
  {
    // scores float[3,4], labels int64[3] -> mean loss (a scalar).
    onnx::ModelProto mp;
    mp.set_ir_version(8);
    mp.add_opset_import()->set_version(13);
    auto* g = mp.mutable_graph();
    g->set_name("sce");
    auto* s = g->add_input();
    s->set_name("x");
    auto* st = s->mutable_type()->mutable_tensor_type();
    st->set_elem_type(onnx::TensorProto::FLOAT);
    st->mutable_shape()->add_dim()->set_dim_value(3);
    st->mutable_shape()->add_dim()->set_dim_value(4);
    auto* l = g->add_input();
    l->set_name("labels");
    auto* lt = l->mutable_type()->mutable_tensor_type();
    lt->set_elem_type(onnx::TensorProto::INT64);
    lt->mutable_shape()->add_dim()->set_dim_value(3);
    g->add_output()->set_name("y");
    *g->add_node() = node("SoftmaxCrossEntropyLoss", {"x", "labels"}, {"y"});
    Tensor labels(DType::Int64, {3});
    labels.mutable_data<int64_t>()[0] = 1;
    labels.mutable_data<int64_t>()[1] = 3;
    labels.mutable_data<int64_t>()[2] = 0;
    std::map<std::string, RValue> feeds{{"x", RValue(ramp(12, -1, 0.25f).reshaped({3, 4}))}, {"labels", RValue(labels)}};
    auto direct = load_and_expand(mp);
    REQUIRE(direct.is_ok());
    auto want = run(*direct->model, feeds);
    REQUIRE_MESSAGE(want.is_ok(), want.status().message());
    auto e = load_and_expand(mp, no_kernel_for({"SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss"}));
    REQUIRE_MESSAGE(e.is_ok(), e.status().message());
    CHECK(e->report.calls_expanded == 2);
    CHECK(count_op(*e->model->graph, "NegativeLogLikelihoodLoss") == 0);
    auto got = run(*e->model, feeds);
    REQUIRE_MESSAGE(got.is_ok(), got.status().message());
    REQUIRE(got->size() == 1);
    CHECK((*got)[0] == doctest::Approx((*want)[0]).epsilon(1e-5));
  }
}

#ifdef ORTOOL_BINARY
TEST_CASE("ortool run executes testdata/local_function.onnx (nested functions with an attribute reference)") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ortool_fn_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Tensor x(DType::Float, {2, 3});
  const float xs[] = {-1, 0.5f, 1, 2.5f, 3, 10};
  for (int i = 0; i < 6; ++i) x.mutable_data<float>()[i] = xs[i];
  REQUIRE(write_npy(x, dir / "x.npy").is_ok());
  std::string cmd = fmt::format("'{}' run '{}/testdata/local_function.onnx' --input x='{}' --output-dir '{}' --format npy",
                                ORTOOL_BINARY, ORTOOL_SOURCE_DIR, (dir / "x.npy").string(), (dir / "out").string());
  REQUIRE(std::system((cmd + " >/dev/null 2>&1").c_str()) == 0);
  fs::path out;
  for (const auto& e : fs::directory_iterator(dir / "out")) out = e.path();
  auto y = read_npy(out);
  REQUIRE_MESSAGE(y.is_ok(), y.status().message());
  REQUIRE(y->numel() == 6);
  // y = clip(2x, 0, 6)
  const float want[] = {0, 1, 2, 5, 6, 6};
  for (int i = 0; i < 6; ++i) CHECK(y->data<float>()[i] == want[i]);
  std::error_code ec;
  fs::remove_all(dir, ec);
}
#endif
