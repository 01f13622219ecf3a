// Tests of the dnnl provider's int8 steps between groups (dnnl_int8_ops.cpp): tables for elementwise chains,
// Add/Mul, GlobalAveragePool, MaxPool, AveragePool, Resize (nearest) and Concat between DQ and Q, against the
// cpu reference kernels, in plain layout (graph inputs) and inside NHWC int8 regions (between exact int8
// steps); and the ConvTranspose groups (dnnl_int8.cpp) there too, within one step (the conv groups are in
// test_dnnl_int8.cpp).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
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

#ifdef ORTOOL_HAVE_DNNL

namespace {

int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }
float pickf(std::mt19937& rng, float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); }

struct Q8 {
  DType t = DType::UInt8;
  float s = 0.05f;
  int32_t z = 0;
  static Q8 random(std::mt19937& rng) {
    Q8 q;
    q.t = pick(rng, 0, 2) == 0 ? DType::Int8 : DType::UInt8;
    q.s = pickf(rng, 0.01f, 0.1f);
    q.z = q.t == DType::UInt8 ? static_cast<int32_t>(pick(rng, 0, 255)) : static_cast<int32_t>(pick(rng, -128, 127));
    return q;
  }
};

Tensor scalar_f(float v) {
  Tensor t(DType::Float, {});
  t.mutable_data<float>()[0] = v;
  return t;
}
Tensor scalar_q(DType type, int32_t v) {
  Tensor t(type, {});
  if (type == DType::UInt8) t.mutable_data<uint8_t>()[0] = static_cast<uint8_t>(v);
  else t.mutable_data<int8_t>()[0] = static_cast<int8_t>(v);
  return t;
}
Shape shape_of(const std::vector<int64_t>& d) {
  Shape s;
  for (int64_t v : d) s.push_back(Dim::known(v));
  return s;
}

// Builds graphs of 8-bit tensors: inputs, DQ, Q, and 1x1 MaxPools (to put values in NHWC regions).
struct Builder {
  std::unique_ptr<ir::Model> m = std::make_unique<ir::Model>();
  ir::Graph& g = *m->graph;
  std::mt19937& rng;
  int k = 0;
  std::map<std::string, RValue> feeds;
  explicit Builder(std::mt19937& r) : rng(r) { m->set_opset("", 14); }  // 14: HardSwish
  std::string name(const std::string& base) { return fmt::format("{}{}", base, k++); }

  ir::Value* input(const Q8& q, const std::vector<int64_t>& d) {
    ir::Value* v = g.add_value(name("x"));
    v->type = Type::tensor(q.t, shape_of(d));
    g.add_input(v);
    feeds[v->name()] = RValue(random_q8(q.t, d, rng));
    return v;
  }
  ir::Value* dq(ir::Value* x, const Q8& q) {
    const std::string n = name("dq");
    return g.add_node("DequantizeLinear", "", {x, initializer(g, n + "_s", scalar_f(q.s)), initializer(g, n + "_z", scalar_q(q.t, q.z))},
                      {n + "_y"}, n)->output(0);
  }
  ir::Value* q(ir::Value* f, const Q8& q, const std::vector<int64_t>& d) {
    const std::string n = name("q");
    ir::Value* v = g.add_node("QuantizeLinear", "", {f, initializer(g, n + "_s", scalar_f(q.s)), initializer(g, n + "_z", scalar_q(q.t, q.z))},
                              {n + "_y"}, n)->output(0);
    v->type = Type::tensor(q.t, shape_of(d));
    return v;
  }
  // x (params qx) requantized to qy by an int8 1x1 MaxPool (exact), whose output is NHWC on dnnl when
  // its readers take that: puts a value inside an NHWC region.
  ir::Value* into_region(ir::Value* x, const Q8& qx, const Q8& qy, const std::vector<int64_t>& d) {
    ir::Node* p = g.add_node("MaxPool", "", {dq(x, qx)}, {name("id")}, name("id"));
    p->set_attr(ir::Attribute::make_ints("kernel_shape", {1, 1}));
    return q(p->output(0), qy, d);
  }
  // The 8-bit tensor `x` (params qx) as the graph output; when `region`, through a 1x1 int8 MaxPool (exact,
  // reads NHWC), so `x` stays inside the NHWC region.
  void output(ir::Value* x, const Q8& qx, const std::vector<int64_t>& d, bool region) {
    if (!region || d.size() != 4) {
      g.add_output(x);
      return;
    }
    g.add_output(into_region(x, qx, qx, d));
  }
};

// Runs on cpu and on dnnl,cpu: every node on dnnl, outputs within `tol` steps (0: equal); returns the
// number of elements off, and counts in `inside` (when given) the reference's elements strictly inside their
// type's range (not saturated).
int64_t check(Builder& b, const std::string& what, int tol, int threads = 1, int64_t* inside = nullptr) {
  INFO(what);
  const Ran ref = run(*b.m, {"cpu"}, b.feeds);
  const Ran got = run(*b.m, {"dnnl", "cpu"}, b.feeds, threads);
  for (const auto& t : got.timings) CHECK_MESSAGE(t.provider == "dnnl", t.node->describe());
  // No float op ran alone: every op sits in a step with its DQ/Q (or moves 8-bit values: an 8-bit Slice).
  for (const auto& t : got.timings) {
    const DType out = t.node->output(0)->type.elem;
    CHECK_MESSAGE((t.fused_nodes > 1 || t.node->op_type() == "DequantizeLinear" || out == DType::UInt8 || out == DType::Int8),
                  t.node->describe());
  }
  int64_t off = 0;
  for (size_t i = 0; i < ref.outputs.size(); ++i) {
    const Tensor &r = ref.outputs[i].tensor, &o = got.outputs[i].tensor;
    REQUIRE(o.dtype() == r.dtype());
    REQUIRE(o.dims() == r.dims());
    const double lo = r.dtype() == DType::UInt8 ? 0 : -128, hi = r.dtype() == DType::UInt8 ? 255 : 127;
    for (int64_t e = 0; e < r.numel(); ++e) {
      const double d = std::fabs(o.get_double(e) - r.get_double(e));
      CHECK(d <= tol);
      off += d != 0;
      if (inside) *inside += r.get_double(e) > lo && r.get_double(e) < hi;
    }
  }
  return off;
}

int64_t numel_of(const std::vector<int64_t>& d) {
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  return n;
}

std::vector<int64_t> random_dims(std::mt19937& rng) { return {pick(rng, 1, 2), pick(rng, 1, 19), pick(rng, 1, 9), pick(rng, 1, 9)}; }

TEST_CASE("dnnl int8 tables: elementwise chains between DQ and Q equal the cpu reference") {
  std::mt19937 rng(41);
  for (int iter = 0; iter < 24; ++iter) {
    Builder b(rng);
    const auto d = random_dims(rng);
    const Q8 qx = Q8::random(rng), qy = Q8::random(rng), qm = Q8::random(rng);
    const bool region = iter % 2 == 1;
    ir::Value* x = b.input(qx, d);
    Q8 qin = qx;
    if (region) {
      qin = Q8::random(rng);
      x = b.into_region(x, qx, qin, d);
    }
    ir::Value* f = b.dq(x, qin);
    ir::Value* y = nullptr;
    const int kind = iter % 4;
    std::string name;
    if (kind == 0) {  // SiLU as the quantizer writes it: Sigmoid, Q, DQ, Mul, Q
      name = "SiLU";
      ir::Value* s = b.g.add_node("Sigmoid", "", {f}, {"sig"}, "sig")->output(0);
      ir::Value* sd = b.dq(b.q(s, qm, d), qm);
      y = b.q(b.g.add_node("Mul", "", {f, sd}, {"mul"}, "mul")->output(0), qy, d);
    } else if (kind == 1) {
      name = "HardSwish";
      y = b.q(b.g.add_node("HardSwish", "", {f}, {"hs"}, "hs")->output(0), qy, d);
    } else if (kind == 2) {  // hard-swish written out, constants as scalars
      name = "x * Clip(x + 3, 0, 6) / 6";
      ir::Value* a = b.g.add_node("Add", "", {f, initializer(b.g, "three", scalar_f(3))}, {"a"}, "a")->output(0);
      ir::Value* c = b.g.add_node("Clip", "", {a, initializer(b.g, "lo", scalar_f(0)), initializer(b.g, "hi", scalar_f(6))},
                                  {"c"}, "c")->output(0);
      ir::Value* m = b.g.add_node("Mul", "", {f, c}, {"m"}, "m")->output(0);
      y = b.q(b.g.add_node("Div", "", {m, initializer(b.g, "six", scalar_f(6))}, {"dv"}, "dv")->output(0), qy, d);
    } else {  // a plain requantization
      name = "DQ -> Q";
      y = b.q(f, qy, d);
    }
    b.output(y, qy, d, region);
    check(b, fmt::format("case {}: {} region {} dims {},{},{},{}", iter, name, region, d[0], d[1], d[2], d[3]), 0, iter % 3 == 0 ? 2 : 1);
  }
}

TEST_CASE("dnnl int8 Add and Mul between DQ and Q equal the cpu reference (same shape, per channel, scalar, mixed layouts)") {
  std::mt19937 rng(42);
  for (int iter = 0; iter < 40; ++iter) {
    Builder b(rng);
    const auto d = random_dims(rng);
    Q8 qa = Q8::random(rng), qb = Q8::random(rng), qy = Q8::random(rng);
    if (iter % 4 == 1) {  // scales that put many results exactly on rounding ties
      qa.s = qb.s = 0.05f;
      qy.s = 0.1f;
    }
    const int shape = iter % 3;  // 0: same, 1: [1 or N, C, 1, 1], 2: scalar
    std::vector<int64_t> db = d;
    if (shape == 1) db = {pick(rng, 0, 1) ? d[0] : 1, d[1], 1, 1};
    if (shape == 2) db = {};
    // Operands from graph inputs (plain) or inside a region (NHWC), independently: mixed layouts too.
    const bool ra = pick(rng, 0, 1) == 1, rb = shape == 0 && pick(rng, 0, 1) == 1;
    ir::Value* a = b.input(ra ? Q8::random(rng) : qa, d);
    if (ra) a = b.into_region(a, Q8{a->type.elem, 0.05f, 0}, qa, d);
    ir::Value* bb = nullptr;
    if (shape == 2) {
      bb = initializer(b.g, "bconst", random_q8(qb.t, {}, rng));
    } else {
      bb = b.input(rb ? Q8::random(rng) : qb, db);
      if (rb) bb = b.into_region(bb, Q8{bb->type.elem, 0.05f, 0}, qb, db);
    }
    const bool mul = iter % 2 == 0, swap = iter % 5 == 0;
    ir::Value* fa = b.dq(a, qa);
    ir::Value* fb = b.dq(bb, qb);
    ir::Value* o = b.g.add_node(mul ? "Mul" : "Add", "", {swap ? fb : fa, swap ? fa : fb}, {"o"}, "op")->output(0);
    ir::Value* y = b.q(o, qy, d);
    b.output(y, qy, d, pick(rng, 0, 1) == 1);
    check(b, fmt::format("case {}: {} shape kind {} swap {} a in region {} b in region {} dims {},{},{},{}", iter,
                         mul ? "Mul" : "Add", shape, swap, ra, rb, d[0], d[1], d[2], d[3]),
          0, iter % 2 + 1);
  }
}

TEST_CASE("dnnl int8 GlobalAveragePool between DQ and Q is within one step of the cpu reference") {
  std::mt19937 rng(43);
  int64_t off = 0, total = 0;
  for (int iter = 0; iter < 20; ++iter) {
    Builder b(rng);
    auto d = random_dims(rng);
    d[2] = pick(rng, 1, 20);
    const Q8 qx = Q8::random(rng), qy{qx.t, qx.s * pickf(rng, 0.3f, 1.0f), qx.z};
    const bool region = iter % 2 == 1;
    ir::Value* x = b.input(region ? Q8::random(rng) : qx, d);
    if (region) x = b.into_region(x, Q8{x->type.elem, 0.05f, 0}, qx, d);
    ir::Value* p = b.g.add_node("GlobalAveragePool", "", {b.dq(x, qx)}, {"gap"}, "gap")->output(0);
    const std::vector<int64_t> od{d[0], d[1], 1, 1};
    b.output(b.q(p, qy, od), qy, od, false);
    off += check(b, fmt::format("case {}: region {} dims {},{},{},{}", iter, region, d[0], d[1], d[2], d[3]), 1);
    total += d[0] * d[1];
  }
  CHECK(off <= std::max<int64_t>(2, total / 20));  // rounding edges only
}

// A pool's output dim as the cpu kernel computes it (for the declared shape the next step needs).
int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t dl, int64_t p0, int64_t p1, bool ceil) {
  const double v = static_cast<double>(in + p0 + p1 - ((k - 1) * dl + 1)) / static_cast<double>(s);
  int64_t o = static_cast<int64_t>(ceil ? std::ceil(v) : std::floor(v)) + 1;
  if (ceil && (o - 1) * s >= in + p0) --o;
  return o;
}

// A random 2-D pool window over input dims d (rows and columns set here, `min_hw` to 12): a kernel up to
// `max_kh` x 3, strides up to `max_sh` x 2, a row dilation of 2 one time in four, pads below the kernel.
struct PoolWindow {
  int64_t kh = 1, kw = 1;
  std::vector<int64_t> strides, dil, pads;
  bool ceil = false;

  static PoolWindow random(std::mt19937& rng, std::vector<int64_t>& d, int64_t min_hw, int64_t max_kh, int64_t max_sh) {
    PoolWindow w;
    d[2] = pick(rng, min_hw, 12);
    d[3] = pick(rng, min_hw, 12);
    w.kh = pick(rng, 1, max_kh);
    w.kw = pick(rng, 1, 3);
    w.strides = {pick(rng, 1, max_sh), pick(rng, 1, 2)};
    w.dil = {pick(rng, 0, 3) == 0 ? 2 : 1, 1};
    w.pads = {pick(rng, 0, w.kh - 1), pick(rng, 0, w.kw - 1), pick(rng, 0, w.kh - 1), pick(rng, 0, w.kw - 1)};
    w.ceil = pick(rng, 0, 1) == 1;
    return w;
  }
  // Whether the (dilated) kernel fits the padded input.
  bool fits(const std::vector<int64_t>& d) const {
    return (kh - 1) * dil[0] + 1 <= d[2] + pads[0] + pads[2] && kw <= d[3] + pads[1] + pads[3];
  }
  void apply(ir::Node& n) const {
    n.set_attr(ir::Attribute::make_ints("kernel_shape", {kh, kw}));
    n.set_attr(ir::Attribute::make_ints("strides", strides));
    n.set_attr(ir::Attribute::make_ints("dilations", dil));
    n.set_attr(ir::Attribute::make_ints("pads", pads));
    n.set_attr(ir::Attribute::make_int("ceil_mode", ceil));
  }
  std::vector<int64_t> out_dims(const std::vector<int64_t>& d) const {
    return {d[0], d[1], pool_out(d[2], kh, strides[0], dil[0], pads[0], pads[2], ceil),
            pool_out(d[3], kw, strides[1], dil[1], pads[1], pads[3], ceil)};
  }
  std::string describe() const {
    return fmt::format("k{}x{} s{},{} d{} p{},{},{},{} ceil {}", kh, kw, strides[0], strides[1], dil[0], pads[0], pads[1],
                       pads[2], pads[3], ceil);
  }
};

TEST_CASE("dnnl int8 MaxPool between DQ and Q equals the cpu reference (pads, strides, dilations, ceil_mode)") {
  std::mt19937 rng(44);
  for (int iter = 0; iter < 30; ++iter) {
    Builder b(rng);
    auto d = random_dims(rng);
    PoolWindow win = PoolWindow::random(rng, d, 3, 3, 2);
    if (iter % 6 == 5) {  // a stem's pool: 3x3 over a 40-48 pixel map of 24-40 channels, split over two threads
      d = {1, pick(rng, 24, 40), pick(rng, 40, 48), pick(rng, 40, 48)};
      win.kh = win.kw = 3;
      win.dil = {1, 1};
    }
    const Q8 qx = Q8::random(rng), qy = pick(rng, 0, 1) ? qx : Q8::random(rng);
    const bool region = iter % 2 == 1;
    ir::Value* x = b.input(region ? Q8::random(rng) : qx, d);
    if (region) x = b.into_region(x, Q8{x->type.elem, 0.05f, 0}, qx, d);
    ir::Node* n = b.g.add_node("MaxPool", "", {b.dq(x, qx)}, {"mp"}, "mp");
    win.apply(*n);
    const std::vector<int64_t> od = win.out_dims(d);
    b.output(b.q(n->output(0), qy, od), qy, od, iter % 4 >= 2);
    check(b, fmt::format("case {}: region {} dims {},{},{},{} {} same params {}", iter, region, d[0], d[1], d[2], d[3],
                         win.describe(), qx.s == qy.s && qx.z == qy.z && qx.t == qy.t),
          0, iter % 2 + 1);
  }
}

TEST_CASE("dnnl int8 Concat along channels between DQ and Q equals the cpu reference (mixed parameters, layouts)") {
  std::mt19937 rng(45);
  for (int iter = 0; iter < 24; ++iter) {
    Builder b(rng);
    auto d = random_dims(rng);
    const bool big = iter % 6 == 5;  // 20-40 channels per part on a 40-48 pixel map: split over two threads
    if (big) d = {1, 0, pick(rng, 40, 48), pick(rng, 40, 48)};
    const Q8 qy = Q8::random(rng);
    const int64_t parts = pick(rng, 1, 3);
    std::vector<ir::Value*> ins;
    int64_t c = 0;
    for (int64_t p = 0; p < parts; ++p) {
      std::vector<int64_t> dp = d;
      dp[1] = big ? pick(rng, 20, 40) : pick(rng, 1, 9);
      c += dp[1];
      Q8 qp = pick(rng, 0, 1) ? qy : Q8::random(rng);
      if (qp.t != qy.t) qp = qy;  // one type per Concat (the reference's rule for its inputs: one element type)
      const bool region = pick(rng, 0, 1) == 1;
      ir::Value* x = b.input(region ? Q8::random(rng) : qp, dp);
      if (region) x = b.into_region(x, Q8{x->type.elem, 0.05f, 0}, qp, dp);
      ins.push_back(b.dq(x, qp));
    }
    ir::Node* n = b.g.add_node("Concat", "", ins, {"cat"}, "cat");
    n->set_attr(ir::Attribute::make_int("axis", iter % 2 ? 1 : -3));
    const std::vector<int64_t> od{d[0], c, d[2], d[3]};
    b.output(b.q(n->output(0), qy, od), qy, od, iter % 3 == 0);
    check(b, fmt::format("case {}: {} parts dims {},{},{},{}", iter, parts, d[0], c, d[2], d[3]), 0, iter % 2 + 1);
  }
}

Tensor ints(const std::vector<int64_t>& v) {
  Tensor t(DType::Int64, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.mutable_data<int64_t>());
  return t;
}

TEST_CASE("dnnl int8 channel shuffle and channel Slices between DQ and Q equal the cpu reference") {
  std::mt19937 rng(46);
  for (int iter = 0; iter < 16; ++iter) {
    Builder b(rng);
    // Every fourth case ShuffleNet's two groups of 17-40 channels on a larger map: the vector interleave and
    // its tail, split over two threads.
    const bool wide = iter % 4 == 3;
    const int64_t g = wide ? 2 : pick(rng, 1, 4), cg = wide ? pick(rng, 17, 40) : pick(rng, 1, 6), c = g * cg;
    const std::vector<int64_t> d{pick(rng, 1, 2), c, wide ? pick(rng, 40, 48) : pick(rng, 1, 7),
                                 wide ? pick(rng, 40, 48) : pick(rng, 1, 7)};
    const Q8 q = Q8::random(rng);
    const bool region = iter % 2 == 1;
    ir::Value* x = b.input(region ? Q8::random(rng) : q, d);
    if (region) x = b.into_region(x, Q8{x->type.elem, 0.05f, 0}, q, d);
    // Reshape [N, g, C/g, H, W] (with a 0 and a -1, as exporters write), Transpose, Reshape back; Q/DQ between,
    // or (cases 4-7 of every 8) the moves on the 8-bit tensor itself, as drop_qdq_around_moves leaves them.
    const bool moves8 = iter % 8 >= 4;
    auto typed = [&](ir::Value* v, const std::vector<int64_t>& dims) {
      v->type = Type::tensor(q.t, shape_of(dims));
      return v;
    };
    const std::vector<int64_t> d5{d[0], g, cg, d[2], d[3]}, t5{d[0], cg, g, d[2], d[3]};
    ir::Value* r5 = b.g.add_node("Reshape", "", {moves8 ? x : b.dq(x, q), initializer(b.g, "s5", ints({0, g, -1, d[2], d[3]}))},
                                 {"r5"}, "r5")->output(0);
    ir::Node* tr = b.g.add_node("Transpose", "", {moves8 ? typed(r5, d5) : b.dq(b.q(r5, q, d5), q)}, {"t5"}, "tr");
    tr->set_attr(ir::Attribute::make_ints("perm", {0, 2, 1, 3, 4}));
    ir::Value* r4 = b.g.add_node("Reshape", "", {moves8 ? typed(tr->output(0), t5) : b.dq(b.q(tr->output(0), q, t5), q),
                                                 initializer(b.g, "s4", ints({d[0], c, d[2], d[3]}))},
                                 {"r4"}, "r4")->output(0);
    ir::Value* shuffled = moves8 ? typed(r4, d) : b.dq(b.q(r4, q, d), q);  // read by both Slices: carried as 8-bit
    const int64_t half = c / 2;
    int k = 0;
    for (const auto& [st, en] : {std::pair<int64_t, int64_t>{0, half}, std::pair<int64_t, int64_t>{half - c, INT64_MAX}}) {
      const std::string n = fmt::format("slice{}", k++);
      ir::Value* sl = b.g.add_node("Slice", "", {shuffled, initializer(b.g, n + "_b", ints({st})), initializer(b.g, n + "_e", ints({en})),
                                                 initializer(b.g, n + "_a", ints({iter % 3 == 0 ? -3 : 1}))},
                                   {n}, n)->output(0);
      const std::vector<int64_t> od{d[0], st == 0 ? half : c - half, d[2], d[3]};
      ir::Value* out = moves8 ? typed(sl, od) : b.q(sl, q, od);
      if (od[1] > 0) b.output(out, q, od, iter % 4 >= 2);
      else b.g.add_output(out);
    }
    check(b, fmt::format("case {}: g {} C/g {} region {} moves8 {} dims {},{},{},{}", iter, g, cg, region, moves8, d[0], d[1], d[2], d[3]), 0,
          iter % 2 + 1);
  }
}

TEST_CASE("dnnl int8 MatMul of two activations between DQ and Q is within one step of the cpu reference (batch "
          "broadcast, ranks 2-4, panel tails)") {
  std::mt19937 rng(47);
  int64_t off = 0, total = 0, inside = 0;
  for (int iter = 0; iter < 24; ++iter) {
    Builder b(rng);
    // The last two cases have rows and work enough for the GEMM's equal row tiles at two threads (case 23).
    const bool big = iter >= 22;
    const int64_t m = big ? pick(rng, 96, 200) : pick(rng, 1, 40), k = big ? pick(rng, 200, 300) : pick(rng, 1, 70),
                  n = big ? pick(rng, 40, 80) : pick(rng, 1, 40);
    // Batch dims: none, or up to two with 1s that broadcast on either side (attention: [1, heads, S, D]).
    std::vector<int64_t> ba, bb;
    const int rank = static_cast<int>(pick(rng, 0, 2));
    for (int i = 0; i < rank; ++i) {
      const int64_t d = pick(rng, 1, 4);
      const int64_t kind = pick(rng, 0, 2);  // both d, A 1, B 1
      ba.push_back(kind == 1 ? 1 : d);
      bb.push_back(kind == 2 ? 1 : d);
    }
    if (iter % 5 == 4 && !bb.empty()) bb.erase(bb.begin());  // B of lower rank
    std::vector<int64_t> ad = ba, bd = bb;
    ad.insert(ad.end(), {m, k});
    bd.insert(bd.end(), {k, n});
    std::vector<int64_t> yd;
    for (size_t i = 0; i < ba.size(); ++i) {
      const size_t j = i + bb.size() - ba.size();
      yd.push_back(i + bb.size() < ba.size() ? ba[i] : std::max(ba[i], bb[j]));
    }
    yd.insert(yd.end(), {m, n});
    const Q8 qa = Q8::random(rng), qb = Q8::random(rng);
    Q8 qy = Q8::random(rng);
    qy.s = qa.s * qb.s * std::sqrt(static_cast<float>(k)) * pickf(rng, 150.0f, 400.0f);  // outputs mostly in range
    ir::Value* a = b.input(qa, ad);
    ir::Value* bv = b.input(qb, bd);
    ir::Value* y = b.g.add_node("MatMul", "", {b.dq(a, qa), b.dq(bv, qb)}, {"mm"}, "mm")->output(0);
    b.g.add_output(b.q(y, qy, yd));
    off += check(b, fmt::format("case {}: A {} B {}", iter, fmt::join(ad, "x"), fmt::join(bd, "x")), 1, iter % 2 + 1, &inside);
    total += numel_of(yd);
  }
  INFO(off << " of " << total << " elements a step off, " << inside << " inside the range");
  CHECK(off * 100 <= total);      // rare: only where the float products round the other way
  CHECK(inside * 2 >= total);     // the comparison is not all saturated
}

TEST_CASE("dnnl int8 Softmax between DQ and Q is within one step of the cpu reference (last axis, any rank)") {
  std::mt19937 rng(48);
  int64_t off = 0, total = 0, inside = 0;
  for (int iter = 0; iter < 16; ++iter) {
    Builder b(rng);
    std::vector<int64_t> d;
    const int rank = static_cast<int>(pick(rng, 1, 4));
    for (int i = 0; i < rank; ++i) d.push_back(pick(rng, 1, i + 1 == rank ? 300 : 6));
    Q8 qx = Q8::random(rng);
    qx.s = pickf(rng, 0.004f, 0.03f);  // logits a few units apart, as attention scores: outputs spread over the range
    Q8 qy;
    qy.t = iter % 3 == 0 ? DType::Int8 : DType::UInt8;
    qy.s = 1.0f / 256;
    qy.z = qy.t == DType::Int8 ? -128 : 0;
    ir::Node* sm = b.g.add_node("Softmax", "", {b.dq(b.input(qx, d), qx)}, {"sm"}, "sm");
    if (iter % 2 == 1) sm->set_attr(ir::Attribute::make_int("axis", rank - 1));
    b.g.add_output(b.q(sm->output(0), qy, d));
    off += check(b, fmt::format("case {}: dims {}", iter, fmt::join(d, "x")), 1, iter % 2 + 1, &inside);
    total += numel_of(d);
  }
  INFO(off << " of " << total << " elements a step off, " << inside << " inside the range");
  CHECK(off * 100 <= total);   // the table's exp is within an ulp of the float kernel's: ties are rare
  CHECK(inside * 2 >= total);  // not all saturated (or zero)
}

TEST_CASE("dnnl int8 LayerNormalization between DQ and Q is within one step of the cpu reference (last axis, "
          "opset 17 and the runtime's domain, one or n gamma/beta values)") {
  std::mt19937 rng(49);
  int64_t off = 0, total = 0, inside = 0;
  for (int iter = 0; iter < 16; ++iter) {
    Builder b(rng);
    const bool runtime_domain = iter % 2 == 0;
    if (runtime_domain) b.m->set_opset(std::string(kRuntimeDomain), 1);
    else b.m->set_opset("", 17);
    std::vector<int64_t> d;
    const int rank = static_cast<int>(pick(rng, 1, 4));
    for (int i = 0; i < rank; ++i) d.push_back(pick(rng, 1, i + 1 == rank ? 300 : 6));
    const int64_t n = d.back();
    const bool one = iter % 5 == 3;  // one gamma and beta value for the whole row
    Tensor gamma(DType::Float, {one ? 1 : n}), beta(DType::Float, {one ? 1 : n});
    for (int64_t i = 0; i < gamma.numel(); ++i) {
      gamma.mutable_data<float>()[i] = pickf(rng, 0.5f, 2.0f);
      beta.mutable_data<float>()[i] = pickf(rng, -0.5f, 0.5f);
    }
    const Q8 qx = Q8::random(rng);
    std::vector<ir::Value*> ins{b.dq(b.input(qx, d), qx), initializer(b.g, "gamma", std::move(gamma))};
    if (iter % 3 != 1) ins.push_back(initializer(b.g, "beta", std::move(beta)));
    ir::Node* ln = b.g.add_node("LayerNormalization", runtime_domain ? std::string(kRuntimeDomain) : "", ins, {"ln"}, "ln");
    if (iter % 4 == 1) ln->set_attr(ir::Attribute::make_int("axis", rank - 1));
    if (iter % 4 == 2) ln->set_attr(ir::Attribute::make_float("epsilon", 1e-3f));
    Q8 qy = Q8::random(rng);
    qy.s = pickf(rng, 0.01f, 0.03f);  // normalized values within a few units: most outputs inside the range
    qy.z = qy.t == DType::Int8 ? 0 : 128;
    b.g.add_output(b.q(ln->output(0), qy, d));
    off += check(b, fmt::format("case {}: dims {}", iter, fmt::join(d, "x")), 1, iter % 2 + 1, &inside);
    total += numel_of(d);
  }
  INFO(off << " of " << total << " elements a step off, " << inside << " inside the range");
  CHECK(off * 100 <= total);   // float statistics against the reference's double: ties are rare
  CHECK(inside * 2 >= total);  // not all saturated
}

// An int8 weight DequantizeLinear (per channel along `axis` when `scales` has several values) and an int32 bias
// DequantizeLinear in accumulator units (x_scale * w_scale), as quantizers write them; returns (weight, bias).
std::pair<ir::Value*, ir::Value*> weight_and_bias(Builder& b, std::vector<int64_t> wd, const std::vector<float>& scales,
                                                  int64_t axis, float x_scale, int64_t m, bool bias) {
  Tensor w(DType::Int8, std::move(wd));
  for (int64_t i = 0; i < w.numel(); ++i) w.mutable_data<int8_t>()[i] = static_cast<int8_t>(pick(b.rng, -127, 127));
  Tensor ws(DType::Float, scales.size() == 1 ? std::vector<int64_t>{} : std::vector<int64_t>{static_cast<int64_t>(scales.size())});
  std::copy(scales.begin(), scales.end(), ws.mutable_data<float>());
  ir::Node* dw = b.g.add_node("DequantizeLinear", "", {initializer(b.g, "wq", std::move(w)), initializer(b.g, "ws", std::move(ws))},
                              {"wf"}, "dq_w");
  if (scales.size() > 1) dw->set_attr(ir::Attribute::make_int("axis", axis));
  if (!bias) return {dw->output(0), nullptr};
  Tensor bq(DType::Int32, {m}), bs(DType::Float, {m});
  for (int64_t i = 0; i < m; ++i) {
    bq.mutable_data<int32_t>()[i] = static_cast<int32_t>(pick(b.rng, -3000, 3000));
    bs.mutable_data<float>()[i] = x_scale * scales[scales.size() == 1 ? 0 : static_cast<size_t>(i)];
  }
  ir::Node* db = b.g.add_node("DequantizeLinear", "", {initializer(b.g, "bq", std::move(bq)), initializer(b.g, "bs", std::move(bs))},
                              {"bf"}, "dq_b");
  db->set_attr(ir::Attribute::make_int("axis", 0));
  return {dw->output(0), db->output(0)};
}

TEST_CASE("dnnl int8 ConvTranspose groups are within one step of the cpu reference (pads, output_padding, auto_pad, "
          "output_shape, groups, layouts)") {
  std::mt19937 rng(47);
  const bool vnni = rt::dnnl_ep::int8_exact_on_this_cpu();
  int64_t off = 0, total = 0, inside = 0, checked = 0, skipped = 0;
  for (int iter = 0; iter < 48; ++iter) {
    Builder b(rng);
    const Q8 qx = Q8::random(rng), qy0 = Q8::random(rng);
    int64_t group = 1, cg = pick(rng, 1, 9), mg = pick(rng, 1, 9);
    if (iter % 4 == 2) group = pick(rng, 2, 3);
    if (iter % 4 == 3) {  // depthwise upsampling
      group = pick(rng, 2, 8);
      cg = mg = 1;
    }
    // Geometry: explicit pads and output_padding, SAME_UPPER/SAME_LOWER, or an output_shape.
    const int64_t how = iter % 6;
    // Every 12th case the upsampling of U-Nets (kernel == stride, no pads: windows that do not overlap).
    const bool blocks = iter % 12 == 6 || iter % 12 == 7;
    if (blocks) group = 1;
    if (iter % 12 == 7) mg = 1;  // a one-channel upsampled map (a detector's probability map)
    const bool per_channel = group == 1 && pick(rng, 0, 2) != 0, bias = pick(rng, 0, 3) != 0;
    int64_t kh = pick(rng, 1, 4), kw = pick(rng, 1, 3), sh = pick(rng, 1, 3), sw = pick(rng, 1, 2);
    if (blocks) {
      sh = kh;
      sw = kw;
    }
    const int64_t dh = blocks || pick(rng, 0, 3) != 0 ? 1 : 2;
    const int64_t n = pick(rng, 1, 2), h = pick(rng, 1, 7), w = pick(rng, 1, 7), cin = cg * group, m = mg * group;
    const std::string auto_pad = how == 3 ? "SAME_UPPER" : how == 4 ? "SAME_LOWER" : "NOTSET";
    std::vector<int64_t> pads{pick(rng, 0, kh - 1), pick(rng, 0, kw - 1), pick(rng, 0, kh - 1), pick(rng, 0, kw - 1)};
    std::vector<int64_t> opad{pick(rng, 0, std::max(sh, dh) - 1), pick(rng, 0, sw - 1)};
    if (blocks) pads = opad = {};
    if (how == 3 || how == 4) opad = {};  // SAME_*: no output_padding attribute
    pads.resize(4, 0);
    opad.resize(2, 0);
    const int64_t full_h = sh * (h - 1) + opad[0] + (kh - 1) * dh + 1, full_w = sw * (w - 1) + opad[1] + kw;
    std::vector<int64_t> out_shape;
    int64_t oh = full_h - pads[0] - pads[2], ow = full_w - pads[1] - pads[3];
    if (how == 3 || how == 4) {
      oh = h * sh;
      ow = w * sw;
    } else if (how == 5) {
      oh = full_h - pick(rng, 0, std::min<int64_t>(full_h - 1, (kh - 1) * dh));
      ow = full_w - pick(rng, 0, std::min<int64_t>(full_w - 1, kw - 1));
      out_shape = {oh, ow};
    }
    if ((how == 3 || how == 4) && (oh > full_h || ow > full_w)) {  // negative pads: not a real model's
      ++skipped;
      continue;
    }
    std::vector<float> ws(static_cast<size_t>(per_channel ? m : 1));
    for (float& v : ws) v = pickf(rng, 0.002f, 0.02f);
    const double taps = static_cast<double>(cg * kh * kw) / static_cast<double>(sh * sw);
    const Q8 qy{qy0.t, static_cast<float>(qx.s * ws[0] * 74 * 73 * std::sqrt(std::max(taps, 1.0)) / 50 * pickf(rng, 0.5f, 2.0f)),
                qy0.z};
    const bool region = iter % 2 == 1;
    const std::vector<int64_t> xd{n, cin, h, w}, od{n, m, oh, ow};
    ir::Value* x = b.input(region ? Q8::random(rng) : qx, xd);
    if (region) x = b.into_region(x, Q8{x->type.elem, 0.05f, 0}, qx, xd);
    const auto [wf, bf] = weight_and_bias(b, {cin, mg, kh, kw}, ws, 1, qx.s, m, bias);
    std::vector<ir::Value*> ins{b.dq(x, qx), wf};
    if (bf) ins.push_back(bf);
    ir::Node* ct = b.g.add_node("ConvTranspose", "", ins, {"ct"}, "ct");
    ct->set_attr(ir::Attribute::make_int("group", group));
    ct->set_attr(ir::Attribute::make_ints("kernel_shape", {kh, kw}));
    ct->set_attr(ir::Attribute::make_ints("strides", {sh, sw}));
    ct->set_attr(ir::Attribute::make_ints("dilations", {dh, 1}));
    if (how < 3) ct->set_attr(ir::Attribute::make_ints("pads", pads));
    if (how != 3 && how != 4) ct->set_attr(ir::Attribute::make_ints("output_padding", opad));
    if (how == 3 || how == 4) ct->set_attr(ir::Attribute::make_string("auto_pad", auto_pad));
    if (!out_shape.empty()) ct->set_attr(ir::Attribute::make_ints("output_shape", out_shape));
    ir::Value* y = ct->output(0);
    const int64_t act = pick(rng, 0, 2);
    if (act == 1) y = b.g.add_node("Relu", "", {y}, {"relu"}, "relu")->output(0);
    if (act == 2)
      y = b.g.add_node("Clip", "", {y, initializer(b.g, "lo", scalar_f(-0.5f)), initializer(b.g, "hi", scalar_f(2.0f))}, {"clip"},
                       "clip")->output(0);
    b.output(b.q(y, qy, od), qy, od, pick(rng, 0, 1) == 1);
    total += n * m * oh * ow;
    // oneDNN's int8 deconvolution is not exact without VNNI: there the upsampling blocks run on the widened
    // kernels, the other geometries stay on the cpu kernels.
    if (!vnni && !blocks) {
      const Ran got = run(*b.m, {"dnnl", "cpu"}, b.feeds);
      CHECK(ran_by(got.timings, "ct").first == "cpu");
      continue;
    }
    ++checked;
    off += check(b, fmt::format("case {}: x {} s{} z{} y {} s{} z{} n{} g{} cg{} mg{} {}x{} k{}x{} s{},{} d{} pads {},{},{},{} "
                                "opad {},{} auto_pad {} output_shape {} per_channel {} bias {} act {} region {}",
                                iter, dtype_name(qx.t), qx.s, qx.z, dtype_name(qy.t), qy.s, qy.z, n, group, cg, mg, h, w, kh, kw,
                                sh, sw, dh, pads[0], pads[1], pads[2], pads[3], opad[0], opad[1], auto_pad, out_shape.size(),
                                per_channel, bias, act, region),
                 1, iter % 2 + 1, &inside);
  }
  CHECK(off <= std::max<int64_t>(2, total / 50));  // rounding of the reference's float sums only
  if (vnni) CHECK(inside > total / 3);              // not a test of saturation alone
  // With VNNI every generated case runs on oneDNN; without it the widened blocks at least.
  CHECK(checked >= (vnni ? 48 - skipped : 8));
  CHECK(skipped < 12);
}

TEST_CASE("dnnl int8 AveragePool between DQ and Q equals the cpu reference (count_include_pad, pads, strides, "
          "dilations, ceil_mode)") {
  std::mt19937 rng(48);
  int64_t inside = 0, total = 0;
  for (int iter = 0; iter < 40; ++iter) {
    Builder b(rng);
    b.m->set_opset("", 19);  // AveragePool's dilations
    auto d = random_dims(rng);
    const PoolWindow win = PoolWindow::random(rng, d, 2, 4, 3);
    const bool include_pad = pick(rng, 0, 1) == 1;
    if (!win.fits(d)) continue;
    const Q8 qx = Q8::random(rng);
    // The output scale about the input's (averages stay in range), the same parameters at times.
    const Q8 qy = pick(rng, 0, 2) == 0 ? qx : Q8{Q8::random(rng).t, qx.s * pickf(rng, 0.5f, 1.5f), 0};
    Q8 qo = qy;
    if (qy.z == 0) qo.z = qy.t == DType::UInt8 ? static_cast<int32_t>(pick(rng, 60, 200)) : static_cast<int32_t>(pick(rng, -60, 60));
    const bool region = iter % 2 == 1;
    ir::Value* x = b.input(region ? Q8::random(rng) : qx, d);
    if (region) x = b.into_region(x, Q8{x->type.elem, 0.05f, 0}, qx, d);
    ir::Node* n = b.g.add_node("AveragePool", "", {b.dq(x, qx)}, {"ap"}, "ap");
    win.apply(*n);
    n->set_attr(ir::Attribute::make_int("count_include_pad", include_pad));
    const std::vector<int64_t> od = win.out_dims(d);
    b.output(b.q(n->output(0), qo, od), qo, od, iter % 4 >= 2);
    check(b, fmt::format("case {}: region {} dims {},{},{},{} {} count_include_pad {}", iter, region, d[0], d[1], d[2],
                         d[3], win.describe(), include_pad),
          0, iter % 2 + 1, &inside);
    total += numel_of(od);
  }
  CHECK(inside > total / 2);  // averages, mostly inside the range: not a test of saturation alone
}

TEST_CASE("dnnl int8 Resize (nearest) between DQ and Q equals the cpu reference (every nearest_mode and coordinate "
          "transformation, scales and sizes, requantized)") {
  std::mt19937 rng(49);
  const char* nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  const char* coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                          "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  const float factors[] = {2.0f, 3.0f, 1.5f, 0.5f, 0.75f, 1.25f, 2.5f, 0.4f, 1.0f};
  for (int iter = 0; iter < 56; ++iter) {
    Builder b(rng);
    b.m->set_opset("", 19);  // half_pixel_symmetric
    const auto d = random_dims(rng);
    const Q8 qx = Q8::random(rng), qy = pick(rng, 0, 1) ? qx : Q8::random(rng);
    const std::string coord = coords[iter % 7], mode = nearest[(iter / 7) % 4];
    // Output dims: from scales on H and W (C too at times), or from sizes.
    std::vector<float> scales{1.0f, 1.0f, factors[pick(rng, 0, 8)], factors[pick(rng, 0, 8)]};
    if (pick(rng, 0, 5) == 0) scales[1] = factors[pick(rng, 0, 8)];
    const bool use_sizes = pick(rng, 0, 3) == 0;
    std::vector<int64_t> od(4);
    for (size_t i = 0; i < 4; ++i) od[i] = static_cast<int64_t>(std::floor(static_cast<double>(scales[i]) * static_cast<double>(d[i])));
    if (use_sizes) od = {d[0], d[1], pick(rng, 1, 2 * d[2] + 1), pick(rng, 1, 2 * d[3] + 1)};
    const bool region = iter % 2 == 1;
    ir::Value* x = b.input(region ? Q8::random(rng) : qx, d);
    if (region) x = b.into_region(x, Q8{x->type.elem, 0.05f, 0}, qx, d);
    ir::Value* roi = nullptr;
    if (coord == "tf_crop_and_resize") {
      Tensor r(DType::Float, {8});
      const float v[8] = {0, 0, pickf(rng, -0.3f, 0.4f), pickf(rng, -0.3f, 0.4f), 1, 1, pickf(rng, 0.6f, 1.3f), pickf(rng, 0.6f, 1.3f)};
      std::copy(v, v + 8, r.mutable_data<float>());
      roi = initializer(b.g, "roi", std::move(r));
    }
    Tensor sc(DType::Float, {4});
    std::copy(scales.begin(), scales.end(), sc.mutable_data<float>());
    ir::Value* scv = use_sizes ? nullptr : initializer(b.g, "scales", std::move(sc));
    ir::Value* szv = use_sizes ? initializer(b.g, "sizes", ints(od)) : nullptr;
    ir::Node* n = b.g.add_node("Resize", "", {b.dq(x, qx), roi, scv, szv}, {"rs"}, "rs");
    n->set_attr(ir::Attribute::make_string("mode", "nearest"));
    n->set_attr(ir::Attribute::make_string("coordinate_transformation_mode", coord));
    n->set_attr(ir::Attribute::make_string("nearest_mode", mode));
    if (roi) n->set_attr(ir::Attribute::make_float("extrapolation_value", pickf(rng, -2.0f, 2.0f)));
    if (numel_of(od) == 0) continue;
    b.output(b.q(n->output(0), qy, od), qy, od, iter % 4 >= 2);
    check(b, fmt::format("case {}: {} {} region {} dims {},{},{},{} -> {},{},{},{} sizes {}", iter, coord, mode, region, d[0], d[1],
                         d[2], d[3], od[0], od[1], od[2], od[3], use_sizes),
          0, iter % 2 + 1);
  }
}

}  // namespace

#endif  // ORTOOL_HAVE_DNNL
