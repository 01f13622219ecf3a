// Tests of the xnnpack provider: its sessions must match the cpu-only session's outputs.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;

#ifdef ORTOOL_HAVE_XNNPACK

namespace {

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

bool same_bytes(const RValue& a, const RValue& b) {
  return a.tensor.dims() == b.tensor.dims() &&
         std::memcmp(a.tensor.data<float>(), b.tensor.data<float>(), a.tensor.nbytes()) == 0;
}

struct ConvCase {
  int64_t n = 1, group = 1, cg = 1, mg = 1, h = 5, w = 5, kh = 3, kw = 3;
  std::vector<int64_t> strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
  std::string auto_pad;  // empty: NOTSET
  bool bias = true;
  std::string act;  // "", "Relu", "Clip", "Sigmoid" (not fused)
  bool static_shape = true;

  std::string describe() const {
    return fmt::format("n{} g{} cg{} mg{} {}x{} k{}x{} s{},{} d{},{} p{},{},{},{} auto_pad '{}' bias {} act '{}' static {}",
                       n, group, cg, mg, h, w, kh, kw, strides[0], strides[1], dilations[0], dilations[1], pads[0],
                       pads[1], pads[2], pads[3], auto_pad, bias, act, static_shape);
  }
};

// x -> Conv (constant W, B) -> optional activation -> y.
std::unique_ptr<ir::Model> conv_model(const ConvCase& c, std::mt19937& rng) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
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
  if (c.act == "Clip") {
    Tensor lo(DType::Float, {}), hi(DType::Float, {});
    lo.mutable_data<float>()[0] = -0.25f;
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
    y = g.add_node(c.act, "", {y}, {"y"}, "act")->output(0);
  }
  g.add_output(y);
  return m;
}

ConvCase random_case(std::mt19937& rng) {
  ConvCase c;
  for (;;) {
    c.n = pick(rng, 1, 2);
    switch (pick(rng, 0, 3)) {
      case 0: c.group = 1; c.cg = pick(rng, 1, 8); c.mg = pick(rng, 1, 8); break;
      case 1: c.group = pick(rng, 2, 4); c.cg = pick(rng, 1, 4); c.mg = pick(rng, 1, 4); break;
      case 2: c.group = pick(rng, 2, 24); c.cg = 1; c.mg = pick(rng, 1, 2); break;  // depthwise (multiplier 1 or 2)
      default: c.group = pick(rng, 1, 2); c.cg = pick(rng, 8, 40); c.mg = pick(rng, 8, 40); break;
    }
    c.h = pick(rng, 1, 14);
    c.w = pick(rng, 1, 14);
    c.kh = pick(rng, 1, 3);
    c.kw = pick(rng, 1, 5);
    c.strides = {pick(rng, 1, 3), pick(rng, 1, 2)};
    c.dilations = {pick(rng, 1, 2), pick(rng, 1, 3)};
    c.pads = {pick(rng, 0, 2), pick(rng, 0, 1), pick(rng, 0, 2), pick(rng, 0, 3)};
    const char* aps[] = {"", "", "", "SAME_UPPER", "SAME_LOWER", "VALID"};
    c.auto_pad = aps[pick(rng, 0, 5)];
    c.bias = pick(rng, 0, 1) == 1;
    const char* acts[] = {"", "Relu", "Clip", "Sigmoid"};
    c.act = acts[pick(rng, 0, 3)];
    c.static_shape = pick(rng, 0, 2) != 0;
    // Keep only geometries with a non-empty output.
    const int64_t eh = (c.kh - 1) * c.dilations[0] + 1, ew = (c.kw - 1) * c.dilations[1] + 1;
    const bool same = c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER";
    const int64_t ph = c.auto_pad.empty() ? c.pads[0] + c.pads[2] : 0, pw = c.auto_pad.empty() ? c.pads[1] + c.pads[3] : 0;
    if (same || (c.h + ph >= eh && c.w + pw >= ew)) return c;
  }
}

// A small CNN with the shapes shape inference would annotate: conv stem, pool, a fire module
// (Concat), a residual block, a squeeze-excite gate (broadcast Mul), a depthwise conv, global pooling and a classifier; some
// values are also read by a cpu node or are graph outputs, which keeps them NCHW.
std::unique_ptr<ir::Model> cnn_model(std::mt19937& rng, int64_t n, int64_t c, int64_t h, int64_t w, bool symbolic_batch,
                                     bool side_outputs) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  const Dim nd = symbolic_batch ? Dim::symbol("N") : Dim::known(n);
  auto annotate = [&](ir::Value* v, int64_t ch, int64_t hh, int64_t ww) {
    v->type = Type::tensor(DType::Float, Shape{nd, Dim::known(ch), Dim::known(hh), Dim::known(ww)});
    return v;
  };
  int counter = 0;
  auto conv = [&](ir::Value* x, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t group, bool relu,
                  int64_t oh, int64_t ow) {
    const std::string id = std::to_string(counter++);
    ir::Node* cv = g.add_node("Conv", "",
                              {x, initializer(g, "w" + id, random_tensor({cout, cin / group, k, k}, rng, -0.5f, 0.5f)),
                               initializer(g, "b" + id, random_tensor({cout}, rng))},
                              {"c" + id}, "conv" + id);
    cv->set_attr(ir::Attribute::make_ints("pads", {k / 2, k / 2, k / 2, k / 2}));
    cv->set_attr(ir::Attribute::make_ints("strides", {stride, stride}));
    cv->set_attr(ir::Attribute::make_int("group", group));
    ir::Value* y = annotate(cv->output(0), cout, oh, ow);
    if (relu) y = annotate(g.add_node("Relu", "", {y}, {"r" + id}, "relu" + id)->output(0), cout, oh, ow);
    return y;
  };
  ir::Value* x = annotate(g.add_value("x"), c, h, w);
  g.add_input(x);
  const int64_t c1 = 8;
  ir::Value* a = conv(x, c, c1, 3, 1, 1, true, h, w);
  ir::Node* mp = g.add_node("MaxPool", "", {a}, {"mp"}, "maxpool");
  mp->set_attr(ir::Attribute::make_ints("kernel_shape", {3, 3}));
  mp->set_attr(ir::Attribute::make_ints("strides", {2, 2}));
  mp->set_attr(ir::Attribute::make_ints("pads", {1, 1, 1, 1}));
  const int64_t h2 = (h - 1) / 2 + 1, w2 = (w - 1) / 2 + 1;
  ir::Value* p = annotate(mp->output(0), c1, h2, w2);
  // A fire module: two expand convs concatenated along channels.
  ir::Value* e1 = conv(p, c1, c1 / 2, 1, 1, 1, true, h2, w2);
  ir::Value* e3 = conv(p, c1, c1 / 2, 3, 1, 1, true, h2, w2);
  ir::Node* cat = g.add_node("Concat", "", {e1, e3}, {"cat"}, "concat");
  cat->set_attr(ir::Attribute::make_int("axis", symbolic_batch ? -3 : 1));
  ir::Value* fire = annotate(cat->output(0), c1, h2, w2);
  ir::Value* b1 = conv(fire, c1, c1, 3, 1, 1, true, h2, w2);
  ir::Value* b2 = conv(b1, c1, c1, 3, 1, 1, false, h2, w2);
  ir::Value* sum = annotate(g.add_node("Add", "", {b2, p}, {"sum"}, "add")->output(0), c1, h2, w2);
  ir::Value* act = annotate(g.add_node("Relu", "", {sum}, {"act"}, "add_relu")->output(0), c1, h2, w2);
  // Squeeze-excite: GAP -> 1x1 conv -> Sigmoid -> Mul broadcasting [N, C, 1, 1] over the map.
  ir::Value* sq = annotate(g.add_node("GlobalAveragePool", "", {act}, {"sq"}, "se_gap")->output(0), c1, 1, 1);
  ir::Value* ex = conv(sq, c1, c1, 1, 1, 1, false, 1, 1);
  ir::Value* gate = annotate(g.add_node("Sigmoid", "", {ex}, {"gate"}, "se_sigmoid")->output(0), c1, 1, 1);
  ir::Value* scaled = annotate(g.add_node("Mul", "", {act, gate}, {"scaled"}, "se_mul")->output(0), c1, h2, w2);
  // Swish on a depthwise conv: x * Sigmoid(x), same shapes.
  ir::Value* dw = conv(scaled, c1, c1, 3, 1, c1, false, h2, w2);
  ir::Value* sg = annotate(g.add_node("Sigmoid", "", {dw}, {"sg"}, "sw_sigmoid")->output(0), c1, h2, w2);
  ir::Value* sw = annotate(g.add_node("Mul", "", {dw, sg}, {"sw"}, "sw_mul")->output(0), c1, h2, w2);
  ir::Node* ap = g.add_node("AveragePool", "", {sw}, {"ap"}, "avgpool");
  ap->set_attr(ir::Attribute::make_ints("kernel_shape", {2, 2}));
  ap->set_attr(ir::Attribute::make_ints("pads", {1, 1, 1, 1}));
  ir::Value* apo = annotate(ap->output(0), c1, h2 + 1, w2 + 1);
  ir::Value* c3 = conv(apo, c1, 12, 1, 2, 1, true, h2 / 2 + 1, w2 / 2 + 1);
  ir::Value* gp = annotate(g.add_node("GlobalAveragePool", "", {c3}, {"gp"}, "gap")->output(0), 12, 1, 1);
  ir::Value* flat = g.add_node("Flatten", "", {gp}, {"flat"}, "flatten")->output(0);
  ir::Value* logits =
      g.add_node("Gemm", "", {flat, initializer(g, "fc_w", random_tensor({12, 5}, rng)), initializer(g, "fc_b", random_tensor({5}, rng))},
                 {"logits"}, "fc")->output(0);
  g.add_output(logits);
  if (side_outputs) {
    g.add_output(b1);                                                         // a graph output inside the region
    g.add_output(g.add_node("Tanh", "", {sw}, {"side"}, "side_tanh")->output(0));  // a cpu reader (xnnpack has no Tanh)
  }
  return m;
}

}  // namespace

TEST_CASE("xnnpack keeps values NHWC between its steps and still matches the cpu reference") {
  std::mt19937 rng(37);
  for (int i = 0; i < 12; ++i) {
    CAPTURE(i);
    const int64_t n = 1 + i % 2, c = pick(rng, 1, 5), h = pick(rng, 4, 13), w = pick(rng, 4, 13);
    const bool symbolic = i % 3 == 2, side = i % 4 >= 2;
    INFO(n, "x", c, "x", h, "x", w, " symbolic batch ", symbolic, " side outputs ", side);
    auto m = cnn_model(rng, n, c, h, w, symbolic, side);
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({n, c, h, w}, rng))}};
    Ran want = run(*m, {"cpu"}, feeds);
    Ran got = run(*m, {"xnnpack", "cpu"}, feeds, 1);
    REQUIRE(got.outputs.size() == want.outputs.size());
    for (size_t k = 0; k < got.outputs.size(); ++k) check_close(got.outputs[k], want.outputs[k]);
    for (const char* node : {"conv0", "maxpool", "conv1", "conv2", "concat", "conv3", "conv4", "add", "se_gap", "conv5",
                             "se_sigmoid", "se_mul", "conv6", "sw_sigmoid", "sw_mul", "avgpool", "conv7", "gap", "fc"})
      CHECK_MESSAGE(ran_by(got.timings, node).first == "xnnpack", node);
    CHECK(ran_by(got.timings, "add") == std::pair<std::string, size_t>{"xnnpack", 2});  // Add + Relu
    Ran two = run(*m, {"xnnpack", "cpu"}, feeds, 2);
    for (size_t k = 0; k < got.outputs.size(); ++k) CHECK(same_bytes(got.outputs[k], two.outputs[k]));
  }
}

TEST_CASE("xnnpack broadcasting between two convs: NHWC inside the region where the operand allows") {
  std::mt19937 rng(41);
  const int64_t n = 2, c = 6, h = 5, w = 7;
  const std::vector<std::vector<int64_t>> operands{{}, {1}, {c, 1, 1}, {n, c, 1, 1}, {1, c, 1, 1}, {w}, {h, w},
                                                   {1, 1, h, w}, {n, 1, h, w}, {n, c, h, w}, {c, h, 1}};
  for (size_t i = 0; i < operands.size() * 2; ++i) {
    const std::vector<int64_t>& od = operands[i % operands.size()];
    const bool as_input = i >= operands.size();  // a graph input rather than an initializer
    CAPTURE(i);
    INFO(fmt::format("operand [{}]", fmt::join(od, ",")));
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    const Shape full{Dim::known(n), Dim::known(c), Dim::known(h), Dim::known(w)};
    ir::Value* x = g.add_value("x");
    x->type = Type::tensor(DType::Float, full);
    g.add_input(x);
    ir::Node* c1 = g.add_node("Conv", "", {x, initializer(g, "w1", random_tensor({c, c, 3, 3}, rng))}, {"c1"}, "conv1");
    c1->set_attr(ir::Attribute::make_ints("pads", {1, 1, 1, 1}));
    c1->output(0)->type = Type::tensor(DType::Float, full);
    Tensor ot = random_tensor(od, rng);
    ir::Value* o;
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({n, c, h, w}, rng))}};
    if (as_input) {
      o = g.add_value("o");
      Shape os;
      for (int64_t d : od) os.push_back(Dim::known(d));
      o->type = Type::tensor(DType::Float, os);
      g.add_input(o);
      feeds.emplace("o", RValue(ot));
    } else {
      o = initializer(g, "o", ot);
    }
    ir::Node* mul = g.add_node("Mul", "", {o, c1->output(0)}, {"m"}, "mul");
    mul->output(0)->type = Type::tensor(DType::Float, full);
    ir::Node* c2 =
        g.add_node("Conv", "", {mul->output(0), initializer(g, "w2", random_tensor({3, c, 1, 1}, rng))}, {"y"}, "conv2");
    g.add_output(c2->output(0));
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"xnnpack", "cpu"}, feeds, 1 + static_cast<int>(i % 2));
    check_close(got.outputs[0], want.outputs[0]);
    CHECK(ran_by(got.timings, "mul").first == "xnnpack");
  }
}

TEST_CASE("an xnnpack value read inside an If branch stays NCHW, and the branch's convs run on xnnpack") {
  std::mt19937 rng(47);
  ir::Model m;
  m.set_opset("", 13);
  ir::Graph& g = *m.graph;
  const Shape s{Dim::known(1), Dim::known(4), Dim::known(6), Dim::known(5)};
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, s);
  g.add_input(x);
  ir::Value* cond = g.add_value("cond");
  cond->type = Type::tensor(DType::Bool, Shape{});
  g.add_input(cond);
  ir::Node* c0 = g.add_node("Conv", "", {x, initializer(g, "w0", random_tensor({4, 4, 3, 3}, rng))}, {"c0"}, "conv0");
  c0->set_attr(ir::Attribute::make_ints("pads", {1, 1, 1, 1}));
  c0->output(0)->type = Type::tensor(DType::Float, s);
  // Read by an xnnpack conv of the main graph and by the branches.
  ir::Node* c1 = g.add_node("Conv", "", {c0->output(0), initializer(g, "w1", random_tensor({4, 4, 1, 1}, rng))}, {"c1"}, "conv1");
  c1->output(0)->type = Type::tensor(DType::Float, s);
  ir::Node* iff = g.add_node("If", "", {cond}, {"y"}, "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto sg = std::make_shared<ir::Graph>(&g, iff);
    sg->name = branch;
    ir::Value* w = sg->add_initializer("w", std::make_shared<Tensor>(random_tensor({4, 4, 3, 3}, rng)));
    ir::Node* conv = sg->add_node("Conv", "", {c0->output(0), w}, {"c"}, std::string(branch) + "_conv");
    conv->set_attr(ir::Attribute::make_ints("pads", {1, 1, 1, 1}));
    ir::Node* add = sg->add_node("Add", "", {conv->output(0), c1->output(0)}, {"a"}, std::string(branch) + "_add");
    sg->add_output(add->output(0));
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
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({1, 4, 6, 5}, rng))}, {"cond", RValue(cv)}};
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"xnnpack", "cpu"}, feeds);
    check_close(got.outputs[0], want.outputs[0]);
    CHECK(ran_by(got.timings, "conv0").first == "xnnpack");
    CHECK(ran_by(got.timings, b ? "then_branch_conv" : "else_branch_conv").first == "xnnpack");
  }
}

TEST_CASE("xnnpack Conv matches the cpu reference on random geometries, activations and thread counts") {
  std::mt19937 rng(20240612);
  for (int i = 0; i < 150; ++i) {
    ConvCase c = random_case(rng);
    CAPTURE(i);
    INFO(c.describe());
    auto m = conv_model(c, rng);
    Tensor x = random_tensor({c.n, c.cg * c.group, c.h, c.w}, rng, -2, 2);
    std::map<std::string, RValue> feeds{{"x", RValue(x)}};
    Ran want = run(*m, {"cpu"}, feeds);
    Ran got = run(*m, {"xnnpack", "cpu"}, feeds, 1 + i % 2);
    check_close(got.outputs[0], want.outputs[0]);
    const bool fused = c.act == "Relu" || c.act == "Clip";
    CHECK(ran_by(got.timings, "conv") == std::pair<std::string, size_t>{"xnnpack", fused ? 2u : 1u});
    if (fused) CHECK(ran_by(got.timings, "act").first.empty());  // the activation ran inside the conv's step
    if (c.act == "Sigmoid") CHECK(ran_by(got.timings, "act") == std::pair<std::string, size_t>{"xnnpack", 1});
  }
}

TEST_CASE("xnnpack gives the same bytes on 1 and 2 threads") {
  std::mt19937 rng(23);
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    ConvCase c = random_case(rng);
    c.cg = 16;
    c.mg = 24;
    c.h = 12;
    c.w = 13;
    INFO(c.describe());
    auto m = conv_model(c, rng);
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({c.n, c.cg * c.group, c.h, c.w}, rng))}};
    Ran one = run(*m, {"xnnpack"}, feeds, 1);
    Ran two = run(*m, {"xnnpack"}, feeds, 2);
    CHECK(same_bytes(one.outputs[0], two.outputs[0]));
  }
}

TEST_CASE("xnnpack Conv with a symbolic input shape handles several shapes in one session") {
  std::mt19937 rng(7);
  for (const char* auto_pad : {"", "SAME_UPPER", "SAME_LOWER"}) {
    CAPTURE(auto_pad);
    ConvCase c;
    c.static_shape = false;
    c.group = 2;
    c.cg = 3;
    c.mg = 5;
    c.pads = {1, 1, 1, 1};
    c.auto_pad = auto_pad;
    c.strides = {2, 1};
    c.act = "Relu";
    auto m = conv_model(c, rng);
    m->graph->find_value("x")->type = Type::tensor(DType::Float);  // nothing known: the kernel checks
    rt::SessionOptions xo, cpu;
    xo.providers = {"xnnpack"};
    auto sx = rt::Session::create(*m, xo);
    auto sc = rt::Session::create(*m, cpu);
    REQUIRE(sx.is_ok());
    REQUIRE(sc.is_ok());
    for (auto dims : std::vector<std::vector<int64_t>>{{1, 6, 7, 9}, {3, 6, 4, 4}, {1, 6, 7, 9}, {2, 6, 1, 1}, {1, 6, 8, 3}}) {
      std::map<std::string, RValue> feeds{{"x", RValue(random_tensor(dims, rng))}};
      auto a = (*sx)->run(feeds);
      auto b = (*sc)->run(feeds);
      REQUIRE(a.is_ok());
      REQUIRE(b.is_ok());
      check_close((*a)[0], (*b)[0]);
    }
    // A wrong channel count is an error naming the conv, not a crash.
    auto bad = (*sx)->run({{"x", RValue(random_tensor({1, 5, 4, 4}, rng))}});
    REQUIRE_FALSE(bad.is_ok());
    CHECK(bad.status().message().find("'conv'") != std::string::npos);
  }
}

TEST_CASE("xnnpack leaves Conv with non-constant weights to cpu, and does not fuse a shared output") {
  std::mt19937 rng(3);
  {
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* x = g.add_value("x");
    x->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(4), Dim::known(6), Dim::known(6)});
    g.add_input(x);
    ir::Value* w = initializer(g, "w", random_tensor({3, 4, 3, 3}, rng));
    g.add_input(w);  // an initializer that is also a graph input: a feed may replace it
    ir::Node* conv = g.add_node("Conv", "", {x, w}, {"c"}, "conv");
    g.add_output(g.add_node("Relu", "", {conv->output(0)}, {"y"}, "act")->output(0));
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({1, 4, 6, 6}, rng))},
                                        {"w", RValue(random_tensor({3, 4, 3, 3}, rng))}};
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"xnnpack", "cpu"}, feeds);
    check_close(got.outputs[0], want.outputs[0]);
    CHECK(ran_by(got.timings, "conv") == std::pair<std::string, size_t>{"cpu", 1});
  }
  ConvCase c;
  c.act = "Relu";
  auto m = conv_model(c, rng);
  m->graph->add_output(m->graph->find_value("c"));  // the conv output is also a graph output
  std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({1, 1, 5, 5}, rng))}};
  Ran want = run(*m, {"cpu"}, feeds);
  Ran got = run(*m, {"xnnpack"}, feeds);
  REQUIRE(got.outputs.size() == 2);
  check_close(got.outputs[0], want.outputs[0]);
  check_close(got.outputs[1], want.outputs[1]);
  CHECK(ran_by(got.timings, "conv") == std::pair<std::string, size_t>{"xnnpack", 1});
  CHECK(ran_by(got.timings, "act") == std::pair<std::string, size_t>{"xnnpack", 1});  // on its own
}

TEST_CASE("xnnpack MaxPool, AveragePool and GlobalAveragePool match the cpu reference") {
  std::mt19937 rng(19);
  int claimed = 0;
  for (int i = 0; i < 90; ++i) {
    CAPTURE(i);
    const int kind = i % 3;  // MaxPool, AveragePool, GlobalAveragePool
    const int64_t kh = pick(rng, 1, 3), kw = pick(rng, 1, 4), h = pick(rng, kh + 2, 12), w = pick(rng, kw + 2, 12);
    const int64_t n = pick(rng, 1, 2), c = pick(rng, 1, 20);
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* x = g.add_value("x");
    if (i % 4 != 0) x->type = Type::tensor(DType::Float, Shape{Dim::known(n), Dim::known(c), Dim::known(h), Dim::known(w)});
    g.add_input(x);
    const char* ops[] = {"MaxPool", "AveragePool", "GlobalAveragePool"};
    ir::Node* pool = g.add_node(ops[kind], "", {x}, {"y"}, "pool");
    std::string what = ops[kind];
    if (kind != 2) {
      pool->set_attr(ir::Attribute::make_ints("kernel_shape", {kh, kw}));
      const std::vector<int64_t> strides{pick(rng, 1, 3), pick(rng, 1, 2)};
      pool->set_attr(ir::Attribute::make_ints("strides", strides));
      what = fmt::format("{} strides {},{}", pool->describe(), strides[0], strides[1]);
      if (pick(rng, 0, 3) == 0) {
        const char* ap = pick(rng, 0, 1) ? "SAME_UPPER" : "VALID";
        pool->set_attr(ir::Attribute::make_string("auto_pad", ap));
        what += fmt::format(" auto_pad {}", ap);
      } else {
        const std::vector<int64_t> pads{pick(rng, 0, kh - 1), pick(rng, 0, kw - 1), pick(rng, 0, kh - 1),
                                        pick(rng, 0, kw - 1)};
        pool->set_attr(ir::Attribute::make_ints("pads", pads));
        what += fmt::format(" pads {},{},{},{}", pads[0], pads[1], pads[2], pads[3]);
      }
      if (kind == 0) {
        if (pick(rng, 0, 1)) {
          pool->set_attr(ir::Attribute::make_int("ceil_mode", 1));
          what += " ceil_mode";
        }
        if (pick(rng, 0, 2) == 0) {
          const std::vector<int64_t> d{pick(rng, 1, 2), pick(rng, 1, 2)};
          pool->set_attr(ir::Attribute::make_ints("dilations", d));
          what += fmt::format(" dilations {},{}", d[0], d[1]);
        }
      } else {
        const int64_t inc = pick(rng, 0, 1);
        pool->set_attr(ir::Attribute::make_int("count_include_pad", inc));
        what += fmt::format(" count_include_pad {}", inc);
      }
    }
    INFO(what, " ", n, "x", c, "x", h, "x", w, " k", kh, "x", kw);
    g.add_output(pool->output(0));
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({n, c, h, w}, rng))}};
    auto want = rt::Session::create(m);
    REQUIRE(want.is_ok());
    auto want_out = (*want)->run(feeds);
    if (!want_out.is_ok()) continue;  // a geometry the reference refuses (e.g. a dilated window too big)
    Ran got = run(m, {"xnnpack", "cpu"}, feeds, 1 + i % 2);
    check_close(got.outputs[0], (*want_out)[0]);
    const std::string by = ran_by(got.timings, "pool").first;
    CHECK((by == "xnnpack" || by == "cpu"));
    claimed += by == "xnnpack";
  }
  CHECK(claimed >= 60);  // only 1x1 windows and count_include_pad with pads go to cpu
}

TEST_CASE("an xnnpack MaxPool whose untyped input turns out double runs the cpu kernel") {
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
  Ran got = run(m, {"xnnpack"}, {{"x", RValue(xd)}});
  const Tensor& y = got.outputs[0].tensor;
  REQUIRE(y.dtype() == DType::Double);
  REQUIRE(y.dims() == std::vector<int64_t>{1, 1, 2, 2});
  CHECK(y.data<double>()[0] == 4);
  CHECK(y.data<double>()[3] == 8);
}

TEST_CASE("xnnpack Gemm and MatMul with constant weights match the cpu reference") {
  std::mt19937 rng(13);
  for (int i = 0; i < 30; ++i) {
    CAPTURE(i);
    const bool gemm = i % 2 == 0;
    const int64_t k = 1 + i * 7 % 37, n = 1 + i * 5 % 29, rows = 1 + i % 5;
    const bool trans_b = gemm && i % 4 == 0;
    const int bias_kind = i % 4;  // Gemm C: none, [N], scalar, [1, N]
    const int act = i % 5;        // Relu, Clip, none
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
    if (gemm && bias_kind == 3) ins.push_back(initializer(g, "c", random_tensor({1, n}, rng)));
    ir::Node* mm = g.add_node(gemm ? "Gemm" : "MatMul", "", ins, {"p"}, "mm");
    if (gemm) {
      mm->set_attr(ir::Attribute::make_int("transB", trans_b ? 1 : 0));
      mm->set_attr(ir::Attribute::make_float("alpha", 0.5f + static_cast<float>(i % 3)));
      mm->set_attr(ir::Attribute::make_float("beta", 1.5f));
    }
    ir::Value* y = mm->output(0);
    if (act == 0) y = g.add_node("Relu", "", {y}, {"y"}, "act")->output(0);
    if (act == 1) {
      Tensor lo(DType::Float, {});
      lo.mutable_data<float>()[0] = -0.5f;
      y = g.add_node("Clip", "", {y, initializer(g, "lo", lo)}, {"y"}, "act")->output(0);  // no upper bound
    }
    g.add_output(y);
    std::map<std::string, RValue> feeds{{"a", RValue(random_tensor(a_dims, rng))}};
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"xnnpack", "cpu"}, feeds, 1 + i % 2);
    check_close(got.outputs[0], want.outputs[0]);
    CHECK(ran_by(got.timings, "mm") == std::pair<std::string, size_t>{"xnnpack", act < 2 ? 2u : 1u});
  }
}

TEST_CASE("xnnpack leaves a Gemm whose C varies along rows to cpu") {
  std::mt19937 rng(29);
  ir::Model m;
  m.set_opset("", 13);
  ir::Graph& g = *m.graph;
  ir::Value* a = g.add_value("a");
  a->type = Type::tensor(DType::Float, Shape{Dim::known(3), Dim::known(4)});
  g.add_input(a);
  ir::Node* mm = g.add_node("Gemm", "",
                            {a, initializer(g, "b", random_tensor({4, 5}, rng)), initializer(g, "c", random_tensor({3, 1}, rng))},
                            {"y"}, "mm");
  g.add_output(mm->output(0));
  std::map<std::string, RValue> feeds{{"a", RValue(random_tensor({3, 4}, rng))}};
  Ran want = run(m, {"cpu"}, feeds);
  Ran got = run(m, {"xnnpack", "cpu"}, feeds);
  check_close(got.outputs[0], want.outputs[0]);
  CHECK(ran_by(got.timings, "mm").first == "cpu");
}

TEST_CASE("xnnpack takes what dnnl leaves when listed after it, and nothing when cpu comes first") {
  std::mt19937 rng(9);
  ConvCase c;
  c.act = "Relu";
  auto m = conv_model(c, rng);
  std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({1, 1, 5, 5}, rng))}};
  Ran cpu_first = run(*m, {"cpu", "xnnpack"}, feeds);
  CHECK(ran_by(cpu_first.timings, "conv") == std::pair<std::string, size_t>{"cpu", 1});
#ifdef ORTOOL_HAVE_DNNL
  Ran both = run(*m, {"dnnl", "xnnpack", "cpu"}, feeds);
  CHECK(ran_by(both.timings, "conv").first == "dnnl");
  Ran swapped = run(*m, {"xnnpack", "dnnl", "cpu"}, feeds);
  CHECK(ran_by(swapped.timings, "conv").first == "xnnpack");
  check_close(both.outputs[0], swapped.outputs[0]);
#endif
}

TEST_CASE("xnnpack elementwise ops match the cpu reference, with broadcasting and a fused clamp") {
  std::mt19937 rng(31);
  const char* unary[] = {"Sigmoid", "Relu", "Clip", "LeakyRelu", "HardSwish", "Sqrt", "Pow"};
  const char* binary[] = {"Add", "Sub", "Mul", "Div"};
  for (int i = 0; i < 80; ++i) {
    CAPTURE(i);
    ir::Model m;
    m.set_opset("", 14);
    ir::Graph& g = *m.graph;
    const int64_t rank = pick(rng, 0, 5);
    std::vector<int64_t> da(static_cast<size_t>(rank)), db;
    for (auto& d : da) d = pick(rng, 1, 7);
    if (rank > 0 && pick(rng, 0, 5) == 0) da[0] = 0;  // an empty tensor
    // b: a broadcastable suffix of a's dims with some set to 1 (or the same shape).
    const size_t rb = static_cast<size_t>(pick(rng, 0, rank));
    for (size_t k = da.size() - rb; k < da.size(); ++k) db.push_back(pick(rng, 0, 2) == 0 ? 1 : da[k]);
    const bool typed = i % 3 != 0;
    const bool bin = i % 2 == 0;
    ir::Value* a = g.add_value("a");
    ir::Value* b = g.add_value("b");
    if (typed) {
      Shape sa, sb;
      for (int64_t d : da) sa.push_back(Dim::known(d));
      for (int64_t d : db) sb.push_back(Dim::known(d));
      a->type = Type::tensor(DType::Float, sa);
      b->type = Type::tensor(DType::Float, sb);
    }
    g.add_input(a);
    std::map<std::string, RValue> feeds{{"a", RValue(random_tensor(da, rng, -4, 4))}};
    std::string op;
    ir::Value* y;
    if (bin) {
      g.add_input(b);
      feeds.emplace("b", RValue(random_tensor(db, rng, 0.5f, 2)));  // away from 0: Div
      op = binary[pick(rng, 0, 3)];
      const bool swap = pick(rng, 0, 1) == 1;
      y = g.add_node(op, "", swap ? std::vector<ir::Value*>{b, a} : std::vector<ir::Value*>{a, b}, {"t"}, "op")->output(0);
    } else {
      op = unary[pick(rng, 0, 6)];
      if (op == "Sqrt") feeds["a"] = RValue(random_tensor(da, rng, 0, 4));
      std::vector<ir::Value*> ins{a};
      if (op == "Pow") {
        Tensor two(DType::Float, {});
        two.mutable_data<float>()[0] = 2.0f;
        ins.push_back(initializer(g, "two", two));
      }
      if (op == "Clip") {
        Tensor lo(DType::Float, {}), hi(DType::Float, {});
        lo.mutable_data<float>()[0] = -1.5f;
        hi.mutable_data<float>()[0] = 2.0f;
        ins.push_back(initializer(g, "lo", lo));
        ins.push_back(initializer(g, "hi", hi));
      }
      ir::Node* n = g.add_node(op, "", ins, {"t"}, "op");
      if (op == "LeakyRelu") n->set_attr(ir::Attribute::make_float("alpha", 0.3f));
      y = n->output(0);
    }
    const bool relu = bin && pick(rng, 0, 1) == 1;
    if (relu) y = g.add_node("Relu", "", {y}, {"y"}, "act")->output(0);
    g.add_output(y);
    INFO(op, " [", fmt::format("{}", fmt::join(da, ",")), "] [", fmt::format("{}", fmt::join(db, ",")), "] typed ", typed,
         " relu ", relu);
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"xnnpack", "cpu"}, feeds, 1 + i % 2);
    check_close(got.outputs[0], want.outputs[0]);
    const size_t fused = relu && typed ? 2 : 1;
    CHECK(ran_by(got.timings, "op") == std::pair<std::string, size_t>{"xnnpack", fused});
  }
}

TEST_CASE("xnnpack Softmax over the last axis matches the cpu reference; other axes stay on cpu") {
  std::mt19937 rng(43);
  for (int i = 0; i < 24; ++i) {
    CAPTURE(i);
    const int64_t opset = i % 2 ? 13 : 11;
    const size_t rank = static_cast<size_t>(pick(rng, 1, 4));
    std::vector<int64_t> dims(rank);
    for (auto& d : dims) d = pick(rng, 1, 9);
    const int64_t axis = pick(rng, -static_cast<int64_t>(rank), static_cast<int64_t>(rank) - 1);
    const bool typed = i % 3 != 0;
    ir::Model m;
    m.set_opset("", opset);
    ir::Graph& g = *m.graph;
    ir::Value* x = g.add_value("x");
    if (typed) {
      Shape sh;
      for (int64_t d : dims) sh.push_back(Dim::known(d));
      x->type = Type::tensor(DType::Float, sh);
    }
    g.add_input(x);
    ir::Node* sm = g.add_node("Softmax", "", {x}, {"y"}, "softmax");
    sm->set_attr(ir::Attribute::make_int("axis", axis));
    g.add_output(sm->output(0));
    INFO("opset ", opset, " dims ", fmt::format("[{}]", fmt::join(dims, ",")), " axis ", axis, " typed ", typed);
    std::map<std::string, RValue> feeds{{"x", RValue(random_tensor(dims, rng, -8, 8))}};
    Ran want = run(m, {"cpu"}, feeds);
    Ran got = run(m, {"xnnpack", "cpu"}, feeds);
    check_close(got.outputs[0], want.outputs[0]);
    const bool last = axis == -1 || axis == static_cast<int64_t>(rank) - 1;
    if (last && (typed || axis == -1)) CHECK(ran_by(got.timings, "softmax").first == "xnnpack");
    if (!last && typed) CHECK(ran_by(got.timings, "softmax").first != "xnnpack");
  }
}

TEST_CASE("an xnnpack Add whose untyped inputs turn out int64 runs the cpu kernel") {
  ir::Model m;
  m.set_opset("", 14);
  ir::Graph& g = *m.graph;
  ir::Value* a = g.add_value("a");
  ir::Value* b = g.add_value("b");
  g.add_input(a);
  g.add_input(b);
  g.add_output(g.add_node("Add", "", {a, b}, {"y"}, "add")->output(0));
  Tensor ta(DType::Int64, {3}), tb(DType::Int64, {1});
  for (int i = 0; i < 3; ++i) ta.mutable_data<int64_t>()[i] = i;
  tb.mutable_data<int64_t>()[0] = 40;
  Ran got = run(m, {"xnnpack"}, {{"a", RValue(ta)}, {"b", RValue(tb)}});
  const Tensor& y = got.outputs[0].tensor;
  REQUIRE(y.dtype() == DType::Int64);
  CHECK(y.data<int64_t>()[2] == 42);
}

namespace {

struct DeconvCase {
  int64_t n = 1, group = 1, cg = 2, mg = 3, h = 4, w = 5, kh = 3, kw = 3;
  std::vector<int64_t> strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0}, output_padding{0, 0}, output_shape;
  bool same = false, bias = true, relu = false, static_shape = true;
  std::string describe() const {
    return fmt::format("n{} g{} cg{} mg{} {}x{} k{}x{} s{} d{} p{} op{} os{} same {} bias {} relu {} static {}", n, group,
                       cg, mg, h, w, kh, kw, strides, dilations, pads, output_padding, output_shape, same, bias, relu,
                       static_shape);
  }
};

// x -> ConvTranspose (constant W [C, M/g, kH, kW], B) -> optional Relu -> y.
std::unique_ptr<ir::Model> deconv_model(const DeconvCase& c, std::mt19937& rng) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  ir::Value* x = g.add_value("x");
  const int64_t cin = c.cg * c.group, cout = c.mg * c.group;
  x->type = Type::tensor(DType::Float, c.static_shape ? Shape{Dim::known(c.n), Dim::known(cin), Dim::known(c.h),
                                                              Dim::known(c.w)}
                                                        : Shape{Dim::symbol("N"), Dim::known(cin), Dim::symbol("H"),
                                                                Dim::symbol("W")});
  g.add_input(x);
  std::vector<ir::Value*> ins{x, initializer(g, "w", random_tensor({cin, c.mg, c.kh, c.kw}, rng))};
  if (c.bias) ins.push_back(initializer(g, "b", random_tensor({cout}, rng)));
  ir::Node* d = g.add_node("ConvTranspose", "", ins, {"d"}, "deconv");
  d->set_attr(ir::Attribute::make_int("group", c.group));
  d->set_attr(ir::Attribute::make_ints("strides", c.strides));
  d->set_attr(ir::Attribute::make_ints("dilations", c.dilations));
  d->set_attr(ir::Attribute::make_ints("output_padding", c.output_padding));
  if (c.same) d->set_attr(ir::Attribute::make_string("auto_pad", "SAME_UPPER"));
  else if (!c.output_shape.empty()) d->set_attr(ir::Attribute::make_ints("output_shape", c.output_shape));
  else d->set_attr(ir::Attribute::make_ints("pads", c.pads));
  ir::Value* y = d->output(0);
  if (c.relu) y = g.add_node("Relu", "", {y}, {"r"}, "act")->output(0);
  g.add_output(y);
  return m;
}

}  // namespace

TEST_CASE("xnnpack ConvTranspose matches the cpu reference on random geometries") {
  std::mt19937 rng(777);
  int claimed = 0;
  for (int i = 0; i < 120; ++i) {
    DeconvCase c;
    c.n = pick(rng, 1, 2);
    c.group = pick(rng, 1, 3) == 3 ? 2 : 1;
    c.cg = pick(rng, 1, 4);
    c.mg = pick(rng, 1, 4);
    c.h = pick(rng, 1, 6);
    c.w = pick(rng, 1, 6);
    c.kh = pick(rng, 1, 4);
    c.kw = pick(rng, 1, 4);
    c.strides = {pick(rng, 1, 3), pick(rng, 1, 3)};
    c.dilations = {pick(rng, 1, 4) == 4 ? 2 : 1, 1};
    for (size_t d = 0; d < 2; ++d) c.output_padding[d] = pick(rng, 0, c.strides[d] - 1);
    const int64_t k[2] = {c.kh, c.kw};
    for (size_t d = 0; d < 2; ++d) {
      const int64_t dk = (k[d] - 1) * c.dilations[d] + 1;
      c.pads[d] = pick(rng, 0, dk - 1);
      c.pads[d + 2] = pick(rng, 0, dk - 1);
    }
    const int mode = static_cast<int>(pick(rng, 0, 5));
    if (mode == 4) c.same = true;
    if (mode == 5) {  // an output_shape a little smaller than the full size
      const int64_t in[2] = {c.h, c.w};
      for (size_t d = 0; d < 2; ++d) {
        const int64_t full = c.strides[d] * (in[d] - 1) + c.output_padding[d] + (k[d] - 1) * c.dilations[d] + 1;
        c.output_shape.push_back(std::max<int64_t>(1, full - pick(rng, 0, 2)));
      }
    }
    c.bias = pick(rng, 0, 3) != 0;
    c.relu = pick(rng, 0, 2) == 0;
    c.static_shape = pick(rng, 0, 3) != 0;
    CAPTURE(i);
    INFO(c.describe());
    auto m = deconv_model(c, rng);
    Tensor x = random_tensor({c.n, c.cg * c.group, c.h, c.w}, rng, -2, 2);
    std::map<std::string, RValue> feeds{{"x", RValue(x)}};
    Ran want = run(*m, {"cpu"}, feeds);
    Ran got = run(*m, {"xnnpack", "cpu"}, feeds, 1 + i % 2);
    check_close(got.outputs[0], want.outputs[0]);
    const auto who = ran_by(got.timings, "deconv");
    if (who.first == "xnnpack") {
      ++claimed;
      CHECK(who.second == (c.relu ? 2u : 1u));
    }
    // Plain pads with an output_padding below the stride are always XNNPACK's to run.
    if (!c.same && c.output_shape.empty()) CHECK(who.first == "xnnpack");
  }
  CHECK(claimed > 60);
}

TEST_CASE("xnnpack ConvTranspose between two convs stays NHWC and matches the cpu reference") {
  std::mt19937 rng(31);
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(3), Dim::known(8), Dim::known(8)});
  g.add_input(x);
  ir::Value* a = g.add_node("Conv", "", {x, initializer(g, "w1", random_tensor({8, 3, 3, 3}, rng))}, {"a"}, "conv1")
                     ->output(0);
  ir::Node* d = g.add_node("ConvTranspose", "", {a, initializer(g, "w2", random_tensor({8, 4, 2, 2}, rng))}, {"d"},
                           "deconv");
  d->set_attr(ir::Attribute::make_ints("strides", {2, 2}));
  ir::Value* y = g.add_node("Conv", "", {d->output(0), initializer(g, "w3", random_tensor({2, 4, 1, 1}, rng))}, {"y"},
                            "conv2")
                     ->output(0);
  g.add_output(y);
  std::map<std::string, RValue> feeds{{"x", RValue(random_tensor({1, 3, 8, 8}, rng))}};
  Ran want = run(*m, {"cpu"}, feeds);
  Ran got = run(*m, {"xnnpack", "cpu"}, feeds);
  check_close(got.outputs[0], want.outputs[0]);
  REQUIRE(got.outputs[0].tensor.dims() == std::vector<int64_t>{1, 2, 12, 12});
  for (const char* n : {"conv1", "deconv", "conv2"}) CHECK(ran_by(got.timings, n).first == "xnnpack");
}

#endif  // ORTOOL_HAVE_XNNPACK
