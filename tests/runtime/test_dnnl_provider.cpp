// Tests of provider selection and the dnnl provider: its sessions must match the cpu-only session's outputs.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/session.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;

namespace {

// Names that session creation rejects whatever was built in.
TEST_CASE("unknown or repeated provider names give a clean error listing the available ones") {
  ir::Model m;
  m.set_opset("", 13);
  ir::Value* x = m.graph->add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(2)});
  m.graph->add_input(x);
  m.graph->add_output(m.graph->add_node("Relu", "", {x}, {"y"}, "relu")->output(0));
  rt::SessionOptions o;
  o.providers = {"gpu"};
  auto s = rt::Session::create(m, o);
  REQUIRE_FALSE(s.is_ok());
  CHECK(s.status().message().find("'gpu'") != std::string::npos);
  CHECK(s.status().message().find("available: ") != std::string::npos);
  CHECK(s.status().message().find("cpu") != std::string::npos);
  o.providers = {"cpu", "cpu"};
  auto twice = rt::Session::create(m, o);
  REQUIRE_FALSE(twice.is_ok());
  CHECK(twice.status().message().find("twice") != std::string::npos);
#ifdef ORTOOL_HAVE_DNNL
  CHECK(s.status().message().find("dnnl") != std::string::npos);
#else
  o.providers = {"dnnl"};
  auto missing = rt::Session::create(m, o);
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().message().find("not built in") != std::string::npos);
#endif
}

}  // namespace

#ifdef ORTOOL_HAVE_DNNL

namespace {

struct ConvCase {
  int64_t n = 1, group = 1, cg = 1, mg = 1, h = 5, w = 5, kh = 3, kw = 3;
  std::vector<int64_t> strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
  std::string auto_pad;  // empty: NOTSET
  bool bias = true;
  bool bn = false;  // an inference BatchNormalization between the conv and the activation
  std::string act;  // "", "Relu", "Clip", "LeakyRelu", "Sigmoid"
  bool static_shape = true;

  std::string describe() const {
    return fmt::format(
        "n{} g{} cg{} mg{} {}x{} k{}x{} s{},{} d{},{} p{},{},{},{} auto_pad '{}' bias {} bn {} act '{}' static {}", n,
        group, cg, mg, h, w, kh, kw, strides[0], strides[1], dilations[0], dilations[1], pads[0], pads[1], pads[2],
        pads[3], auto_pad, bias, bn, act, static_shape);
  }
};

// x -> Conv (constant W, B) -> optional activation -> y.
std::unique_ptr<ir::Model> conv_model(const ConvCase& c, std::mt19937& rng, int64_t opset = 13) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", opset);
  ir::Graph& g = *m->graph;
  ir::Value* x = g.add_value("x");
  const int64_t cin = c.cg * c.group, cout = c.mg * c.group;
  x->type = Type::tensor(DType::Float, c.static_shape ? Shape{Dim::known(c.n), Dim::known(cin), Dim::known(c.h),
                                                              Dim::known(c.w)}
                                                        : Shape{Dim::symbol("N"), Dim::known(cin), Dim::symbol("H"),
                                                                Dim::symbol("W")});
  g.add_input(x);
  std::vector<ir::Value*> ins{x, initializer(g, "w", random_tensor({cout, c.cg, c.kh, c.kw}, rng))};
  if (c.w % 3 == 0) ins[1] = g.add_node("Identity", "", {ins[1]}, {"w_id"}, "w_id")->output(0);  // as some exporters do
  if (c.bias) ins.push_back(initializer(g, "b", random_tensor({cout}, rng)));
  ir::Node* conv = g.add_node("Conv", "", ins, {"c"}, "conv");
  conv->set_attr(ir::Attribute::make_int("group", c.group));
  conv->set_attr(ir::Attribute::make_ints("kernel_shape", {c.kh, c.kw}));
  conv->set_attr(ir::Attribute::make_ints("strides", c.strides));
  conv->set_attr(ir::Attribute::make_ints("dilations", c.dilations));
  if (c.auto_pad.empty())
    conv->set_attr(ir::Attribute::make_ints("pads", c.pads));
  else
    conv->set_attr(ir::Attribute::make_string("auto_pad", c.auto_pad));
  ir::Value* y = conv->output(0);
  if (c.bn) {
    ir::Node* bn = g.add_node("BatchNormalization", "",
                              {y, initializer(g, "scale", random_tensor({cout}, rng)),
                               initializer(g, "shift", random_tensor({cout}, rng)),
                               initializer(g, "mean", random_tensor({cout}, rng)),
                               initializer(g, "var", random_tensor({cout}, rng, 0.5f, 2.0f))},
                              {"n"}, "bn");
    bn->set_attr(ir::Attribute::make_float("epsilon", 1e-3f));
    y = bn->output(0);
  }
  if (c.act == "Clip") {
    Tensor lo(DType::Float, {}), hi(DType::Float, {});
    lo.mutable_data<float>()[0] = 0;
    hi.mutable_data<float>()[0] = 0.5f;
    ir::Value *lv, *hv;
    if (c.kh % 2 == 0) {  // bounds from Constant nodes, as exporters write them
      ir::Node* ln = g.add_node("Constant", "", {}, {"lo"}, "lo");
      ln->set_attr(ir::Attribute::make_tensor("value", std::make_shared<Tensor>(lo)));
      ir::Node* hn = g.add_node("Constant", "", {}, {"hi"}, "hi");
      hn->set_attr(ir::Attribute::make_tensor("value", std::make_shared<Tensor>(hi)));
      lv = ln->output(0);
      hv = hn->output(0);
    } else {
      lv = initializer(g, "lo", lo);
      hv = initializer(g, "hi", hi);
    }
    y = g.add_node("Clip", "", {y, lv, hv}, {"y"}, "act")->output(0);
  } else if (!c.act.empty()) {
    ir::Node* a = g.add_node(c.act, "", {y}, {"y"}, "act");
    if (c.act == "LeakyRelu") a->set_attr(ir::Attribute::make_float("alpha", 0.2f));
    y = a->output(0);
  }
  g.add_output(y);
  return m;
}

ConvCase random_case(std::mt19937& rng) {
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  ConvCase c;
  for (;;) {
    c.n = pick(1, 2);
    switch (pick(0, 3)) {
      case 0: c.group = 1; c.cg = pick(1, 8); c.mg = pick(1, 8); break;
      case 1: c.group = pick(2, 4); c.cg = pick(1, 4); c.mg = pick(1, 4); break;
      case 2: c.group = pick(2, 24); c.cg = 1; c.mg = 1; break;  // depthwise
      default: c.group = pick(1, 2); c.cg = pick(8, 40); c.mg = pick(8, 40); break;
    }
    c.h = pick(1, 14);
    c.w = pick(1, 14);
    c.kh = pick(1, 3);
    c.kw = pick(1, 5);
    c.strides = {pick(1, 3), pick(1, 2)};
    c.dilations = {pick(1, 2), pick(1, 3)};
    c.pads = {pick(0, 2), pick(0, 1), pick(0, 2), pick(0, 3)};
    const char* aps[] = {"", "", "", "SAME_UPPER", "SAME_LOWER", "VALID"};
    c.auto_pad = aps[pick(0, 5)];
    c.bias = pick(0, 1) == 1;
    c.bn = pick(0, 2) == 0;
    const char* acts[] = {"", "Relu", "Clip", "LeakyRelu", "Sigmoid"};
    c.act = acts[pick(0, 4)];
    c.static_shape = pick(0, 2) != 0;
    // Keep only geometries with a non-empty output.
    const int64_t eh = (c.kh - 1) * c.dilations[0] + 1, ew = (c.kw - 1) * c.dilations[1] + 1;
    const bool same = c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER";
    const int64_t ph = c.auto_pad.empty() ? c.pads[0] + c.pads[2] : 0, pw = c.auto_pad.empty() ? c.pads[1] + c.pads[3] : 0;
    if (same || (c.h + ph >= eh && c.w + pw >= ew)) return c;
  }
}

}  // namespace

TEST_CASE("dnnl Conv matches the cpu reference on random geometries, activations and thread counts") {
  std::mt19937 rng(20240611);
  for (int i = 0; i < 120; ++i) {
    ConvCase c = random_case(rng);
    CAPTURE(i);
    INFO(c.describe());
    auto m = conv_model(c, rng);
    Tensor x = random_tensor({c.n, c.cg * c.group, c.h, c.w}, rng, -2, 2);
    std::map<std::string, RValue> feeds{{"x", RValue(x)}};
    Ran want = run(*m, {"cpu"}, feeds);
    Ran got = run(*m, {"dnnl", "cpu"}, feeds, 1 + i % 2);
    check_close(got.outputs[0], want.outputs[0]);
    auto [provider, fused] = ran_by(got.timings, "conv");
    CHECK(provider == "dnnl");
    CHECK(fused == 1u + (c.bn ? 1u : 0u) + (c.act.empty() ? 0u : 1u));
    CHECK(ran_by(got.timings, "act").first.empty());  // the activation ran inside the conv's step
  }
}

TEST_CASE("dnnl Conv with a symbolic input shape handles several shapes in one session") {
  std::mt19937 rng(7);
  ConvCase c;
  c.static_shape = false;
  c.group = 2;
  c.cg = 3;
  c.mg = 5;
  c.pads = {1, 1, 1, 1};
  c.act = "Relu";
  auto m = conv_model(c, rng);
  m->graph->find_value("x")->type = Type::tensor(DType::Float);  // nothing known: the kernel checks
  rt::SessionOptions dn, cpu;
  dn.providers = {"dnnl"};
  auto sd = rt::Session::create(*m, dn);
  auto sc = rt::Session::create(*m, cpu);
  REQUIRE(sd.is_ok());
  REQUIRE(sc.is_ok());
  for (auto dims : std::vector<std::vector<int64_t>>{{1, 6, 7, 9}, {3, 6, 4, 4}, {1, 6, 7, 9}, {2, 6, 1, 1}}) {
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor(dims, rng))}};
    auto a = (*sd)->run(feeds);
    auto b = (*sc)->run(feeds);
    REQUIRE(a.is_ok());
    REQUIRE(b.is_ok());
    check_close((*a)[0], (*b)[0]);
  }
  // A wrong channel count is an error naming the conv, not a crash.
  auto bad = (*sd)->run({{"x", RValue(random_tensor({1, 5, 4, 4}, rng))}});
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("'conv'") != std::string::npos);
}

TEST_CASE("dnnl leaves Conv with non-constant weights to cpu, and still matches") {
  std::mt19937 rng(3);
  for (bool overridable : {false, true}) {
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* x = g.add_value("x");
    x->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(4), Dim::known(6), Dim::known(6)});
    g.add_input(x);
    ir::Value* w;
    if (overridable) {  // an initializer that is also a graph input: a feed may replace it
      w = initializer(g, "w", random_tensor({3, 4, 3, 3}, rng));
      g.add_input(w);
    } else {
      w = g.add_value("w");
      w->type = Type::tensor(DType::Float, Shape{Dim::known(3), Dim::known(4), Dim::known(3), Dim::known(3)});
      g.add_input(w);
    }
    ir::Node* conv = g.add_node("Conv", "", {x, w}, {"c"}, "conv");
    g.add_output(g.add_node("Relu", "", {conv->output(0)}, {"y"}, "act")->output(0));
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({1, 4, 6, 6}, rng))},
                                        {"w", RValue(random_tensor({3, 4, 3, 3}, rng))}};
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"dnnl", "cpu"}, feeds);
    check_close(got.outputs[0], want.outputs[0]);
    CHECK(ran_by(got.timings, "conv") == std::pair<std::string, size_t>{"cpu", 1});
    CHECK(ran_by(got.timings, "act") == std::pair<std::string, size_t>{"cpu", 1});
  }
}

TEST_CASE("dnnl does not fuse an activation when the conv output has another reader") {
  std::mt19937 rng(5);
  ConvCase c;
  c.act = "Relu";
  auto m = conv_model(c, rng);
  m->graph->add_output(m->graph->find_value("c"));  // the conv output is also a graph output
  std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({1, 1, 5, 5}, rng))}};
  Ran want = run(*m, {"cpu"}, feeds);
  Ran got = run(*m, {"dnnl"}, feeds);
  REQUIRE(got.outputs.size() == 2);
  check_close(got.outputs[0], want.outputs[0]);
  check_close(got.outputs[1], want.outputs[1]);
  CHECK(ran_by(got.timings, "conv") == std::pair<std::string, size_t>{"dnnl", 1});
  // Its own step (oneDNN's eltwise on the conv output), not fused into the conv.
  CHECK(ran_by(got.timings, "act") == std::pair<std::string, size_t>{"dnnl", 1});
}

TEST_CASE("dnnl fuses a residual Add (and an activation after it) into the conv") {
  std::mt19937 rng(17);
  for (int i = 0; i < 8; ++i) {
    CAPTURE(i);
    const bool relu = i % 2 == 0, conv_first = i % 4 < 2, symbolic = i >= 4, broadcast = i == 7, bn = i == 2 || i == 5;
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    const Dim n = symbolic ? Dim::symbol("N") : Dim::known(2);
    ir::Value* x = g.add_value("x");
    x->type = Type::tensor(DType::Float, Shape{n, Dim::known(3), Dim::known(6), Dim::known(5)});
    g.add_input(x);
    ir::Value* r = g.add_value("r");
    const Shape out_shape{n, Dim::known(4), Dim::known(6), Dim::known(5)};
    r->type = Type::tensor(DType::Float, broadcast ? Shape{Dim::known(1), Dim::known(4), Dim::known(1), Dim::known(1)}
                                                   : out_shape);
    g.add_input(r);
    ir::Node* conv = g.add_node("Conv", "", {x, initializer(g, "w", random_tensor({4, 3, 3, 3}, rng)),
                                             initializer(g, "b", random_tensor({4}, rng))},
                                {"c"}, "conv");
    conv->set_attr(ir::Attribute::make_ints("pads", {1, 1, 1, 1}));
    conv->output(0)->type = Type::tensor(DType::Float, out_shape);  // as shape inference annotates it
    ir::Value* c = conv->output(0);
    if (bn) {
      c = g.add_node("BatchNormalization", "",
                     {c, initializer(g, "scale", random_tensor({4}, rng)), initializer(g, "shift", random_tensor({4}, rng)),
                      initializer(g, "mean", random_tensor({4}, rng)), initializer(g, "var", random_tensor({4}, rng, 0.5f, 2))},
                     {"n"}, "bn")
              ->output(0);
      c->type = Type::tensor(DType::Float, out_shape);
    }
    ir::Node* add = g.add_node("Add", "", conv_first ? std::vector<ir::Value*>{c, r} : std::vector<ir::Value*>{r, c},
                               {"s"}, "add");
    add->output(0)->type = Type::tensor(DType::Float, out_shape);
    ir::Value* y = add->output(0);
    if (relu) y = g.add_node("Relu", "", {y}, {"y"}, "act")->output(0);
    g.add_output(y);
    std::map<std::string, RValue> feeds{
        {"x", RValue(random_tensor({2, 3, 6, 5}, rng))},
        {"r", RValue(random_tensor(broadcast ? std::vector<int64_t>{1, 4, 1, 1} : std::vector<int64_t>{2, 4, 6, 5}, rng))}};
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"dnnl", "cpu"}, feeds, 1 + i % 2);
    check_close(got.outputs[0], want.outputs[0]);
    const size_t fused = (broadcast ? 1 : relu ? 3 : 2) + (bn ? 1 : 0);
    CHECK(ran_by(got.timings, "conv") == std::pair<std::string, size_t>{"dnnl", fused});
  }
}

TEST_CASE("dnnl MaxPool and AveragePool after a dnnl Conv match the cpu reference; on a graph input the cpu runs them") {
  std::mt19937 rng(19);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  // NHWC pools on the provider's loop (cpu::pool2d_nhwc) and on oneDNN's kernels: which one runs depends on the CPU.
  struct ModeReset {
    ~ModeReset() { rt::dnnl_ep::set_nhwc_pool_mode(rt::dnnl_ep::KernelChoice::Default); }
  } reset;
  for (int i = 0; i < 120; ++i) {
    CAPTURE(i);
    rt::dnnl_ep::set_nhwc_pool_mode(i < 60 ? rt::dnnl_ep::KernelChoice::Own : rt::dnnl_ep::KernelChoice::Dnnl);
    const bool max = i % 2 == 0;
    const int64_t kh = pick(1, 3), kw = pick(1, 4), h = pick(kh + 2, 12), w = pick(kw + 2, 12);
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* x = g.add_value("x");
    if (i % 3 != 0) x->type = Type::tensor(DType::Float, Shape{Dim::known(2), Dim::known(3), Dim::known(h), Dim::known(w)});
    g.add_input(x);
    // The pool reads a dnnl step's output (NHWC between steps), as in a CNN; on a graph input (plain NCHW) it is
    // the cpu kernel's: oneDNN's pooling there is its slow simple_nchw one.
    ir::Value* c = i % 5 == 4 ? x
                              : g.add_node("Conv", "", {x, initializer(g, "w", random_tensor({3, 3, 1, 1}, rng))}, {"c"}, "conv")
                                    ->output(0);
    ir::Node* pool = g.add_node(max ? "MaxPool" : "AveragePool", "", {c}, {"y"}, "pool");
    pool->set_attr(ir::Attribute::make_ints("kernel_shape", {kh, kw}));
    pool->set_attr(ir::Attribute::make_ints("strides", {pick(1, 3), pick(1, 2)}));
    if (pick(0, 3) == 0) {
      pool->set_attr(ir::Attribute::make_string("auto_pad", pick(0, 1) ? "SAME_UPPER" : "VALID"));
    } else {
      pool->set_attr(ir::Attribute::make_ints("pads", {pick(0, kh - 1), pick(0, kw - 1), pick(0, kh - 1), pick(0, kw - 1)}));
    }
    if (max) {
      if (pick(0, 1)) pool->set_attr(ir::Attribute::make_int("ceil_mode", 1));
      if (pick(0, 2) == 0) pool->set_attr(ir::Attribute::make_ints("dilations", {pick(1, 2), pick(1, 2)}));
    } else {
      pool->set_attr(ir::Attribute::make_int("count_include_pad", pick(0, 1)));
    }
    g.add_output(pool->output(0));
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({2, 3, h, w}, rng))}};
    auto want = rt::Session::create(m);
    REQUIRE(want.is_ok());
    auto want_out = (*want)->run(feeds);
    if (!want_out.is_ok()) continue;  // a geometry the reference refuses (e.g. a dilated window too big)
    Ran got = run(m, {"dnnl", "cpu"}, feeds, 1 + i % 2);
    check_close(got.outputs[0], (*want_out)[0]);
    CHECK(ran_by(got.timings, "pool").first == (c == x ? "cpu" : "dnnl"));
  }
}

TEST_CASE("a dnnl MaxPool whose untyped input turns out double runs the cpu kernel") {
  ir::Model m;
  m.set_opset("", 13);
  ir::Graph& g = *m.graph;
  ir::Value* x = g.add_value("x");  // no type: the claim cannot know the element type
  g.add_input(x);
  ir::Node* pool = g.add_node("MaxPool", "", {x}, {"y"}, "pool");
  pool->set_attr(ir::Attribute::make_ints("kernel_shape", {2, 2}));
  g.add_output(pool->output(0));
  Tensor xd(DType::Double, {1, 1, 3, 3});
  for (int i = 0; i < 9; ++i) xd.mutable_data<double>()[i] = i;
  Ran got = run(m, {"dnnl"}, {{"x", RValue(xd)}});
  const Tensor& y = got.outputs[0].tensor;
  REQUIRE(y.dtype() == DType::Double);
  REQUIRE(y.dims() == std::vector<int64_t>{1, 1, 2, 2});
  CHECK(y.data<double>()[0] == 4);
  CHECK(y.data<double>()[3] == 8);
}

TEST_CASE("cpu listed first takes everything") {
  std::mt19937 rng(9);
  ConvCase c;
  c.act = "Relu";
  auto m = conv_model(c, rng);
  Ran got = run(*m, {"cpu", "dnnl"}, {{"x", RValue(random_tensor({1, 1, 5, 5}, rng))}});
  CHECK(ran_by(got.timings, "conv") == std::pair<std::string, size_t>{"cpu", 1});
}

TEST_CASE("dnnl runs a Conv+Relu inside an If branch") {
  std::mt19937 rng(11);
  ir::Model m;
  m.set_opset("", 13);
  ir::Graph& g = *m.graph;
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(2), Dim::known(5), Dim::known(5)});
  g.add_input(x);
  ir::Value* cond = g.add_value("cond");
  cond->type = Type::tensor(DType::Bool, Shape{});
  g.add_input(cond);
  ir::Node* iff = g.add_node("If", "", {cond}, {"y"}, "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto sg = std::make_shared<ir::Graph>(&g, iff);
    sg->name = branch;
    ir::Value* w = sg->add_initializer("w", std::make_shared<Tensor>(random_tensor({3, 2, 3, 3}, rng)));
    ir::Node* conv = sg->add_node("Conv", "", {x, w}, {"c"}, std::string(branch) + "_conv");
    ir::Node* relu = sg->add_node("Relu", "", {conv->output(0)}, {"r"}, std::string(branch) + "_relu");
    sg->add_output(relu->output(0));
    ir::Attribute a;
    a.name = branch;
    a.type = ir::AttrType::Graph;
    a.g = sg;
    iff->set_attr(a);
  }
  g.add_output(iff->output(0));
  for (bool b : {true, false}) {
    Tensor cv(DType::Bool, {});
    cv.mutable_data<bool>()[0] = b;
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({1, 2, 5, 5}, rng))}, {"cond", RValue(cv)}};
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"dnnl", "cpu"}, feeds);
    check_close(got.outputs[0], want.outputs[0]);
    const char* ran = b ? "then_branch_conv" : "else_branch_conv";
    CHECK(ran_by(got.timings, ran) == std::pair<std::string, size_t>{"dnnl", 2});
  }
}

TEST_CASE("dnnl Gemm and MatMul with constant weights match the cpu reference") {
  std::mt19937 rng(13);
  for (int i = 0; i < 24; ++i) {
    CAPTURE(i);
    const bool gemm = i % 2 == 0;
    const int64_t k = 1 + i * 7 % 37, n = 1 + i * 5 % 29, rows = 1 + i % 5;
    const bool trans_b = gemm && i % 4 == 0;
    const int bias_kind = i % 3;  // Gemm C: none, [N], scalar
    const bool relu = i % 5 < 2;
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* a = g.add_value("a");
    std::vector<int64_t> a_dims = gemm ? std::vector<int64_t>{rows, k}
                                       : i % 6 == 1 ? std::vector<int64_t>{k} : std::vector<int64_t>{2, rows, k};
    a->type = Type::tensor(DType::Float);
    g.add_input(a);
    std::vector<ir::Value*> ins{a, initializer(g, "b", random_tensor(trans_b ? std::vector<int64_t>{n, k}
                                                                           : std::vector<int64_t>{k, n}, rng))};
    if (gemm && bias_kind == 1) ins.push_back(initializer(g, "c", random_tensor({n}, rng)));
    if (gemm && bias_kind == 2) ins.push_back(initializer(g, "c", random_tensor({1}, rng)));
    ir::Node* mm = g.add_node(gemm ? "Gemm" : "MatMul", "", ins, {"p"}, "mm");
    if (gemm) {
      mm->set_attr(ir::Attribute::make_int("transB", trans_b ? 1 : 0));
      // alpha 1 (a Linear layer: the constant B used as it is, transposed or not) or not (a scaled copy)
      mm->set_attr(ir::Attribute::make_float("alpha", i % 3 == 0 ? 1.0f : 0.5f + static_cast<float>(i % 3)));
      mm->set_attr(ir::Attribute::make_float("beta", 1.5f));
    }
    ir::Value* y = mm->output(0);
    if (relu) y = g.add_node("Relu", "", {y}, {"y"}, "act")->output(0);
    g.add_output(y);
    std::map<std::string, RValue> feeds{{"a", RValue(random_tensor(a_dims, rng))}};
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"dnnl", "cpu"}, feeds, 1 + i % 2);
    check_close(got.outputs[0], want.outputs[0]);
    CHECK(ran_by(got.timings, "mm") == std::pair<std::string, size_t>{"dnnl", relu ? 2u : 1u});
  }
}

TEST_CASE("dnnl MatMul with a constant weight: tall products (the 1x1 convolution path) and few rows over two threads") {
  // {batch, rows, K, N, threads}: 2 x 37 rows run as a 1x1 convolution; 3 rows of 256 x 512 at two threads
  // split over both (the matmul path); a transformer-sized 197 x 96 x 384.
  const int64_t cases[][5] = {{2, 37, 24, 40, 1}, {2, 37, 24, 40, 2}, {1, 3, 256, 512, 2}, {1, 197, 96, 384, 2},
                              {1, 8, 33, 17, 1}};
  std::mt19937 rng(14);
  for (const auto& c : cases) {
    CAPTURE(c[1]);
    CAPTURE(c[4]);
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* a = g.add_value("a");
    a->type = Type::tensor(DType::Float, Shape{Dim::known(c[0]), Dim::known(c[1]), Dim::known(c[2])});
    g.add_input(a);
    ir::Node* mm = g.add_node("MatMul", "", {a, initializer(g, "w", random_tensor({c[2], c[3]}, rng))}, {"p"}, "mm");
    ir::Node* add = g.add_node("Add", "", {mm->output(0), initializer(g, "bias", random_tensor({c[3]}, rng))}, {"q"}, "add");
    ir::Value* y = g.add_node("Relu", "", {add->output(0)}, {"y"}, "act")->output(0);
    g.add_output(y);
    std::map<std::string, RValue> feeds{{"a", RValue(random_tensor({c[0], c[1], c[2]}, rng))}};
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"dnnl", "cpu"}, feeds, static_cast<int>(c[4]));
    check_close(got.outputs[0], want.outputs[0]);
    CHECK(ran_by(got.timings, "mm") == std::pair<std::string, size_t>{"dnnl", 3u});
  }
}

#endif  // ORTOOL_HAVE_DNNL
