// Tests of the dnnl provider's NHWC regions: chains of dnnl steps (convs, pools, SiLU, squeeze-excite,
// Add, Concat) must match the cpu-only session, also where a region value leaves for cpu or the output.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/onnx_shape_inference.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/session.h"

#ifdef ORTOOL_HAVE_DNNL

using namespace ortool;

namespace {

Tensor random_tensor(std::vector<int64_t> dims, std::mt19937& rng, float lo = -1, float hi = 1) {
  Tensor t(DType::Float, std::move(dims));
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = d(rng);
  return t;
}

// Builds graphs of named nodes with random constant weights.
struct Builder {
  ir::Model m;
  ir::Graph& g = *m.graph;
  std::mt19937& rng;
  int serial = 0;

  explicit Builder(std::mt19937& r) : rng(r) { m.set_opset("", 13); }

  std::string fresh(const std::string& base) { return fmt::format("{}_{}", base, serial++); }

  ir::Value* input(const std::string& name, Shape shape) {
    ir::Value* x = g.add_value(name);
    x->type = Type::tensor(DType::Float, std::move(shape));
    g.add_input(x);
    return x;
  }
  ir::Value* init(Tensor t) { return g.add_initializer(fresh("init"), std::make_shared<Tensor>(std::move(t))); }

  ir::Value* node(const std::string& op, std::vector<ir::Value*> ins, const std::string& name) {
    return g.add_node(op, "", std::move(ins), {name + "_out"}, name)->output(0);
  }

  // Conv of `cin` channels to `cout` with kernel k, and optionally a BatchNormalization after it.
  ir::Value* conv(ir::Value* x, const std::string& name, int64_t cin, int64_t cout, int64_t k, int64_t stride = 1,
                  int64_t pad = 0, int64_t dil = 1, int64_t group = 1, bool bn = false) {
    ir::Node* c = g.add_node("Conv", "",
                             {x, init(random_tensor({cout, cin / group, k, k}, rng, -0.5f, 0.5f)),
                              init(random_tensor({cout}, rng))},
                             {name + "_out"}, name);
    c->set_attr(ir::Attribute::make_int("group", group));
    c->set_attr(ir::Attribute::make_ints("strides", {stride, stride}));
    c->set_attr(ir::Attribute::make_ints("dilations", {dil, dil}));
    c->set_attr(ir::Attribute::make_ints("pads", {pad, pad, pad, pad}));
    if (!bn) return c->output(0);
    ir::Node* n = g.add_node("BatchNormalization", "",
                             {c->output(0), init(random_tensor({cout}, rng)), init(random_tensor({cout}, rng)),
                              init(random_tensor({cout}, rng)), init(random_tensor({cout}, rng, 0.5f, 2.0f))},
                             {name + "_bn_out"}, name + "_bn");
    return n->output(0);
  }

  // x * Sigmoid(x), with the Mul's operands in either order.
  ir::Value* silu(ir::Value* x, const std::string& name, bool swap = false) {
    ir::Value* s = node("Sigmoid", {x}, name + "_sig");
    return node("Mul", swap ? std::vector<ir::Value*>{s, x} : std::vector<ir::Value*>{x, s}, name + "_mul");
  }

  ir::Value* pool(const std::string& op, ir::Value* x, const std::string& name, int64_t k, int64_t stride,
                  bool ceil = false) {
    ir::Node* p = g.add_node(op, "", {x}, {name + "_out"}, name);
    p->set_attr(ir::Attribute::make_ints("kernel_shape", {k, k}));
    p->set_attr(ir::Attribute::make_ints("strides", {stride, stride}));
    if (ceil) p->set_attr(ir::Attribute::make_int("ceil_mode", 1));
    return p->output(0);
  }
};

struct Ran {
  std::vector<RValue> outputs;
  std::vector<rt::NodeTiming> timings;
};

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

void check_close(const RValue& got, const RValue& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.is_tensor());
  REQUIRE(want.is_tensor());
  REQUIRE(got.tensor.dims() == want.tensor.dims());
  REQUIRE(got.tensor.dtype() == want.tensor.dtype());
  if (got.tensor.dtype() != DType::Float) {
    CHECK(got.tensor.nbytes() == want.tensor.nbytes());
    CHECK(std::memcmp(got.tensor.raw(), want.tensor.raw(), got.tensor.nbytes()) == 0);
    return;
  }
  const float* g = got.tensor.data<float>();
  const float* w = want.tensor.data<float>();
  int bad = 0;
  for (int64_t i = 0; i < got.tensor.numel(); ++i) {
    if (!(std::fabs(g[i] - w[i]) <= 1e-4f + 1e-4f * std::fabs(w[i]))) {
      if (++bad <= 3) FAIL_CHECK(fmt::format("element {}: dnnl {} vs cpu {}", i, g[i], w[i]));
    }
  }
  CHECK(bad == 0);
}

// Runs `m` on dnnl,cpu and on cpu with each feed, compares every output, and checks that exactly
// the nodes named in `on_cpu` ran on the cpu provider (every other node ran on dnnl, alone or fused).
void compare(const ir::Model& m, const std::vector<std::map<std::string, RValue>>& feeds,
             const std::vector<std::string>& on_cpu, int threads = 1) {
  const std::vector<Ran> fast = run_feeds(m, {"dnnl", "cpu"}, feeds, threads);
  const std::vector<Ran> ref = run_feeds(m, {"cpu"}, feeds, threads);
  for (size_t f = 0; f < feeds.size(); ++f) {
    REQUIRE(fast[f].outputs.size() == ref[f].outputs.size());
    for (size_t i = 0; i < ref[f].outputs.size(); ++i)
      check_close(fast[f].outputs[i], ref[f].outputs[i], fmt::format("feed {} output {}", f, i));
  }
  size_t nodes = 0;
  for (const rt::NodeTiming& t : fast.back().timings) {
    INFO(t.node->name);
    const bool want_cpu = std::find(on_cpu.begin(), on_cpu.end(), t.node->name) != on_cpu.end();
    CHECK(t.provider == (want_cpu ? "cpu" : "dnnl"));
    nodes += t.fused_nodes;
  }
  CHECK(nodes == m.graph->nodes().size());
}

std::map<std::string, RValue> feed(const std::string& name, std::vector<int64_t> dims, std::mt19937& rng) {
  return {{name, RValue(random_tensor(std::move(dims), rng))}};
}

TEST_CASE("dnnl region: conv chain with strided, dilated convs, pool and residual Add, batch 2") {
  std::mt19937 rng(11);
  for (int variant = 0; variant < 3; ++variant) {
    CAPTURE(variant);
    Builder b(rng);
    ir::Value* x = b.input("x", Shape{Dim::known(2), Dim::known(3), Dim::known(13), Dim::known(11)});
    ir::Value* a = b.node("Relu", {b.conv(x, "c0", 3, 8, 3, 1, 1)}, "r0");
    ir::Value* s = b.conv(a, "c1", 8, 8, 3, 2, 1);                  // strided: 7x6
    ir::Value* p = b.pool("MaxPool", s, "mp", 3, 1, variant == 1);  // 5x4
    ir::Value* d = b.conv(p, "c2", 8, 8, 3, 1, 2, 2, 1, true);       // dilated, same size, BN
    ir::Value* sum = b.node("Add", variant == 2 ? std::vector<ir::Value*>{p, d} : std::vector<ir::Value*>{d, p}, "add");
    ir::Value* y = b.node("Relu", {sum}, "r1");
    b.g.add_output(y);
    std::vector<std::string> cpu;
    if (variant == 1) {
      b.g.add_output(a);  // a region value that is also a graph output stays NCHW
      ir::Node* t = b.g.add_node("Transpose", "", {s}, {"t_out"}, "t");  // and one a cpu node reads
      t->set_attr(ir::Attribute::make_ints("perm", {0, 2, 3, 1}));
      b.g.add_output(t->output(0));
      cpu.push_back("t");
    }
    if (variant == 2) {
      b.g.add_output(b.node("Shape", {d}, "shape"));  // a cpu node reading a conv output
      cpu.push_back("shape");
    }
    compare(b.m, {feed("x", {2, 3, 13, 11}, rng)}, cpu);
  }
}

TEST_CASE("dnnl region: SiLU and a squeeze-excite block (efficientnet's MBConv)") {
  std::mt19937 rng(12);
  // The convs' SiLU on cpu::silu_in_place and on oneDNN's swish post-op: which one runs depends on the CPU.
  struct ModeReset {
    ~ModeReset() { rt::dnnl_ep::set_silu_mode(rt::dnnl_ep::KernelChoice::Default); }
  } reset;
  for (int run = 0; run < 4; ++run) {
    const int threads = 1 + run % 2;
    rt::dnnl_ep::set_silu_mode(run < 2 ? rt::dnnl_ep::KernelChoice::Own : rt::dnnl_ep::KernelChoice::Dnnl);
    CAPTURE(run);
    Builder b(rng);
    const int64_t c = 12;
    ir::Value* x = b.input("x", Shape{Dim::known(1), Dim::known(4), Dim::known(10), Dim::known(10)});
    ir::Value* stem = b.silu(b.conv(x, "stem", 4, c, 3, 1, 1, 1, 1, true), "stem");
    ir::Value* dw = b.silu(b.conv(stem, "dw", c, c, 3, 2, 1, 1, c, true), "dw", true);  // depthwise, strided
    ir::Value* gap = b.node("GlobalAveragePool", {dw}, "gap");
    ir::Value* r = b.silu(b.conv(gap, "se_reduce", c, 3, 1), "se");
    ir::Value* e = b.node("Sigmoid", {b.conv(r, "se_expand", 3, c, 1)}, "se_gate");
    ir::Value* scaled = b.node("Mul", {dw, e}, "se_mul");
    ir::Value* proj = b.conv(scaled, "proj", c, c, 1, 1, 0, 1, 1, true);
    ir::Value* res = b.node("Add", {proj, dw}, "res");  // both from dnnl steps, shapes undeclared
    ir::Value* scaled2 = b.node("Mul", {e, res}, "se_mul2");  // the broadcast operand first
    b.g.add_output(b.node("Sigmoid", {b.conv(scaled2, "head", c, 5, 1)}, "head_sig"));
    compare(b.m, {feed("x", {1, 4, 10, 10}, rng)}, {}, threads);
  }
}

TEST_CASE("dnnl region: standalone activations and SiLU on values with several readers") {
  std::mt19937 rng(18);
  Builder b(rng);
  ir::Value* x = b.input("x", Shape{Dim::known(2), Dim::known(5), Dim::known(8), Dim::known(7)});
  ir::Value* v = b.conv(x, "c0", 5, 6, 3, 1, 1);
  ir::Value* s = b.silu(v, "silu", true);                     // v is also read by c1 and the Tanh
  ir::Value* t = b.node("Tanh", {v}, "tanh");
  ir::Value* w = b.conv(v, "c1", 6, 6, 1);
  ir::Value* l = b.g.add_node("LeakyRelu", "", {w}, {"lr_out"}, "lr")->output(0);
  ir::Value* sg = b.node("Sigmoid", {w}, "sig");             // w's second reader: neither is fused
  ir::Value* sum = b.node("Add", {b.node("Add", {s, t}, "add0"), b.node("Mul", {l, sg}, "mul0")}, "add1");
  Tensor lo(DType::Float, {}), hi(DType::Float, {});
  lo.mutable_data<float>()[0] = -0.5f;
  hi.mutable_data<float>()[0] = 0.75f;
  ir::Value* clip = b.node("Clip", {sum, b.init(lo), b.init(hi)}, "clip");
  b.g.add_output(b.conv(clip, "c2", 6, 3, 3));
  b.g.add_output(b.node("Relu", {sum}, "relu_out"));  // writes a graph output from an NHWC input
  compare(b.m, {feed("x", {2, 5, 8, 7}, rng)}, {});
}

TEST_CASE("dnnl region: fire modules with Concat along channels, then a pool and a conv") {
  std::mt19937 rng(13);
  Builder b(rng);
  ir::Value* x = b.input("x", Shape{Dim::known(2), Dim::known(6), Dim::known(9), Dim::known(9)});
  ir::Value* sq = b.node("Relu", {b.conv(x, "squeeze", 6, 4, 1)}, "sq_relu");
  ir::Value* e1 = b.node("Relu", {b.conv(sq, "e1", 4, 5, 1)}, "e1_relu");
  ir::Value* e3 = b.node("Relu", {b.conv(sq, "e3", 4, 7, 3, 1, 1)}, "e3_relu");
  ir::Node* cat = b.g.add_node("Concat", "", {e1, e3}, {"cat_out"}, "cat");
  cat->set_attr(ir::Attribute::make_int("axis", 1));
  ir::Value* mp = b.pool("MaxPool", cat->output(0), "mp", 3, 2, true);
  ir::Value* e3b = b.conv(mp, "e3b", 12, 3, 3, 1, 1);
  ir::Node* cat2 = b.g.add_node("Concat", "", {e3b, mp, e3b}, {"cat2_out"}, "cat2");  // an input twice
  cat2->set_attr(ir::Attribute::make_int("axis", -3));
  ir::Value* ap = b.pool("AveragePool", cat2->output(0), "ap", 2, 1);
  b.g.add_output(b.node("GlobalMaxPool", {ap}, "gmp"));
  b.g.add_output(b.node("Relu", {e1}, "e1_out"));  // a standalone relu on a region value the Concat reads too
  compare(b.m, {feed("x", {2, 6, 9, 9}, rng)}, {});
}

TEST_CASE("dnnl region: standalone BatchNormalization after a Concat, with and without a Relu (DenseNet)") {
  std::mt19937 rng(19);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    Builder b(rng);
    ir::Value* x = b.input("x", Shape{Dim::known(2), Dim::known(8), Dim::known(12), Dim::known(11)});
    ir::Value* f0 = b.conv(x, "c0", 8, 16, 3, 1, 1);
    ir::Value* f1 = b.node("Relu", {b.conv(f0, "c1", 16, 8, 1)}, "r1");
    ir::Node* cat = b.g.add_node("Concat", "", {f0, f1}, {"cat_out"}, "cat");
    cat->set_attr(ir::Attribute::make_int("axis", 1));
    auto bn = [&](ir::Value* v, int64_t c, const std::string& name) {
      return b.node("BatchNormalization",
                    {v, b.init(random_tensor({c}, rng)), b.init(random_tensor({c}, rng)), b.init(random_tensor({c}, rng)),
                     b.init(random_tensor({c}, rng, 0.5f, 2.0f))},
                    name);
    };
    ir::Value* n1 = b.node("Relu", {bn(cat->output(0), 24, "bn1")}, "bn1_relu");  // fused
    ir::Value* y1 = b.conv(n1, "c2", 24, 8, 3, 1, 1);
    ir::Value* n2 = bn(y1, 8, "bn2");  // folded into c2; read by a Relu and a conv, so no Relu fused
    ir::Value* y2 = b.conv(b.node("Relu", {n2}, "bn2_relu"), "c3", 8, 4, 1);
    ir::Value* y3 = b.conv(n2, "c4", 8, 4, 1);
    b.g.add_output(b.node("Add", {y2, y3}, "sum"));
    b.g.add_output(bn(y3, 4, "bn3"));  // standalone (y3 has two readers), a graph output: NCHW in and out
    compare(b.m, {feed("x", {2, 8, 12, 11}, rng)}, {}, threads);
  }
}

TEST_CASE("dnnl region: symbolic batch and spatial dims, several shapes in one session") {
  std::mt19937 rng(14);
  Builder b(rng);
  ir::Value* x = b.input("x", Shape{Dim::symbol("N"), Dim::known(3), Dim::symbol("H"), Dim::symbol("W")});
  ir::Value* a = b.silu(b.conv(x, "c0", 3, 8, 3, 2, 1, 1, 1, true), "a");
  ir::Value* d = b.node("Relu", {b.conv(a, "dw", 8, 8, 3, 1, 1, 1, 8)}, "dw_relu");
  ir::Value* s = b.conv(d, "c1", 8, 8, 1);
  ir::Value* sum = b.node("Add", {s, a}, "add");
  ir::Value* g = b.node("GlobalAveragePool", {sum}, "gap");
  b.g.add_output(b.node("Mul", {sum, g}, "mul"));
  compare(b.m, {feed("x", {1, 3, 16, 12}, rng), feed("x", {2, 3, 7, 9}, rng), feed("x", {1, 3, 16, 12}, rng)}, {});
}

ir::Value* ints(Builder& b, std::vector<int64_t> v) {
  Tensor t(DType::Int64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data<int64_t>()[i] = v[i];
  return b.init(std::move(t));
}

// x -> Reshape [N, g, C/g, H, W] -> Transpose 0,2,1,3,4 -> Reshape back, as shufflenet writes it.
ir::Value* shuffle(Builder& b, ir::Value* x, const std::string& name, std::vector<int64_t> s5,
                   std::vector<int64_t> s4) {
  ir::Value* r = b.node("Reshape", {x, ints(b, std::move(s5))}, name + "_r5");
  ir::Node* t = b.g.add_node("Transpose", "", {r}, {name + "_t_out"}, name + "_t");
  t->set_attr(ir::Attribute::make_ints("perm", {0, 2, 1, 3, 4}));
  return b.node("Reshape", {t->output(0), ints(b, std::move(s4))}, name + "_r4");
}

ir::Value* slice(Builder& b, ir::Value* x, const std::string& name, int64_t start, int64_t end) {
  return b.node("Slice", {x, ints(b, {start}), ints(b, {end}), ints(b, {1})}, name);
}

TEST_CASE("dnnl region: shufflenet blocks (channel shuffle, channel Slice, Concat, ReduceMean)") {
  std::mt19937 rng(15);
  for (int variant = 0; variant < 2; ++variant) {
    CAPTURE(variant);
    Builder b(rng);
    const int64_t n = variant == 0 ? 1 : 2;
    ir::Value* x = b.input("x", Shape{Dim::known(n), Dim::known(8), Dim::known(6), Dim::known(7)});
    ir::Value* a = b.node("Relu", {b.conv(x, "a", 8, 8, 1, 1, 0, 1, 1, true)}, "a_relu");
    ir::Value* c = b.node("Relu", {b.conv(x, "c", 8, 8, 3, 1, 1, 1, 8, true)}, "c_relu");
    ir::Node* cat = b.g.add_node("Concat", "", {a, c}, {"cat_out"}, "cat");
    cat->set_attr(ir::Attribute::make_int("axis", 1));
    ir::Value* sh = shuffle(b, cat->output(0), "sh", {0, 2, 8, 6, 7}, {n, -1, 6, 7});
    ir::Value* s0 = slice(b, sh, "s0", 0, 8);
    ir::Value* s1 = slice(b, sh, "s1", 8, std::numeric_limits<int64_t>::max());
    ir::Value* s2 = slice(b, sh, "s2", -5, 1000);  // the last 5 channels
    ir::Value* br = b.node("Relu", {b.conv(s1, "br", 8, 8, 1)}, "br_relu");
    ir::Node* cat2 = b.g.add_node("Concat", "", {s0, br}, {"cat2_out"}, "cat2");
    cat2->set_attr(ir::Attribute::make_int("axis", 1));
    ir::Value* sh2 = shuffle(b, cat2->output(0), "sh2", {n, 4, -1, 6, 7}, {0, 16, 6, -1});  // 4 groups
    ir::Node* rm = b.g.add_node("ReduceMean", "", {b.conv(sh2, "head", 16, 6, 1)}, {"rm_out"}, "rm");
    rm->set_attr(ir::Attribute::make_ints("axes", {2, 3}));
    rm->set_attr(ir::Attribute::make_int("keepdims", 0));
    b.g.add_output(rm->output(0));
    b.g.add_output(b.conv(s2, "tail", 5, 3, 1));
    // A shuffle of one conv output, and one of a Concat of unequal parts.
    ir::Value* sh4 = shuffle(b, b.conv(x, "c4", 8, 16, 1), "sh4", {n, 2, 8, 6, 7}, {n, 16, 6, 7});
    b.g.add_output(b.conv(sh4, "c5", 16, 3, 1));
    ir::Node* cat3 = b.g.add_node("Concat", "", {a, b.conv(x, "c6", 8, 4, 1)}, {"cat3_out"}, "cat3");
    cat3->set_attr(ir::Attribute::make_int("axis", 1));
    ir::Value* sh5 = shuffle(b, cat3->output(0), "sh5", {n, 2, 6, 6, 7}, {n, 12, 6, 7});
    b.g.add_output(b.conv(sh5, "c7", 12, 3, 1));
    std::vector<std::string> cpu;
    if (variant == 1) {
      b.g.add_output(s0);  // a Slice output that is a graph output: written NCHW from an NHWC input
      b.g.add_output(shuffle(b, sh2, "sh3", {n, 2, 8, 6, 7}, {n, 16, 6, 7}));  // a shuffle as an output
    }
    compare(b.m, {feed("x", {n, 8, 6, 7}, rng)}, cpu);
  }
}

TEST_CASE("dnnl region: a conv output that If branches read (as a node input or as the branch output) stays NCHW") {
  std::mt19937 rng(16);
  Builder b(rng);
  ir::Value* x = b.input("x", Shape{Dim::known(1), Dim::known(3), Dim::known(7), Dim::known(6)});
  ir::Value* cond = b.g.add_value("cond");
  cond->type = Type::tensor(DType::Bool, Shape{});
  b.g.add_input(cond);
  ir::Value* a = b.conv(x, "c0", 3, 4, 3, 1, 1);
  b.g.add_output(b.conv(a, "c1", 4, 4, 3, 1, 1));  // a dnnl reader in the outer graph
  ir::Node* iff = b.g.add_node("If", "", {cond}, {"if_out"}, "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto sg = std::make_shared<ir::Graph>(&b.g, iff);
    sg->name = branch;
    if (std::string(branch) == "then_branch") {
      sg->add_output(a);  // read through the branch's output list, with no Use
    } else {
      ir::Value* w = sg->add_initializer("w", std::make_shared<Tensor>(random_tensor({4, 4, 1, 1}, rng)));
      ir::Node* conv = sg->add_node("Conv", "", {a, w}, {"sc"}, "else_conv");
      sg->add_output(sg->add_node("Relu", "", {conv->output(0)}, {"sr"}, "else_relu")->output(0));
    }
    ir::Attribute attr;
    attr.name = branch;
    attr.type = ir::AttrType::Graph;
    attr.g = sg;
    iff->set_attr(attr);
  }
  b.g.add_output(iff->output(0));
  for (bool c : {true, false}) {
    Tensor cv(DType::Bool, {});
    cv.mutable_data<bool>()[0] = c;
    std::map<std::string, RValue> f{{"x", RValue(random_tensor({1, 3, 7, 6}, rng))}, {"cond", RValue(cv)}};
    const std::vector<Ran> fast = run_feeds(b.m, {"dnnl", "cpu"}, {f});
    const std::vector<Ran> ref = run_feeds(b.m, {"cpu"}, {f});
    for (size_t i = 0; i < 2; ++i) check_close(fast[0].outputs[i], ref[0].outputs[i], fmt::format("output {}", i));
    for (const rt::NodeTiming& t : fast[0].timings)
      if (t.node->name == "c0" || t.node->name == "c1" || t.node->name == "else_conv") CHECK(t.provider == "dnnl");
  }
}

TEST_CASE("dnnl region: Add, Mul and Concat with an operand from outside dnnl stay on cpu, and match") {
  std::mt19937 rng(17);
  Builder b(rng);
  ir::Value* x = b.input("x", Shape{Dim::known(2), Dim::known(4), Dim::known(5), Dim::known(5)});
  ir::Value* a = b.conv(x, "c0", 4, 4, 3, 1, 1);
  ir::Value* sum = b.node("Add", {a, x}, "add");  // x is a graph input
  ir::Value* prod = b.node("Mul", {b.conv(sum, "c1", 4, 4, 1), b.init(random_tensor({4, 1, 1}, rng))}, "mul");
  ir::Node* cat = b.g.add_node("Concat", "", {b.conv(prod, "c2", 4, 3, 1), x}, {"cat_out"}, "cat");
  cat->set_attr(ir::Attribute::make_int("axis", 1));
  b.g.add_output(b.conv(cat->output(0), "c3", 7, 2, 3));
  compare(b.m, {feed("x", {2, 4, 5, 5}, rng)}, {"add", "mul", "cat"});
}

TEST_CASE("dnnl region: outputs in a dying input's buffer, also where that input is read twice") {
  std::mt19937 rng(19);
  for (int variant = 0; variant < 2; ++variant) {
    CAPTURE(variant);
    Builder b(rng);
    ir::Value* x = b.input("x", Shape{Dim::known(2), Dim::known(4), Dim::known(7), Dim::known(6)});
    ir::Value* a = b.node("Relu", {b.conv(x, "c0", 4, 6, 3, 1, 1)}, "r0");
    // The residual addend is the conv's own input: its buffer must not become the destination.
    ir::Value* r = b.node("Add", {b.conv(a, "c1", 6, 6, 3, 1, 1), a}, "res");
    // A dying addend from another conv: the sum accumulates in its buffer.
    ir::Value* e = b.conv(r, "c2", 6, 6, 1);
    ir::Value* r2 = b.node("Add", variant ? std::vector<ir::Value*>{e, b.conv(r, "c3", 6, 6, 3, 1, 1)}
                                          : std::vector<ir::Value*>{b.conv(r, "c3", 6, 6, 3, 1, 1), e},
                           "res2");
    ir::Value* t = b.node("Tanh", {r2}, "tanh");     // in place
    ir::Value* d = b.node("Add", {t, t}, "double");  // both operands the same dying buffer
    ir::Value* m = b.node("Mul", {d, b.node("Sigmoid", {d}, "sig")}, "mul");
    b.g.add_output(b.conv(m, "c4", 6, 3, 1));
    REQUIRE(infer_shapes(b.m).is_ok());  // declared shapes let the residual Adds fuse into the convs
    compare(b.m, {feed("x", {2, 4, 7, 6}, rng), feed("x", {2, 4, 7, 6}, rng)}, {});
  }
}

// A float scalar initializer.
ir::Value* scalar(Builder& b, float v) {
  Tensor t(DType::Float, {});
  t.mutable_data<float>()[0] = v;
  return b.init(t);
}

TEST_CASE("dnnl region: hard-swish written out in exporters' orders, HardSigmoid squeeze-excite, HardSwish op") {
  std::mt19937 rng(21);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    Builder b(rng);
    b.m.set_opset("", 14);  // HardSwish
    const int64_t c = 8;
    ir::Value* x = b.input("x", Shape{Dim::known(1), Dim::known(3), Dim::known(9), Dim::known(9)});
    // Paddle: v * Clip(v + 3, 0, 6), then / 6.
    ir::Value* v = b.conv(x, "stem", 3, c, 3, 1, 1, 1, 1, true);
    auto clip6 = [&](ir::Value* in, const std::string& name) {
      return b.node("Clip", {in, scalar(b, 0), scalar(b, 6)}, name);
    };
    ir::Value* clip = clip6(b.node("Add", {v, scalar(b, 3)}, "hs0_add"), "hs0_clip");
    ir::Value* h0 = b.node("Div", {b.node("Mul", {v, clip}, "hs0_mul"), scalar(b, 6)}, "hs0_div");
    // Divided first, then times v; the constant first in the Add and a Mul by 1/6.
    ir::Value* w = b.conv(h0, "dw", c, c, 3, 1, 1, 1, c);
    ir::Value* clip1 = clip6(b.node("Add", {scalar(b, 3), w}, "hs1_add"), "hs1_clip");
    ir::Value* h1 = b.node("Mul", {b.node("Mul", {clip1, scalar(b, 1.0f / 6)}, "hs1_scale"), w}, "hs1_mul");
    // PyTorch before opset 14: v * HardSigmoid(v) with alpha 1/6.
    ir::Value* u = b.conv(h1, "pw", c, c, 1);
    ir::Node* hsig = b.g.add_node("HardSigmoid", "", {u}, {"hs2_sig_out"}, "hs2_sig");
    hsig->set_attr(ir::Attribute::make_float("alpha", 1.0f / 6));
    ir::Value* h2 = b.node("Mul", {u, hsig->output(0)}, "hs2_mul");
    // Squeeze-excite with Paddle's HardSigmoid (alpha 0.2): a conv post-op, then the broadcast Mul.
    ir::Value* gap = b.node("GlobalAveragePool", {h2}, "gap");
    ir::Value* r = b.node("Relu", {b.conv(gap, "se_reduce", c, 4, 1)}, "se_relu");
    ir::Value* gate = b.node("HardSigmoid", {b.conv(r, "se_expand", 4, c, 1)}, "se_gate");
    ir::Value* scaled = b.node("Mul", {h2, gate}, "se_mul");
    ir::Value* h3 = b.node("HardSwish", {b.conv(scaled, "proj", c, c, 1)}, "hswish");
    // Not a hard-swish (adds 2.5): stays on cpu, and so do the nodes after it that read it.
    ir::Value* z = b.conv(h3, "last", c, c, 1);
    ir::Value* clip4 = clip6(b.node("Add", {z, scalar(b, 2.5f)}, "no_add"), "no_clip");
    b.g.add_output(b.node("Div", {b.node("Mul", {z, clip4}, "no_mul"), scalar(b, 6)}, "no_div"));
    compare(b.m, {feed("x", {1, 3, 9, 9}, rng)}, {"no_add", "no_clip", "no_mul", "no_div"}, threads);
  }
}

// Resize(x; scales) or Resize(x; sizes) at opset 13, mode and coordinate mode as given.
ir::Value* resize(Builder& b, ir::Value* x, const std::string& name, const std::string& mode, const std::string& coord,
                  std::vector<float> scales, std::vector<int64_t> sizes = {}) {
  ir::Value* sc = nullptr;
  ir::Value* sz = nullptr;
  if (sizes.empty()) {
    Tensor t(DType::Float, {static_cast<int64_t>(scales.size())});
    std::copy(scales.begin(), scales.end(), t.mutable_data<float>());
    sc = b.init(t);
  } else {
    Tensor t(DType::Int64, {static_cast<int64_t>(sizes.size())});
    std::copy(sizes.begin(), sizes.end(), t.mutable_data<int64_t>());
    sz = b.init(t);
  }
  ir::Node* n = b.g.add_node("Resize", "", {x, nullptr, sc, sz}, {name + "_out"}, name);
  n->set_attr(ir::Attribute::make_string("mode", mode));
  n->set_attr(ir::Attribute::make_string("coordinate_transformation_mode", coord));
  if (mode == "nearest") n->set_attr(ir::Attribute::make_string("nearest_mode", "floor"));
  return n->output(0);
}

TEST_CASE("dnnl region: Resize in an FPN (nearest and linear, NHWC inside, NCHW at the borders)") {
  std::mt19937 rng(22);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    Builder b(rng);
    ir::Value* x = b.input("x", Shape{Dim::known(2), Dim::known(3), Dim::known(16), Dim::known(16)});
    ir::Value* c2 = b.node("Relu", {b.conv(x, "c2", 3, 6, 3, 2, 1)}, "r2");    // 8x8
    ir::Value* c3 = b.node("Relu", {b.conv(c2, "c3", 6, 6, 3, 2, 1)}, "r3");   // 4x4
    ir::Value* c4 = b.node("Relu", {b.conv(c3, "c4", 6, 6, 3, 2, 1)}, "r4");   // 2x2
    ir::Value* p3 = b.node("Add", {resize(b, c4, "up4", "nearest", "asymmetric", {1, 1, 2, 2}), c3}, "p3");
    ir::Value* p2 = b.node("Add", {c2, resize(b, p3, "up3", "linear", "half_pixel", {}, {2, 6, 8, 8})}, "p2");
    ir::Node* cat = b.g.add_node("Concat", "",
                                 {p2, resize(b, p3, "up3b", "linear", "align_corners", {1, 1, 2, 2}),
                                  resize(b, c4, "up4b", "nearest", "asymmetric", {1, 1, 4, 4})},
                                 {"cat_out"}, "cat");
    cat->set_attr(ir::Attribute::make_int("axis", 1));
    b.g.add_output(b.conv(cat->output(0), "head", 18, 2, 3, 1, 1));
    // A Resize whose output leaves the region (NHWC in, NCHW out), and one resizing the channels
    // (the fast path declines it: the reference on an NCHW copy).
    b.g.add_output(resize(b, c3, "up_out", "linear", "pytorch_half_pixel", {1, 1, 1.5f, 2.5f}));
    b.g.add_output(b.conv(resize(b, c3, "up_chan", "nearest", "asymmetric", {1, 2, 2, 2}), "after", 12, 2, 1));
    compare(b.m, {feed("x", {2, 3, 16, 16}, rng)}, {}, threads);
  }
}

}  // namespace

#endif  // ORTOOL_HAVE_DNNL
