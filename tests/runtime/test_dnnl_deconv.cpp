// Tests of the dnnl provider's ConvTranspose: sessions must match the cpu-only session and run the node on dnnl.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"
#include "tests/runtime/provider_test_util.h"

#ifdef ORTOOL_HAVE_DNNL

using namespace ortool;
using namespace ortool::provider_test;

namespace {

std::vector<Ran> run_feeds(const ir::Model& m, std::vector<std::string> providers,
                           const std::vector<std::map<std::string, RValue>>& feeds, int threads = 1) {
  rt::SessionOptions o;
  o.providers = std::move(providers);
  o.profile = true;
  o.threads = threads;
  auto s = rt::Session::create(m, o);
  INFO(s.status().message());
  REQUIRE(s.is_ok());
  std::vector<Ran> out;
  for (const auto& f : feeds) {
    auto r = (*s)->run(f);
    INFO(r.status().message());
    REQUIRE(r.is_ok());
    out.push_back({std::move(r).value(), (*s)->node_timings()});
  }
  return out;
}

struct DeconvCase {
  int64_t n = 1, group = 1, cg = 2, mg = 3, h = 5, w = 6, kh = 3, kw = 3;
  std::vector<int64_t> strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0}, output_padding, output_shape;
  std::string auto_pad;  // empty: NOTSET
  bool bias = true;
  bool bias_add = false;  // the bias as an Add of a [1, M, 1, 1] constant after the node (paddle2onnx)
  bool bn = false;        // an inference BatchNormalization after it
  std::string act;        // "", "Relu", "Sigmoid", "LeakyRelu"
  bool static_shape = true;

  std::string describe() const {
    return fmt::format("n{} g{} cg{} mg{} {}x{} k{}x{} s{},{} d{},{} p{},{},{},{} op{} os{} auto_pad '{}' bias {} "
                       "add {} bn {} act '{}' static {}",
                       n, group, cg, mg, h, w, kh, kw, strides[0], strides[1], dilations[0], dilations[1], pads[0],
                       pads[1], pads[2], pads[3], fmt::join(output_padding, ","), fmt::join(output_shape, ","),
                       auto_pad, bias, bias_add, bn, act, static_shape);
  }
  size_t fused() const { return 1u + bias_add + bn + !act.empty(); }
};

// x -> ConvTranspose (constant W [C, M/group, kH, kW], B) -> optional Add, BatchNormalization, activation -> y.
std::unique_ptr<ir::Model> deconv_model(const DeconvCase& c, std::mt19937& rng) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  ir::Value* x = g.add_value("x");
  const int64_t cin = c.cg * c.group, cout = c.mg * c.group;
  x->type = Type::tensor(DType::Float, c.static_shape ? Shape{Dim::known(c.n), Dim::known(cin), Dim::known(c.h),
                                                              Dim::known(c.w)}
                                                        : Shape{Dim::symbol("N"), Dim::known(cin), Dim::symbol("H"),
                                                                Dim::known(c.w)});
  g.add_input(x);
  std::vector<ir::Value*> ins{x, initializer(g, "w", random_tensor({cin, c.mg, c.kh, c.kw}, rng))};
  if (c.bias) ins.push_back(initializer(g, "b", random_tensor({cout}, rng)));
  ir::Node* d = g.add_node("ConvTranspose", "", ins, {"d"}, "deconv");
  d->set_attr(ir::Attribute::make_int("group", c.group));
  d->set_attr(ir::Attribute::make_ints("kernel_shape", {c.kh, c.kw}));
  d->set_attr(ir::Attribute::make_ints("strides", c.strides));
  d->set_attr(ir::Attribute::make_ints("dilations", c.dilations));
  if (!c.output_padding.empty()) d->set_attr(ir::Attribute::make_ints("output_padding", c.output_padding));
  if (!c.output_shape.empty()) d->set_attr(ir::Attribute::make_ints("output_shape", c.output_shape));
  if (c.auto_pad.empty())
    d->set_attr(ir::Attribute::make_ints("pads", c.pads));
  else
    d->set_attr(ir::Attribute::make_string("auto_pad", c.auto_pad));
  ir::Value* y = d->output(0);
  if (c.bias_add)
    y = g.add_node("Add", "", {y, initializer(g, "badd", random_tensor({1, cout, 1, 1}, rng))}, {"a"}, "add")
            ->output(0);
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
  if (!c.act.empty()) y = g.add_node(c.act, "", {y}, {"y"}, "act")->output(0);
  g.add_output(y);
  return m;
}

// Runs the case on dnnl,cpu and on cpu for each input dims and checks outputs and that dnnl ran the group.
void check_case(const DeconvCase& c, std::mt19937& rng, const std::vector<std::vector<int64_t>>& dims,
                int threads = 1) {
  INFO(c.describe());
  auto m = deconv_model(c, rng);
  std::vector<std::map<std::string, RValue>> feeds;
  for (const auto& d : dims) feeds.push_back({{"x", RValue(random_tensor(d, rng, -2, 2))}});
  const std::vector<Ran> got = run_feeds(*m, {"dnnl", "cpu"}, feeds, threads);
  const std::vector<Ran> want = run_feeds(*m, {"cpu"}, feeds, threads);
  for (size_t f = 0; f < feeds.size(); ++f) {
    CAPTURE(f);
    check_close(got[f].outputs[0], want[f].outputs[0]);
  }
  CHECK(ran_by(got.back().timings, "deconv") == std::pair<std::string, size_t>{"dnnl", c.fused()});
}

void check_case(const DeconvCase& c, std::mt19937& rng, int threads = 1) {
  check_case(c, rng, {{c.n, c.cg * c.group, c.h, c.w}}, threads);
}

TEST_CASE("dnnl ConvTranspose matches the cpu reference on listed geometries") {
  std::mt19937 rng(20261122);
  std::vector<DeconvCase> cases;
  DeconvCase c;
  cases.push_back(c);  // stride 1, kernel 3, bias
  c.strides = {2, 2}, c.kh = c.kw = 2, c.bias = false;
  cases.push_back(c);  // the upsampling of segmentation heads: kernel 2, stride 2, no bias
  c.kh = 4, c.kw = 4, c.pads = {1, 1, 1, 1}, c.bias = true;
  cases.push_back(c);  // kernel 4, stride 2, pads 1
  c.strides = {3, 3}, c.kh = 3, c.kw = 2, c.pads = {1, 0, 2, 1};
  cases.push_back(c);  // stride 3, uneven kernel and pads
  c = DeconvCase{};
  c.strides = {2, 2}, c.pads = {1, 1, 1, 1}, c.output_padding = {1, 1};
  cases.push_back(c);  // output_padding within the right pad
  c.pads = {0, 0, 0, 0}, c.output_padding = {1, 0};
  cases.push_back(c);  // output_padding beyond it: oneDNN's right pad goes negative
  c = DeconvCase{};
  c.strides = {2, 2}, c.output_shape = {10, 12};
  cases.push_back(c);  // output_shape (spatial only)
  c.output_shape = {1, 3, 11, 13};
  cases.push_back(c);  // output_shape with N and C
  c = DeconvCase{};
  c.strides = {2, 2}, c.auto_pad = "SAME_UPPER";
  cases.push_back(c);
  c.auto_pad = "SAME_LOWER", c.kh = c.kw = 4;
  cases.push_back(c);
  c = DeconvCase{};
  c.dilations = {2, 2}, c.pads = {1, 2, 1, 0};
  cases.push_back(c);  // dilation 2
  c = DeconvCase{};
  c.group = 2, c.cg = 3, c.mg = 2, c.strides = {2, 2}, c.pads = {1, 1, 1, 1};
  cases.push_back(c);  // group 2
  c.group = 4, c.cg = 1, c.mg = 1, c.kh = c.kw = 4;
  cases.push_back(c);  // depthwise-style: group = C
  c = DeconvCase{};
  c.act = "Relu";
  cases.push_back(c);  // fused Relu
  c.n = 2, c.strides = {2, 2}, c.act = "Sigmoid", c.bias = false, c.bias_add = true;
  cases.push_back(c);  // batch 2; the bias as an Add after the node, then Sigmoid (ppocr's head)
  c.bn = true, c.act = "Relu", c.group = 2, c.cg = 2, c.mg = 3;
  cases.push_back(c);  // Add, BatchNormalization and Relu folded and fused, grouped
  c.bias = true, c.bias_add = false, c.act = "LeakyRelu";
  cases.push_back(c);  // bias, BatchNormalization, LeakyRelu
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    check_case(cases[i], rng, 1 + static_cast<int>(i % 2));
  }
}

TEST_CASE("dnnl ConvTranspose matches the cpu reference on random geometries") {
  std::mt19937 rng(99);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int i = 0; i < 60; ++i) {
    CAPTURE(i);
    DeconvCase c;
    c.n = pick(1, 2);
    const int g = static_cast<int>(pick(0, 2));
    c.group = g == 0 ? 1 : g == 1 ? 2 : pick(2, 5);
    c.cg = g == 2 ? 1 : pick(1, 4);
    c.mg = g == 2 ? 1 : pick(1, 4);
    c.h = pick(1, 9), c.w = pick(1, 9);
    c.kh = pick(1, 4), c.kw = pick(1, 4);
    c.strides = {pick(1, 3), pick(1, 3)};
    c.dilations = {pick(1, 2), pick(1, 2)};
    if (pick(0, 3) == 0) c.output_padding = {pick(0, c.strides[0] - 1), pick(0, c.strides[1] - 1)};
    const int64_t mode = pick(0, 5);
    if (mode <= 2) {  // pads from a target size: keep them non-negative (the kernel covers a stride)
      c.kh = std::max(c.kh, c.strides[0]);
      c.kw = std::max(c.kw, c.strides[1]);
    }
    const int64_t op0 = c.output_padding.empty() ? 0 : c.output_padding[0];
    const int64_t op1 = c.output_padding.empty() ? 0 : c.output_padding[1];
    const int64_t full_h = c.strides[0] * (c.h - 1) + op0 + (c.kh - 1) * c.dilations[0] + 1;
    const int64_t full_w = c.strides[1] * (c.w - 1) + op1 + (c.kw - 1) * c.dilations[1] + 1;
    if (mode == 0) c.auto_pad = "SAME_UPPER";
    if (mode == 1) c.auto_pad = "SAME_LOWER";
    if (mode == 2) c.output_shape = {full_h - pick(0, std::min<int64_t>(2, full_h - 1)), full_w - pick(0, 1)};
    c.pads = {pick(0, 1), pick(0, 1), pick(0, 1), pick(0, 1)};
    if (full_h - c.pads[0] - c.pads[2] < 1) c.pads[0] = c.pads[2] = 0;  // an output of at least one row
    if (full_w - c.pads[1] - c.pads[3] < 1) c.pads[1] = c.pads[3] = 0;
    c.bias = pick(0, 1) == 1;
    c.bias_add = pick(0, 3) == 0;
    c.bn = pick(0, 3) == 0;
    const int64_t a = pick(0, 3);
    c.act = a == 0 ? "" : a == 1 ? "Relu" : a == 2 ? "Sigmoid" : "LeakyRelu";
    check_case(c, rng, 1 + i % 2);
  }
}

TEST_CASE("dnnl ConvTranspose with symbolic batch and height handles several shapes in one session") {
  std::mt19937 rng(5);
  DeconvCase c;
  c.static_shape = false;
  c.strides = {2, 2};
  c.kh = c.kw = 4;
  c.pads = {1, 1, 1, 1};
  c.act = "Relu";
  check_case(c, rng, {{1, 2, 5, 6}, {2, 2, 8, 6}, {1, 2, 5, 6}, {1, 2, 1, 6}});
  c.auto_pad = "SAME_UPPER";  // pads that follow the shape
  c.output_padding = {1, 1};
  check_case(c, rng, {{1, 2, 3, 6}, {3, 2, 7, 6}});
}

TEST_CASE("dnnl leaves ConvTranspose with a computed weight or of rank 3 to cpu, and still matches") {
  std::mt19937 rng(8);
  for (bool rank3 : {false, true}) {
    CAPTURE(rank3);
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* x = g.add_value("x");
    const std::vector<int64_t> xd = rank3 ? std::vector<int64_t>{1, 4, 7} : std::vector<int64_t>{1, 4, 5, 5};
    const std::vector<int64_t> wd = rank3 ? std::vector<int64_t>{4, 3, 3} : std::vector<int64_t>{4, 3, 3, 3};
    Shape xs;
    for (int64_t d : xd) xs.push_back(Dim::known(d));
    x->type = Type::tensor(DType::Float, xs);
    g.add_input(x);
    ir::Value* w = initializer(g, "w", random_tensor(wd, rng));
    if (!rank3) {  // a weight computed in the graph
      w = g.add_node("Relu", "", {w}, {"wr"}, "wr")->output(0);
    }
    g.add_node("ConvTranspose", "", {x, w}, {"y"}, "deconv");
    g.add_output(g.find_value("y"));
    std::vector<std::map<std::string, RValue>> feeds{{{"x", RValue(random_tensor(xd, rng))}}};
    const auto got = run_feeds(m, {"dnnl", "cpu"}, feeds);
    const auto want = run_feeds(m, {"cpu"}, feeds);
    check_close(got[0].outputs[0], want[0].outputs[0]);
    CHECK(ran_by(got[0].timings, "deconv").first == "cpu");
  }
}

TEST_CASE("dnnl region: Conv -> ConvTranspose -> Conv runs on dnnl end to end (NHWC between the steps)") {
  std::mt19937 rng(21);
  // Kernel 4 stride 2 pads 1 runs the oneDNN primitive; kernel 2 stride 2 (windows that do not
  // overlap) the sgemm and scatter, here NHWC in and out.
  for (auto [symbolic, blocks] : {std::pair{false, false}, {true, false}, {false, true}, {true, true}}) {
    CAPTURE(symbolic);
    CAPTURE(blocks);
    ir::Model m;
    m.set_opset("", 13);
    ir::Graph& g = *m.graph;
    ir::Value* x = g.add_value("x");
    x->type = Type::tensor(DType::Float, symbolic ? Shape{Dim::symbol("N"), Dim::known(3), Dim::symbol("H"),
                                                          Dim::symbol("W")}
                                                  : Shape{Dim::known(2), Dim::known(3), Dim::known(9), Dim::known(7)});
    g.add_input(x);
    auto conv = [&](ir::Value* in, const std::string& name, int64_t cin, int64_t cout, int64_t stride) {
      ir::Node* n = g.add_node("Conv", "",
                               {in, initializer(g, name + "_w", random_tensor({cout, cin, 3, 3}, rng, -0.5f, 0.5f)),
                                initializer(g, name + "_b", random_tensor({cout}, rng))},
                               {name + "_out"}, name);
      n->set_attr(ir::Attribute::make_ints("strides", {stride, stride}));
      n->set_attr(ir::Attribute::make_ints("pads", {1, 1, 1, 1}));
      return g.add_node("Relu", "", {n->output(0)}, {name + "_relu_out"}, name + "_relu")->output(0);
    };
    ir::Value* a = conv(x, "c0", 3, 8, 2);
    ir::Node* d = g.add_node("ConvTranspose", "",
                             {a, initializer(g, "dw", random_tensor({8, 6, blocks ? 2 : 4, blocks ? 2 : 4}, rng, -0.5f, 0.5f)),
                              initializer(g, "db", random_tensor({6}, rng))},
                             {"d_out"}, "deconv");
    d->set_attr(ir::Attribute::make_ints("strides", {2, 2}));
    if (!blocks) d->set_attr(ir::Attribute::make_ints("pads", {1, 1, 1, 1}));
    ir::Value* r = g.add_node("Relu", "", {d->output(0)}, {"dr_out"}, "deconv_relu")->output(0);
    g.add_output(conv(r, "c1", 6, 5, 1));
    std::vector<std::map<std::string, RValue>> feeds{{{"x", RValue(random_tensor({2, 3, 9, 7}, rng))}}};
    if (symbolic) feeds.push_back({{"x", RValue(random_tensor({1, 3, 12, 10}, rng))}});
    const auto got = run_feeds(m, {"dnnl", "cpu"}, feeds, 2);
    const auto want = run_feeds(m, {"cpu"}, feeds, 2);
    for (size_t f = 0; f < feeds.size(); ++f) check_close(got[f].outputs[0], want[f].outputs[0]);
    size_t nodes = 0;
    for (const rt::NodeTiming& t : got.back().timings) {
      INFO(t.node->name);
      CHECK(t.provider == "dnnl");
      nodes += t.fused_nodes;
    }
    CHECK(nodes == g.nodes().size());
    CHECK(ran_by(got.back().timings, "deconv") == std::pair<std::string, size_t>{"dnnl", 2});
  }
}

TEST_CASE("dnnl ConvTranspose with windows that do not overlap: every pair of input and output layouts") {
  // The graph input arrives NCHW; a Conv after the ConvTranspose takes NHWC, a graph output NCHW.
  std::mt19937 rng(41);
  for (auto [conv_before, conv_after] : {std::pair{false, false}, {false, true}, {true, false}, {true, true}}) {
    for (int64_t k : {2, 3}) {
      CAPTURE(conv_before);
      CAPTURE(conv_after);
      CAPTURE(k);
      ir::Model m;
      m.set_opset("", 13);
      ir::Graph& g = *m.graph;
      ir::Value* x = g.add_value("x");
      x->type = Type::tensor(DType::Float, Shape{Dim::symbol("N"), Dim::known(5), Dim::symbol("H"), Dim::symbol("W")});
      g.add_input(x);
      ir::Value* in = x;
      if (conv_before)
        in = g.add_node("Conv", "", {x, initializer(g, "c0w", random_tensor({5, 5, 1, 1}, rng, -0.5f, 0.5f))},
                        {"c0_out"}, "c0")
                 ->output(0);
      ir::Node* d = g.add_node("ConvTranspose", "",
                               {in, initializer(g, "dw", random_tensor({5, 7, k, k}, rng, -0.5f, 0.5f)),
                                initializer(g, "db", random_tensor({7}, rng))},
                               {"d_out"}, "deconv");
      d->set_attr(ir::Attribute::make_ints("strides", {k, k}));
      ir::Value* y = g.add_node("Relu", "", {d->output(0)}, {"r_out"}, "relu")->output(0);
      if (conv_after)
        y = g.add_node("Conv", "", {y, initializer(g, "c1w", random_tensor({3, 7, 1, 1}, rng, -0.5f, 0.5f))},
                       {"c1_out"}, "c1")
                ->output(0);
      g.add_output(y);
      std::vector<std::map<std::string, RValue>> feeds{{{"x", RValue(random_tensor({2, 5, 6, 9}, rng))}},
                                                       {{"x", RValue(random_tensor({1, 5, 1, 4}, rng))}}};
      for (int threads : {1, 2}) {
        const auto got = run_feeds(m, {"dnnl", "cpu"}, feeds, threads);
        const auto want = run_feeds(m, {"cpu"}, feeds, threads);
        for (size_t f = 0; f < feeds.size(); ++f) check_close(got[f].outputs[0], want[f].outputs[0]);
        CHECK(ran_by(got.back().timings, "deconv") == std::pair<std::string, size_t>{"dnnl", 2});
      }
    }
  }
}

// ppocr_det_v3's head: Conv, then ConvTranspose + Add + BatchNormalization + Relu, ConvTranspose + Add + Sigmoid.
TEST_CASE("dnnl runs ppocr's upsampling head with the bias Adds, BatchNormalization and activations folded in") {
  std::mt19937 rng(31);
  ir::Model m;
  m.set_opset("", 11);
  ir::Graph& g = *m.graph;
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::symbol("N"), Dim::known(8), Dim::symbol("H"), Dim::symbol("W")});
  g.add_input(x);
  ir::Node* c = g.add_node("Conv", "", {x, initializer(g, "cw", random_tensor({6, 8, 3, 3}, rng, -0.5f, 0.5f))},
                           {"c_out"}, "conv");
  c->set_attr(ir::Attribute::make_ints("pads", {1, 1, 1, 1}));
  ir::Value* r = g.add_node("Relu", "", {c->output(0)}, {"cr_out"}, "conv_relu")->output(0);
  auto up = [&](ir::Value* in, const std::string& name, int64_t cin, int64_t cout) {
    ir::Value* w = initializer(g, name + "_w", random_tensor({cin, cout, 2, 2}, rng));
    ir::Node* d = g.add_node("ConvTranspose", "", {in, w}, {name + "_out"}, name);
    d->set_attr(ir::Attribute::make_ints("strides", {2, 2}));
    return g.add_node("Add", "", {d->output(0), initializer(g, name + "_b", random_tensor({cout, 1, 1}, rng))},
                      {name + "_add_out"}, name + "_add")
        ->output(0);
  };
  ir::Value* a = up(r, "up0", 6, 6);
  ir::Node* bn = g.add_node("BatchNormalization", "",
                            {a, initializer(g, "s", random_tensor({6}, rng)),
                             initializer(g, "t", random_tensor({6}, rng)),
                             initializer(g, "mu", random_tensor({6}, rng)),
                             initializer(g, "var", random_tensor({6}, rng, 0.5f, 2.0f))},
                            {"bn_out"}, "bn");
  ir::Value* h = g.add_node("Relu", "", {bn->output(0)}, {"h_out"}, "bn_relu")->output(0);
  g.add_output(g.add_node("Sigmoid", "", {up(h, "up1", 6, 1)}, {"y"}, "sig")->output(0));
  std::vector<std::map<std::string, RValue>> feeds{{{"x", RValue(random_tensor({1, 8, 10, 12}, rng))}},
                                                   {{"x", RValue(random_tensor({2, 8, 7, 5}, rng))}}};
  const auto got = run_feeds(m, {"dnnl", "cpu"}, feeds);
  const auto want = run_feeds(m, {"cpu"}, feeds);
  for (size_t f = 0; f < feeds.size(); ++f) check_close(got[f].outputs[0], want[f].outputs[0]);
  CHECK(ran_by(got.back().timings, "up0") == std::pair<std::string, size_t>{"dnnl", 4});
  CHECK(ran_by(got.back().timings, "up1") == std::pair<std::string, size_t>{"dnnl", 3});
}

}  // namespace

#endif  // ORTOOL_HAVE_DNNL
