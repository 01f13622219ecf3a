// The int8 provider tests' shared part: random QDQ/QLinear Conv/Gemm/MatMul groups checked against the cpu reference.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"
#include "tests/runtime/provider_test_util.h"

namespace ortool::int8_test {

using namespace provider_test;

inline int64_t pick(std::mt19937& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }
inline float pickf(std::mt19937& rng, float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); }

inline Tensor scalar_f(float v) {
  Tensor t(DType::Float, {});
  t.mutable_data<float>()[0] = v;
  return t;
}
inline Tensor scalar_q(DType type, int32_t v) {
  Tensor t(type, {});
  if (type == DType::UInt8) t.mutable_data<uint8_t>()[0] = static_cast<uint8_t>(v);
  else t.mutable_data<int8_t>()[0] = static_cast<int8_t>(v);
  return t;
}
inline Tensor vec_f(const std::vector<float>& v) {
  Tensor t(DType::Float, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.mutable_data<float>());
  return t;
}
// What the random cases draw: weights within [-weight, weight], int8 activations too unless uint8_only.
struct CaseLimits {
  int weight = 127;
  bool uint8_only = false;
};
inline CaseLimits& case_limits() {
  static CaseLimits limits;
  return limits;
}
// Limits for one test case: oneDNN's int8 groups are exact, and claimed, without VNNI only with uint8
// activations and 7-bit weights ([-64, 64]); elsewhere such cases would stay on the cpu kernels.
class ScopedCaseLimits {
 public:
  explicit ScopedCaseLimits(CaseLimits limits) : saved_(case_limits()) { case_limits() = limits; }
  ~ScopedCaseLimits() { case_limits() = saved_; }
  ScopedCaseLimits(const ScopedCaseLimits&) = delete;
  ScopedCaseLimits& operator=(const ScopedCaseLimits&) = delete;

 private:
  CaseLimits saved_;
};
inline int8_t random_weight(std::mt19937& rng) {
  return static_cast<int8_t>(pick(rng, -case_limits().weight, case_limits().weight));
}
inline Tensor random_w(std::vector<int64_t> dims, std::mt19937& rng) {
  Tensor t(DType::Int8, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<int8_t>()[i] = random_weight(rng);
  return t;
}

// What every int8 case shares: activation types, scales and zero points, and the fused parts.
struct QCase {
  DType xt = DType::UInt8, yt = DType::UInt8;
  float xs = 0.02f, ys = 0.1f;
  int32_t xz = 128, yz = 100;
  bool per_channel = true, bias = true;
  std::string act;  // "", "Relu", "Clip"
  bool qoperator = false;

  void randomize(std::mt19937& rng) {
    xt = pick(rng, 0, 3) == 0 && !case_limits().uint8_only ? DType::Int8 : DType::UInt8;
    yt = pick(rng, 0, 3) == 0 ? DType::Int8 : DType::UInt8;
    xs = pickf(rng, 0.005f, 0.05f);
    xz = xt == DType::UInt8 ? static_cast<int32_t>(pick(rng, 0, 255)) : static_cast<int32_t>(pick(rng, -128, 127));
    if (pick(rng, 0, 4) == 0) xz = 0;
    yz = yt == DType::UInt8 ? static_cast<int32_t>(pick(rng, 0, 255)) : static_cast<int32_t>(pick(rng, -128, 127));
    if (pick(rng, 0, 4) == 0) yz = 0;
    per_channel = pick(rng, 0, 2) != 0;
    bias = pick(rng, 0, 3) != 0;
    const int64_t a = pick(rng, 0, 3);
    act = a == 1 ? "Relu" : a == 2 ? "Clip" : "";
    qoperator = pick(rng, 0, 2) == 0;
    if (qoperator) act = "";
  }
  std::string describe() const {
    return fmt::format("x {} s{} z{} y {} z{} per_channel {} bias {} act '{}' qoperator {}", dtype_name(xt), xs, xz,
                       dtype_name(yt), yz, per_channel, bias, act, qoperator);
  }
};

// Adds the weight scales (one per channel, or one) and an output scale making the output span a few
// hundred steps (so rounding and saturation are both exercised).
inline std::vector<float> weight_scales(const QCase& q, int64_t m, std::mt19937& rng) {
  std::vector<float> s(static_cast<size_t>(q.per_channel ? m : 1));
  for (float& v : s) v = pickf(rng, 0.002f, 0.02f);
  return s;
}

// The graph around a core op: x (8-bit graph input) -> DQ -> core(DQ(w), DQ(b)) -> act -> Q -> y, or
// the QLinear op. `core_inputs_after_x`: for the QDQ form; attributes set by `attrs`.
struct Built {
  std::unique_ptr<ir::Model> m;
  ir::Value* x = nullptr;
};

inline ir::Value* q8_value(ir::Graph& g, const std::string& name, DType t, const std::vector<int64_t>& dims) {
  ir::Value* v = g.add_value(name);
  Shape s;
  for (int64_t d : dims) s.push_back(Dim::known(d));
  v->type = Type::tensor(t, s);
  return v;
}

// Builds the model for op `op` ("Conv", "Gemm", "MatMul") with weight `w` (int8), weight axis
// `axis`, bias length m.
inline Built build(const QCase& q, const std::string& op, const std::vector<int64_t>& xdims, Tensor w, int64_t axis,
            int64_t m, std::mt19937& rng, const std::function<void(ir::Node&)>& attrs, float ys) {
  Built b;
  b.m = std::make_unique<ir::Model>();
  b.m->set_opset("", 13);
  ir::Graph& g = *b.m->graph;
  b.x = q8_value(g, "x", q.xt, xdims);
  g.add_input(b.x);
  const std::vector<float> ws = weight_scales(q, m, rng);
  ir::Value* xs = initializer(g, "xs", scalar_f(q.xs));
  ir::Value* xz = initializer(g, "xz", scalar_q(q.xt, q.xz));
  ir::Value* wq = initializer(g, "wq", std::move(w));
  ir::Value* wsv = initializer(g, "ws", ws.size() == 1 ? scalar_f(ws[0]) : vec_f(ws));
  Tensor wzt(DType::Int8, ws.size() == 1 ? std::vector<int64_t>{} : std::vector<int64_t>{static_cast<int64_t>(ws.size())});
  ir::Value* wz = initializer(g, "wz", std::move(wzt));  // zeros
  ir::Value* ysv = initializer(g, "ys", scalar_f(ys));
  ir::Value* yz = initializer(g, "yz", scalar_q(q.yt, q.yz));
  Tensor bias(DType::Int32, {m});
  std::vector<float> bs(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) {
    bias.mutable_data<int32_t>()[i] = static_cast<int32_t>(pick(rng, -3000, 3000));
    bs[i] = q.xs * ws[ws.size() == 1 ? 0 : i];
  }
  ir::Value* y = nullptr;
  if (q.qoperator) {
    std::vector<ir::Value*> ins{b.x, xs, xz, wq, wsv, wz, ysv, yz};
    if (q.bias && op == "Conv") ins.push_back(initializer(g, "b", std::move(bias)));
    ir::Node* n = g.add_node(op == "Conv" ? "QLinearConv" : "QLinearMatMul", "", ins, {"y"}, "core");
    attrs(*n);
    y = n->output(0);
  } else {
    ir::Node* dx = g.add_node("DequantizeLinear", "", {b.x, xs, xz}, {"xf"}, "dq_x");
    ir::Node* dw = g.add_node("DequantizeLinear", "", {wq, wsv, wz}, {"wf"}, "dq_w");
    if (ws.size() > 1) dw->set_attr(ir::Attribute::make_int("axis", axis));
    std::vector<ir::Value*> ins{dx->output(0), dw->output(0)};
    if (q.bias && op != "MatMul") {
      Tensor bz(DType::Int32, {m});
      ir::Node* db = g.add_node("DequantizeLinear", "",
                                {initializer(g, "bq", std::move(bias)), initializer(g, "bs", vec_f(bs)),
                                 initializer(g, "bz", std::move(bz))},
                                {"bf"}, "dq_b");
      db->set_attr(ir::Attribute::make_int("axis", 0));
      ins.push_back(db->output(0));
    }
    ir::Node* n = g.add_node(op, "", ins, {"c"}, "core");
    attrs(*n);
    ir::Value* c = n->output(0);
    if (q.act == "Relu") c = g.add_node("Relu", "", {c}, {"r"}, "act")->output(0);
    if (q.act == "Clip")
      c = g.add_node("Clip", "", {c, initializer(g, "lo", scalar_f(-0.5f)), initializer(g, "hi", scalar_f(3.0f))},
                     {"r"}, "act")->output(0);
    y = g.add_node("QuantizeLinear", "", {c, ysv, yz}, {"y"}, "q")->output(0);
  }
  g.add_output(y);
  return b;
}

// Outputs of the cpu-only and a provider's session that differ by at most one step, with an SQNR of
// at least 30 dB over the dequantized values (zero point `zp`, the scale cancels); returns the
// elements strictly inside the output type's range (not saturated).
inline int64_t check_same_q8(const Tensor& a, const Tensor& b, int32_t zp) {
  REQUIRE(a.dtype() == b.dtype());
  REQUIRE(a.dims() == b.dims());
  int worst = 0, off = 0;
  double signal = 0, noise = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const int d = static_cast<int>(std::abs(a.get_double(i) - b.get_double(i)));
    worst = std::max(worst, d);
    off += d != 0;
    noise += static_cast<double>(d) * d;
  }
  INFO("elements off by one: " << off << " of " << a.numel());
  CHECK(worst <= 1);
  // Rounding of a float sum, not a systematic error: few elements sit on a rounding edge.
  CHECK(off <= std::max<int64_t>(2, a.numel() / 50));
  int64_t inside = 0;
  const double lo = b.dtype() == DType::UInt8 ? 0 : -128, hi = b.dtype() == DType::UInt8 ? 255 : 127;
  for (int64_t i = 0; i < b.numel(); ++i) inside += b.get_double(i) > lo && b.get_double(i) < hi;
  for (int64_t i = 0; i < b.numel(); ++i) signal += (b.get_double(i) - zp) * (b.get_double(i) - zp);
  if (noise > 0) CHECK(10 * std::log10(std::max(signal, 1.0) / noise) >= 30.0);
  return inside;
}

// Runs on cpu and on `provider`: every output element within one step, and the whole graph one
// step of that provider. Returns the output elements inside the range and the output size.
inline std::pair<int64_t, int64_t> check_q8(const ir::Model& m, const Tensor& x, const std::string& what,
                                            const std::string& provider, int32_t yz, int threads = 1) {
  INFO(what);
  std::map<std::string, RValue> feeds{{"x", RValue(x)}};
  const Ran ref = run(m, {"cpu"}, feeds);
  const Ran got = run(m, {provider, "cpu"}, feeds, threads);
  // One step: the whole group, nothing left to cpu.
  REQUIRE(got.timings.size() == 1);
  CHECK(got.timings[0].provider == provider);
  CHECK(got.timings[0].fused_nodes == m.graph->nodes().size());
  REQUIRE(got.outputs[0].is_tensor());
  return {check_same_q8(got.outputs[0].tensor, ref.outputs[0].tensor, yz), got.outputs[0].tensor.numel()};
}

// Random int8 Conv groups (QDQ and QLinearConv; uint8 and int8 activations, per-tensor and per-channel
// weights, grouped and depthwise, strides, pads, dilations, Relu/Clip) on `provider` against cpu.
// `also(model, x, what)`, when given, runs after each case's check (further comparisons on the same case).
using CaseHook = std::function<void(const ir::Model&, const Tensor&, const std::string&)>;
inline void conv_cases(const std::string& provider, uint32_t seed, int iters, const CaseHook& also = {}) {
  std::mt19937 rng(seed);
  int64_t inside = 0, total = 0;
  for (int iter = 0; iter < iters; ++iter) {
    QCase q;
    q.randomize(rng);
    int64_t group = 1, cg = pick(rng, 1, 12), mg = pick(rng, 1, 12);
    const int64_t kind = pick(rng, 0, 3);
    if (kind == 1) {  // depthwise
      group = pick(rng, 2, 16);
      cg = 1;
      mg = pick(rng, 1, 2);
    } else if (kind == 2) {
      group = pick(rng, 2, 4);
    }
    const int64_t kh = pick(rng, 1, 3) * 2 - 1 + (pick(rng, 0, 4) == 0), kw = pick(rng, 1, 3);
    const std::vector<int64_t> strides{pick(rng, 1, 2), pick(rng, 1, 2)};
    const std::vector<int64_t> dil{pick(rng, 0, 3) == 0 ? 2 : 1, 1};
    const std::vector<int64_t> pads{pick(rng, 0, kh - 1), pick(rng, 0, kw - 1), pick(rng, 0, kh - 1), pick(rng, 0, kw - 1)};
    const int64_t n = pick(rng, 1, 2), h = pick(rng, (kh - 1) * dil[0] + 1, 12), w = pick(rng, kw, 12);
    const int64_t cin = cg * group, m = mg * group;
    const float ys = q.xs * 0.01f * std::sqrt(static_cast<float>(cg * kh * kw)) * 40.0f * pickf(rng, 0.5f, 2.0f);
    auto attrs = [&](ir::Node& node) {
      node.set_attr(ir::Attribute::make_int("group", group));
      node.set_attr(ir::Attribute::make_ints("kernel_shape", {kh, kw}));
      node.set_attr(ir::Attribute::make_ints("strides", strides));
      node.set_attr(ir::Attribute::make_ints("dilations", dil));
      node.set_attr(ir::Attribute::make_ints("pads", pads));
    };
    Built b = build(q, "Conv", {n, cin, h, w}, random_w({m, cg, kh, kw}, rng), 0, m, rng, attrs, ys);
    const std::string what = fmt::format("case {}: {} n{} g{} cg{} mg{} {}x{} k{}x{} s{},{} d{} p{},{},{},{}", iter,
                                         q.describe(), n, group, cg, mg, h, w, kh, kw, strides[0], strides[1], dil[0],
                                         pads[0], pads[1], pads[2], pads[3]);
    const Tensor x = random_q8(q.xt, {n, cin, h, w}, rng);
    const auto [in, all] = check_q8(*b.m, x, what, provider, q.yz, iter % 2 + 1);
    if (also) also(*b.m, x, what);
    inside += in;
    total += all;
  }
  // The scales put most outputs inside the range: a test of saturation alone would prove little.
  CHECK(inside > total / 3);
}

// Random int8 Gemm/MatMul groups (QDQ and QLinearMatMul, transB, alpha, beta, 3-D MatMul inputs).
inline void matmul_cases(const std::string& provider, uint32_t seed, int iters) {
  std::mt19937 rng(seed);
  int64_t inside = 0, total = 0;
  for (int iter = 0; iter < iters; ++iter) {
    QCase q;
    q.randomize(rng);
    const bool gemm = !q.qoperator && pick(rng, 0, 1) == 0;
    const bool trans_b = gemm && pick(rng, 0, 1) == 0;
    const int64_t k = pick(rng, 1, 70), n = pick(rng, 1, 40);
    // Rows: a few (a classifier, dnnl's 1x1 convolution path) or, every fourth case, more (its matmul).
    std::vector<int64_t> xd{iter % 4 == 3 ? pick(rng, 33, 80) : pick(rng, 1, 9), k};
    if (!gemm && pick(rng, 0, 1) == 0) xd.insert(xd.begin(), pick(rng, 1, 3));  // [B, S, K]
    if (!gemm) q.bias = false;
    const float ys = q.xs * 0.01f * std::sqrt(static_cast<float>(k)) * 40.0f * pickf(rng, 0.5f, 2.0f);
    auto attrs = [&](ir::Node& node) {
      if (!gemm) return;
      node.set_attr(ir::Attribute::make_int("transB", trans_b ? 1 : 0));
      if (iter % 3 == 0) node.set_attr(ir::Attribute::make_float("alpha", 0.75f));
      if (iter % 4 == 0) node.set_attr(ir::Attribute::make_float("beta", 1.5f));
    };
    Tensor w = random_w(trans_b ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}, rng);
    Built b = build(q, gemm ? "Gemm" : "MatMul", xd, std::move(w), trans_b ? 0 : 1, n, rng, attrs, ys);
    const std::string what = fmt::format("case {}: {} {} trans_b {} x {} n{}", iter, q.describe(),
                                         gemm ? "Gemm" : "MatMul", trans_b, fmt::format("[{}]", fmt::join(xd, ",")), n);
    const auto [in, all] = check_q8(*b.m, random_q8(q.xt, xd, rng), what, provider, q.yz, iter % 2 + 1);
    inside += in;
    total += all;
  }
  CHECK(inside > total / 3);
}

// x (uint8) -> DQ -> a 1x1 QDQ conv named `name` -> Q, on `in`; returns the Q output. Weights seeded.
inline ir::Value* qdq_conv(ir::Graph& g, ir::Value* in, const std::string& name, int64_t c, std::mt19937& rng,
                    ir::Value* shared_dq = nullptr) {
  ir::Value* xf = shared_dq;
  if (!xf) {
    xf = g.add_node("DequantizeLinear", "", {in, initializer(g, name + "_xs", scalar_f(0.03f)),
                                             initializer(g, name + "_xz", scalar_q(DType::UInt8, 120))},
                    {name + "_xf"}, name + "_dqx")->output(0);
  }
  ir::Value* wf = g.add_node("DequantizeLinear", "", {initializer(g, name + "_wq", random_w({c, c, 1, 1}, rng)),
                                                       initializer(g, name + "_ws", scalar_f(0.01f))},
                             {name + "_wf"}, name + "_dqw")->output(0);
  ir::Value* y = g.add_node("Conv", "", {xf, wf}, {name + "_y"}, name)->output(0);
  ir::Value* q = g.add_node("QuantizeLinear", "", {y, initializer(g, name + "_ys", scalar_f(0.05f)),
                                                   initializer(g, name + "_yz", scalar_q(DType::UInt8, 110))},
                            {name + "_q"}, name + "_q")->output(0);
  // Declared as shape inference would: a group needs its activation's rank.
  q->type = Type::tensor(DType::UInt8, Shape{Dim::known(1), Dim::known(c), Dim::known(5), Dim::known(5)});
  return q;
}

inline std::unique_ptr<ir::Model> q8_model(ir::Value*& x, int64_t c) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  x = q8_value(*m->graph, "x", DType::UInt8, {1, c, 5, 5});
  m->graph->add_input(x);
  return m;
}

// DequantizeLinear of `q` with the parameters qdq_conv's QuantizeLinear writes, named `name`.
inline ir::Value* dq_of(ir::Graph& g, ir::Value* q, const std::string& name, int64_t c) {
  ir::Value* v = g.add_node("DequantizeLinear", "", {q, initializer(g, name + "_s", scalar_f(0.05f)),
                                                     initializer(g, name + "_z", scalar_q(DType::UInt8, 110))},
                            {name}, name)->output(0);
  v->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(c), Dim::known(5), Dim::known(5)});
  return v;
}

// x -> conv a -> DQ "shared_dq" read by the conv groups b and c (and by a Sigmoid "sig" with
// `float_reader`); outputs b's, c's (and the Sigmoid's). Its input: x, uint8 [1, c, 5, 5].
inline std::unique_ptr<ir::Model> shared_dq_model(std::mt19937& rng, int64_t c, bool float_reader) {
  ir::Value* x = nullptr;
  auto m = q8_model(x, c);
  ir::Graph& g = *m->graph;
  ir::Value* a = qdq_conv(g, x, "a", c, rng);
  ir::Value* shared = dq_of(g, a, "shared_dq", c);
  g.add_output(qdq_conv(g, nullptr, "b", c, rng, shared));
  g.add_output(qdq_conv(g, nullptr, "c", c, rng, shared));
  if (float_reader) g.add_output(g.add_node("Sigmoid", "", {shared}, {"s"}, "sig")->output(0));
  return m;
}

// A residual block: x -> conv a -> DQ "skip" (read by conv b and the Add); conv b -> DQ "bf";
// Add "add" -> Q "q" -> conv c -> DQ -> y (float). Its input: x, uint8 [1, c, 5, 5].
inline std::unique_ptr<ir::Model> residual_block(std::mt19937& rng, int64_t c) {
  ir::Value* x = nullptr;
  auto m = q8_model(x, c);
  ir::Graph& g = *m->graph;
  ir::Value* a = qdq_conv(g, x, "a", c, rng);
  ir::Value* skip = dq_of(g, a, "skip", c);
  ir::Value* b = qdq_conv(g, nullptr, "b", c, rng, skip);
  ir::Value* sum = g.add_node("Add", "", {dq_of(g, b, "bf", c), skip}, {"sum"}, "add")->output(0);
  sum->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(c), Dim::known(5), Dim::known(5)});
  ir::Value* q = g.add_node("QuantizeLinear", "", {sum, initializer(g, "qs", scalar_f(0.1f)),
                                                   initializer(g, "qz", scalar_q(DType::UInt8, 90))},
                            {"q"}, "q")->output(0);
  q->type = Type::tensor(DType::UInt8, Shape{Dim::known(1), Dim::known(c), Dim::known(5), Dim::known(5)});
  ir::Value* y = qdq_conv(g, q, "c", c, rng);
  g.add_output(dq_of(g, y, "y", c));
  return m;
}

// Float outputs within one step `step` of the reference, and few of them off at all (rounding of float
// sums in another order).
inline void check_within_step(const Tensor& o, const Tensor& r, float step) {
  REQUIRE(o.dims() == r.dims());
  int64_t off = 0;
  for (int64_t i = 0; i < o.numel(); ++i) {
    const float d = std::fabs(o.data<float>()[i] - r.data<float>()[i]);
    CHECK(d <= step * 1.002f);
    off += d > 0;
  }
  CHECK(off <= o.numel() / 50);
}

// residual_block on cpu and on `provider` at 1 and 2 threads: the output within one step of 0.05 (rarely
// off at all), and `check` on each provider run (who ran what).
inline void residual_block_runs(const std::string& provider, uint32_t seed, const std::function<void(const Ran&)>& check) {
  std::mt19937 rng(seed);
  const int64_t c = 16;
  auto m = residual_block(rng, c);
  std::map<std::string, RValue> feeds{{"x", RValue(random_q8(DType::UInt8, {1, c, 5, 5}, rng))}};
  const Ran ref = run(*m, {"cpu"}, feeds);
  for (int threads : {1, 2}) {
    const Ran got = run(*m, {provider, "cpu"}, feeds, threads);
    check(got);
    check_within_step(got.outputs[0].tensor, ref.outputs[0].tensor, 0.05f);
  }
}

// Standalone QuantizeLinear and DequantizeLinear on `provider` equal the cpu kernels byte for byte: ties,
// NaN, infinities and saturation included, on a small and a large (threaded) tensor.
inline void qdq_equal_cases(const std::string& provider) {
  std::mt19937 rng(8);
  for (DType t : {DType::UInt8, DType::Int8}) {
    for (int64_t n : {int64_t{37}, int64_t{300000}}) {  // the large one is split over two threads
      auto m = std::make_unique<ir::Model>();
      m->set_opset("", 13);
      ir::Graph& g = *m->graph;
      ir::Value* x = g.add_value("x");
      x->type = Type::tensor(DType::Float, Shape{Dim::known(n)});
      g.add_input(x);
      const float scale = 0.0625f;  // a power of two: x = (k + 0.5) * scale lands exactly on ties
      ir::Value* q = g.add_node("QuantizeLinear", "", {x, initializer(g, "s", scalar_f(scale)),
                                                       initializer(g, "z", scalar_q(t, t == DType::UInt8 ? 100 : -3))},
                                {"q"}, "q")->output(0);
      ir::Value* d = g.add_node("DequantizeLinear", "", {q, initializer(g, "s2", scalar_f(0.3f)),
                                                         initializer(g, "z2", scalar_q(t, 7))},
                                {"d"}, "dq")->output(0);
      g.add_output(q);
      g.add_output(d);
      Tensor xt(DType::Float, {n});
      for (int64_t i = 0; i < n; ++i)
        xt.mutable_data<float>()[i] = (static_cast<float>(pick(rng, -300, 300)) + (i % 2 ? 0.5f : pickf(rng, -1, 1))) * scale;
      xt.mutable_data<float>()[0] = std::nanf("");
      xt.mutable_data<float>()[1] = std::numeric_limits<float>::infinity();
      xt.mutable_data<float>()[2] = -1e30f;
      std::map<std::string, RValue> feeds{{"x", RValue(xt)}};
      const Ran ref = run(*m, {"cpu"}, feeds);
      const Ran got = run(*m, {provider, "cpu"}, feeds, 2);
      CHECK(ran_by(got.timings, "q").first == provider);
      CHECK(ran_by(got.timings, "dq").first == provider);
      REQUIRE(got.outputs[0].tensor.dtype() == t);
      CHECK(std::equal(got.outputs[0].tensor.bytes().begin(), got.outputs[0].tensor.bytes().end(),
                       ref.outputs[0].tensor.bytes().begin(), ref.outputs[0].tensor.bytes().end()));
      CHECK(std::equal(got.outputs[1].tensor.bytes().begin(), got.outputs[1].tensor.bytes().end(),
                       ref.outputs[1].tensor.bytes().begin(), ref.outputs[1].tensor.bytes().end()));
    }
  }
}

}  // namespace ortool::int8_test
