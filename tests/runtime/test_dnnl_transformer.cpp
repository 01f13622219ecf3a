// Tests of the dnnl provider's transformer ops (Softmax, LayerNormalization in both domains): random
// shapes and data must match the cpu-only session, and the nodes must run on dnnl.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"

#ifdef ORTOOL_HAVE_DNNL

using namespace ortool;

namespace {

Tensor random_tensor(std::vector<int64_t> dims, std::mt19937& rng, float lo = -3, float hi = 3) {
  Tensor t(DType::Float, std::move(dims));
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = d(rng);
  return t;
}

std::vector<int64_t> random_dims(size_t rank, std::mt19937& rng) {
  std::uniform_int_distribution<int64_t> d(1, 9);
  std::vector<int64_t> out(rank);
  for (int64_t& v : out) v = d(rng);
  return out;
}

struct Ran {
  RValue y;
  std::vector<rt::NodeTiming> timings;
};

Ran run(const ir::Model& m, std::vector<std::string> providers, const std::map<std::string, RValue>& feeds) {
  rt::SessionOptions o;
  o.providers = std::move(providers);
  o.profile = true;
  o.threads = 1;
  auto s = rt::Session::create(m, o);
  INFO(s.status().message());
  REQUIRE(s.is_ok());
  auto r = (*s)->run(feeds);
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  REQUIRE(r->size() == 1);
  return {(*r)[0], (*s)->node_timings()};
}

// Runs `m` on dnnl,cpu and on cpu; the output must agree within 1e-4 relative and
// every node must have run on `provider` in the first session.
void compare(const ir::Model& m, const std::map<std::string, RValue>& feeds, const std::string& provider = "dnnl") {
  const Ran got = run(m, {"dnnl", "cpu"}, feeds);
  const Ran want = run(m, {"cpu"}, feeds);
  REQUIRE(got.y.is_tensor());
  REQUIRE(got.y.tensor.dims() == want.y.tensor.dims());
  const float* g = got.y.tensor.data<float>();
  const float* w = want.y.tensor.data<float>();
  int bad = 0;
  for (int64_t i = 0; i < want.y.tensor.numel(); ++i)
    if (!(std::fabs(g[i] - w[i]) <= 1e-4f + 1e-4f * std::fabs(w[i])) && ++bad <= 3)
      FAIL_CHECK(fmt::format("element {}: dnnl {} vs cpu {}", i, g[i], w[i]));
  CHECK(bad == 0);
  REQUIRE(!got.timings.empty());
  for (const rt::NodeTiming& t : got.timings) {
    INFO(t.node->name);
    CHECK(t.provider == provider);
  }
}

void compare(const ir::Model& m, const Tensor& x, const std::string& provider = "dnnl") {
  compare(m, {{"x", RValue(x)}}, provider);
}

ir::Value* add_input(ir::Graph& g, const std::vector<int64_t>& dims, const std::string& name = "x") {
  ir::Value* x = g.add_value(name);
  Shape s;
  for (int64_t d : dims) s.push_back(Dim::known(d));
  x->type = Type::tensor(DType::Float, s);
  g.add_input(x);
  return x;
}

TEST_CASE("dnnl: Softmax on every axis, opset 13 (one axis) and 11 (flattened from the axis)") {
  std::mt19937 rng(31);
  for (int opset : {11, 13}) {
    for (size_t rank = 1; rank <= 4; ++rank) {
      for (int64_t axis = -static_cast<int64_t>(rank); axis < static_cast<int64_t>(rank); ++axis) {
        CAPTURE(opset);
        CAPTURE(rank);
        CAPTURE(axis);
        ir::Model m;
        m.set_opset("", opset);
        const std::vector<int64_t> dims = random_dims(rank, rng);
        ir::Value* x = add_input(*m.graph, dims);
        ir::Node* n = m.graph->add_node("Softmax", "", {x}, {"y"}, "softmax");
        n->set_attr(ir::Attribute::make_int("axis", axis));
        m.graph->add_output(n->output(0));
        compare(m, random_tensor(dims, rng));
      }
    }
  }
}

TEST_CASE("dnnl: Softmax of a transformer's attention scores, default axis") {
  std::mt19937 rng(32);
  {
    ir::Model m;
    m.set_opset("", 13);
    ir::Value* x = add_input(*m.graph, {2, 4, 33, 33});
    m.graph->add_output(m.graph->add_node("Softmax", "", {x}, {"y"}, "softmax")->output(0));
    compare(m, random_tensor({2, 4, 33, 33}, rng, -20, 20));
  }
}

// LayerNormalization of x over the dims from `axis`, in the default domain (opset 17) or the
// runtime's; with or without B.
ir::Model layer_norm_model(const std::vector<int64_t>& dims, int64_t axis, bool bias, bool runtime_domain,
                           std::mt19937& rng) {
  ir::Model m;
  m.set_opset("", 17);
  if (runtime_domain) m.set_opset(std::string(kRuntimeDomain), 1);
  ir::Graph& g = *m.graph;
  ir::Value* x = add_input(g, dims);
  const size_t from = static_cast<size_t>(axis < 0 ? axis + static_cast<int64_t>(dims.size()) : axis);
  const std::vector<int64_t> norm(dims.begin() + static_cast<std::ptrdiff_t>(from), dims.end());
  std::vector<ir::Value*> ins{x, g.add_initializer("scale", std::make_shared<Tensor>(random_tensor(norm, rng)))};
  if (bias) ins.push_back(g.add_initializer("bias", std::make_shared<Tensor>(random_tensor(norm, rng))));
  ir::Node* n = g.add_node("LayerNormalization", runtime_domain ? std::string(kRuntimeDomain) : "", ins, {"y"}, "ln");
  n->set_attr(ir::Attribute::make_int("axis", axis));
  n->set_attr(ir::Attribute::make_float("epsilon", 1e-3f));
  g.add_output(n->output(0));
  return m;
}

TEST_CASE("dnnl: LayerNormalization over 1 and 2 trailing axes, with and without B, in both domains") {
  std::mt19937 rng(33);
  for (bool runtime_domain : {false, true}) {
    for (bool bias : {false, true}) {
      for (int64_t axis : {-1, -2, 1}) {
        CAPTURE(runtime_domain);
        CAPTURE(bias);
        CAPTURE(axis);
        std::vector<int64_t> dims = random_dims(3, rng);
        dims[2] += 250;  // a transformer's model width, beyond one vector
        compare(layer_norm_model(dims, axis, bias, runtime_domain, rng), random_tensor(dims, rng));
      }
    }
  }
}

TEST_CASE("dnnl: LayerNormalization with a broadcast Scale runs the cpu kernel, and one wanting Mean stays on cpu") {
  std::mt19937 rng(34);
  {
    // Scale [1, 8] against normalized dims [3, 8]: oneDNN takes one scale per element, so the
    // kernel hands the node to the cpu kernel (the node still counts as dnnl's).
    ir::Model m;
    m.set_opset("", 17);
    ir::Graph& g = *m.graph;
    ir::Value* x = add_input(g, {2, 3, 8});
    ir::Node* n = g.add_node("LayerNormalization", "",
                             {x, g.add_initializer("scale", std::make_shared<Tensor>(random_tensor({1, 8}, rng)))},
                             {"y"}, "ln");
    n->set_attr(ir::Attribute::make_int("axis", 1));
    g.add_output(n->output(0));
    compare(m, random_tensor({2, 3, 8}, rng));
  }
  {
    ir::Model m;
    m.set_opset("", 17);
    ir::Graph& g = *m.graph;
    ir::Value* x = add_input(g, {4, 16});
    ir::Node* n = g.add_node("LayerNormalization", "",
                             {x, g.add_initializer("scale", std::make_shared<Tensor>(random_tensor({16}, rng)))},
                             {"y", "mean"}, "ln");
    ir::Node* a = g.add_node("Add", "", {n->output(0), n->output(1)}, {"s"}, "add");
    g.add_output(a->output(0));
    compare(m, random_tensor({4, 16}, rng), "cpu");
  }
}

TEST_CASE("dnnl: MatMul with a constant weight takes the bias Add after it and the Relu after that") {
  std::mt19937 rng(35);
  for (int variant = 0; variant < 4; ++variant) {
    CAPTURE(variant);
    const bool bias_first = variant % 2 == 1, bias_2d = variant >= 2;
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    const std::vector<int64_t> dims{3, 7, 24};
    ir::Value* x = add_input(g, dims);
    ir::Value* w = g.add_initializer("w", std::make_shared<Tensor>(random_tensor({24, 40}, rng)));
    ir::Value* b = g.add_initializer(
        "b", std::make_shared<Tensor>(random_tensor(bias_2d ? std::vector<int64_t>{1, 40} : std::vector<int64_t>{40}, rng)));
    ir::Value* mm = g.add_node("MatMul", "", {x, w}, {"mm"}, "matmul")->output(0);
    ir::Value* sum = g.add_node("Add", "", bias_first ? std::vector<ir::Value*>{b, mm} : std::vector<ir::Value*>{mm, b},
                                {"s"}, "add")->output(0);
    g.add_output(g.add_node("Relu", "", {sum}, {"y"}, "relu")->output(0));
    compare(m, random_tensor(dims, rng));
    const Ran got = run(m, {"dnnl", "cpu"}, {{"x", RValue(random_tensor(dims, rng))}});
    REQUIRE(got.timings.size() == 1);  // one step: MatMul + Add + Relu
    CHECK(got.timings[0].fused_nodes == 3);
  }
}

TEST_CASE("dnnl: MatMul of two computed tensors, batched and with broadcast batch dims") {
  std::mt19937 rng(36);
  struct Case {
    std::vector<int64_t> a, b;
  };
  const std::vector<Case> cases{
      {{5, 7}, {7, 3}},                   // plain matrices
      {{6, 9}, {2, 9, 4}},                // 2-D x 3-D
      {{2, 6, 9}, {9, 4}},                // 3-D x 2-D
      {{2, 3, 17, 8}, {2, 3, 8, 17}},     // attention scores
      {{1, 4, 5, 6}, {3, 4, 6, 2}},       // [1, h, m, k] x [b, h, k, n]
      {{3, 1, 5, 6}, {1, 4, 6, 2}},       // both sides broadcast
      {{2, 3, 0, 8}, {2, 3, 8, 5}},       // empty rows
      {{2, 4, 0}, {2, 0, 3}},             // K == 0: zeros
  };
  for (const Case& c : cases) {
    INFO(fmt::format("[{}] x [{}]", fmt::join(c.a, ", "), fmt::join(c.b, ", ")));
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* a = add_input(g, c.a, "a");
    ir::Value* b = add_input(g, c.b, "b");
    g.add_output(g.add_node("MatMul", "", {a, b}, {"y"}, "matmul")->output(0));
    compare(m, {{"a", RValue(random_tensor(c.a, rng))}, {"b", RValue(random_tensor(c.b, rng))}});
  }
}

TEST_CASE("dnnl: MatMul of computed tensors that are vectors or do not broadcast runs the cpu kernel") {
  std::mt19937 rng(37);
  {
    // Declared as matrices, fed a vector: the claim stands, the kernel hands it to the cpu kernel.
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* a = g.add_value("a");
    a->type = Type::tensor(DType::Float, std::nullopt);
    g.add_input(a);
    ir::Value* b = add_input(g, {6, 3}, "b");
    ir::Value* bb = g.add_node("Relu", "", {b}, {"bb"}, "relu")->output(0);  // computed B
    g.add_output(g.add_node("MatMul", "", {a, bb}, {"y"}, "matmul")->output(0));
    const std::map<std::string, RValue> feeds{{"a", RValue(random_tensor({6}, rng))},
                                              {"b", RValue(random_tensor({6, 3}, rng))}};
    const Ran got = run(m, {"dnnl", "cpu"}, feeds);
    const Ran want = run(m, {"cpu"}, feeds);
    REQUIRE(got.y.tensor.dims() == want.y.tensor.dims());
    for (int64_t i = 0; i < want.y.tensor.numel(); ++i)
      CHECK(got.y.tensor.data<float>()[i] == doctest::Approx(want.y.tensor.data<float>()[i]).epsilon(1e-4));
  }
  {
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* a = add_input(g, {2, 4, 5}, "a");
    ir::Value* b = add_input(g, {3, 5, 2}, "b");  // batch 2 against 3: an error from the cpu kernel
    g.add_output(g.add_node("MatMul", "", {a, b}, {"y"}, "matmul")->output(0));
    rt::SessionOptions o;
    o.providers = {"dnnl", "cpu"};
    auto s = rt::Session::create(m, o);
    REQUIRE(s.is_ok());
    auto r = (*s)->run({{"a", RValue(random_tensor({2, 4, 5}, rng))}, {"b", RValue(random_tensor({3, 5, 2}, rng))}});
    CHECK(!r.is_ok());
  }
}

}  // namespace

#endif  // ORTOOL_HAVE_DNNL
