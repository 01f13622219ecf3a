// Session tests: input checks, liveness, memory limit, unsupported ops, subgraph-free execution.
#include <doctest/doctest.h>

#include <algorithm>

#include "lib/graph.h"
#include "runtime/provider.h"
#include "runtime/session.h"

using namespace ortool;
using namespace ortool::ir;

namespace {
// y = Relu(x + w), x: float[N,3]
std::unique_ptr<Model> relu_add_model() {
  auto m = std::make_unique<Model>();
  m->set_opset("", 13);
  Graph& g = *m->graph;
  Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::symbol("N"), Dim::known(3)});
  g.add_input(x);
  Tensor w(DType::Float, {3});
  w.mutable_data<float>()[0] = -1;
  w.mutable_data<float>()[1] = 0;
  w.mutable_data<float>()[2] = 1;
  Value* wv = g.add_initializer("w", std::make_shared<Tensor>(w));
  Node* add = g.add_node("Add", "", {x, wv}, {"s"}, "add");
  Node* relu = g.add_node("Relu", "", {add->output(0)}, {"y"}, "relu");
  g.add_output(relu->output(0));
  return m;
}

Tensor input(std::vector<int64_t> dims, float base) {
  Tensor t(DType::Float, dims);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = base + static_cast<float>(i);
  return t;
}
}  // namespace

TEST_CASE("session runs a small graph") {
  auto m = relu_add_model();
  auto s = rt::Session::create(*m);
  REQUIRE(s.is_ok());
  auto out = (*s)->run({{"x", RValue(input({2, 3}, -2))}});
  REQUIRE(out.is_ok());
  const Tensor& y = (*out)[0].tensor;
  REQUIRE(y.dims() == std::vector<int64_t>{2, 3});
  // x = [-2,-1,0,1,2,3] + w = [-3,-1,1,0,2,4] -> relu
  std::vector<float> expect = {0, 0, 1, 0, 2, 4};
  for (int i = 0; i < 6; ++i) CHECK(y.data<float>()[i] == expect[static_cast<size_t>(i)]);
  // Reusable: a second run with another batch size.
  auto out2 = (*s)->run({{"x", RValue(input({1, 3}, 0))}});
  REQUIRE(out2.is_ok());
  CHECK((*out2)[0].tensor.dims() == std::vector<int64_t>{1, 3});
}

TEST_CASE("session rejects wrong inputs with messages naming the input") {
  auto m = relu_add_model();
  auto s = rt::Session::create(*m);
  REQUIRE(s.is_ok());
  auto wrong_rank = (*s)->run({{"x", RValue(input({3}, 0))}});
  REQUIRE_FALSE(wrong_rank.is_ok());
  CHECK(wrong_rank.status().message().find("'x'") != std::string::npos);
  auto wrong_dim = (*s)->run({{"x", RValue(input({2, 4}, 0))}});
  CHECK_FALSE(wrong_dim.is_ok());
  auto wrong_type = (*s)->run({{"x", RValue(Tensor(DType::Int64, {2, 3}))}});
  REQUIRE_FALSE(wrong_type.is_ok());
  CHECK(wrong_type.status().message().find("int64") != std::string::npos);
  auto missing = (*s)->run({});
  CHECK_FALSE(missing.is_ok());
  auto unknown = (*s)->run({{"x", RValue(input({2, 3}, 0))}, {"zz", RValue(input({1}, 0))}});
  CHECK_FALSE(unknown.is_ok());
}

TEST_CASE("memory limit fails cleanly") {
  auto m = relu_add_model();
  rt::SessionOptions o;
  o.max_memory_bytes = 1000;
  auto s = rt::Session::create(*m, o);
  REQUIRE(s.is_ok());
  CHECK((*s)->run({{"x", RValue(input({10, 3}, 0))}}).is_ok());
  auto big = (*s)->run({{"x", RValue(input({1000, 3}, 0))}});
  REQUIRE_FALSE(big.is_ok());
  CHECK(big.status().code() == StatusCode::kResourceLimit);
  CHECK((*s)->peak_memory_bytes() <= 1000);
}

TEST_CASE("unsupported op is named with domain and opset") {
  Model m;
  m.set_opset("", 13);
  Value* x = m.graph->add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(1)});
  m.graph->add_input(x);
  Node* n = m.graph->add_node("NoSuchOp", "", {x}, {"y"}, "weird");
  m.graph->add_output(n->output(0));
  auto s = rt::Session::create(m);
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.status().message().find("NoSuchOp") != std::string::npos);
  CHECK(s.status().message().find("weird") != std::string::npos);
  CHECK(s.status().code() == StatusCode::kUnsupported);
}

TEST_CASE("run_node evaluates one node") {
  auto m = relu_add_model();
  Node* add = m->graph->nodes()[0];
  auto out = rt::run_node(*add, *m, {RValue(input({1, 3}, 0)), RValue(*add->input(1)->constant())});
  REQUIRE(out.is_ok());
  CHECK((*out)[0].tensor.data<float>()[2] == 3.0f);
}

TEST_CASE("default providers: oneDNN where built in, else XNNPACK, then cpu; all of them are available") {
  const std::vector<std::string> d = rt::default_providers();
  REQUIRE(!d.empty());
  CHECK(d.back() == "cpu");
  const std::vector<std::string> all = rt::available_providers();
  for (const std::string& n : d) CHECK(std::find(all.begin(), all.end(), n) != all.end());
#if defined(ORTOOL_HAVE_DNNL)
  CHECK(d == std::vector<std::string>{"dnnl", "cpu"});
#elif defined(ORTOOL_HAVE_XNNPACK)
  CHECK(d == std::vector<std::string>{"xnnpack", "cpu"});
#else
  CHECK(d == std::vector<std::string>{"cpu"});
#endif
}

TEST_CASE("a one-element tensor fed for a scalar input runs as the scalar, with a note; other mismatches fail") {
  // y = x * Cast(sr), x: float[3], sr: int64 scalar (how voice-activity models take their sample rate).
  Model m;
  m.set_opset("", 13);
  Graph& g = *m.graph;
  Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(3)});
  g.add_input(x);
  Value* sr = g.add_value("sr");
  sr->type = Type::tensor(DType::Int64, Shape{});
  g.add_input(sr);
  Node* cast = g.add_node("Cast", "", {sr}, {"srf"}, "cast");
  cast->set_attr(Attribute::make_int("to", static_cast<int64_t>(DType::Float)));
  Node* mul = g.add_node("Mul", "", {x, cast->output(0)}, {"y"}, "mul");
  g.add_output(mul->output(0));
  auto s = rt::Session::create(m);
  REQUIRE(s.is_ok());
  auto rate = [](std::vector<int64_t> dims, int64_t v) {
    Tensor t(DType::Int64, dims);
    for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<int64_t>()[i] = v + i;
    return RValue(t);
  };
  auto run = [&](RValue r) { return (*s)->run({{"x", RValue(input({3}, 1))}, {"sr", std::move(r)}}); };
  // The declared scalar: no note.
  auto out = run(rate({}, 2));
  REQUIRE(out.is_ok());
  CHECK((*s)->feed_notes().empty());
  for (std::vector<int64_t> dims : {std::vector<int64_t>{1}, std::vector<int64_t>{1, 1}}) {
    auto one = run(rate(dims, 2));
    REQUIRE(one.is_ok());
    const Tensor& y = (*one)[0].tensor;
    CHECK(y.dims() == std::vector<int64_t>{3});  // the scalar's shape, not broadcast up to [1, 3]
    for (int i = 0; i < 3; ++i) CHECK(y.data<float>()[i] == 2.0f * static_cast<float>(1 + i));
    REQUIRE((*s)->feed_notes().size() == 1);
    CHECK((*s)->feed_notes()[0].find("'sr'") != std::string::npos);
  }
  // The next run with the declared scalar clears the note.
  REQUIRE(run(rate({}, 2)).is_ok());
  CHECK((*s)->feed_notes().empty());
  // Every other mismatch stays an error naming the input.
  for (RValue bad : {rate({2}, 2), rate({0}, 2), RValue(input({1}, 2))}) {
    auto r = run(bad);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("'sr'") != std::string::npos);
  }
  // A scalar where a one-element tensor is declared is not widened either.
  Tensor x0(DType::Float, {});
  auto r = (*s)->run({{"x", RValue(x0)}, {"sr", rate({}, 2)}});
  CHECK_FALSE(r.is_ok());
}

TEST_CASE("declared shapes too large for one tensor or for --max-memory are refused before providers prepare") {
  // x: float[N, 3] with N fixed to 2^40 (as --shape batch=2^40 does): 12 TiB for x alone. The fast
  // providers make primitives (and allocate) for fixed shapes when they claim nodes, so the session
  // must refuse before partitioning, whichever providers are built.
  auto m = relu_add_model();
  Value* x = m->graph->inputs()[0];
  x->type = Type::tensor(DType::Float, Shape{Dim::known(int64_t{1} << 40), Dim::known(3)});
  for (const std::vector<std::string>& providers : {std::vector<std::string>{"cpu"}, rt::available_providers()}) {
    rt::SessionOptions o;
    o.providers = providers;
    auto s = rt::Session::create(*m, o);
    REQUIRE_FALSE(s.is_ok());
    CHECK(s.status().code() == StatusCode::kResourceLimit);
    CHECK(s.status().message().find("'x'") != std::string::npos);
  }
  // Within one tensor's limit but over the budget: a value a node makes is refused (the input is the
  // caller's memory, which the budget does not count).
  x->type = Type::tensor(DType::Float, Shape{Dim::known(1000), Dim::known(3)});
  rt::SessionOptions small;
  small.max_memory_bytes = 1000;
  CHECK(rt::Session::create(*m, small).is_ok());
  m->graph->find_value("s")->type = x->type;
  auto s = rt::Session::create(*m, small);
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.status().code() == StatusCode::kResourceLimit);
  CHECK(s.status().message().find("'s' (node 'add' (Add))") != std::string::npos);
  CHECK(s.status().message().find("--max-memory") != std::string::npos);
  small.max_memory_bytes = 100000;
  CHECK(rt::Session::create(*m, small).is_ok());
}
