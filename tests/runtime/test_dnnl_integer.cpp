// Tests of the dnnl provider's MatMulInteger and ConvInteger (runtime/dnnl/dnnl_{matmul,conv}_integer.cpp): exact
// int32 results equal to the cpu kernels' over shapes, activation types and zero points, and the cases left to cpu.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/provider.h"
#include "runtime/session.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;

#ifdef ORTOOL_HAVE_DNNL
#include "runtime/dnnl/dnnl_common.h"

namespace {


// y = MatMulInteger(a, w (constant int8), a_zero_point as a graph input or a constant, zero w_zero_point).
std::unique_ptr<ir::Model> model(DType at, const std::vector<int64_t>& adims, Tensor w, bool zp_input,
                                 const std::vector<int64_t>& zp_dims, std::mt19937& rng) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  auto input = [&](const std::string& name, DType t, const std::vector<int64_t>& dims) {
    ir::Value* v = g.add_value(name);
    Shape s;
    for (int64_t d : dims) s.push_back(Dim::known(d));
    v->type = Type::tensor(t, s);
    g.add_input(v);
    return v;
  };
  ir::Value* a = input("a", at, adims);
  ir::Value* zp = zp_input ? input("zp", at, zp_dims) : initializer(g, "zp", random_q8(at, zp_dims, rng));
  Tensor wz(DType::Int8, {});
  ir::Value* wv = initializer(g, "w", std::move(w));
  g.add_output(g.add_node("MatMulInteger", "", {a, wv, zp, initializer(g, "wz", std::move(wz))}, {"y"}, "mmi")->output(0));
  return m;
}

}  // namespace

TEST_CASE("dnnl MatMulInteger equals the cpu kernel: batched and 2-D activations, u8/s8, run-time zero points") {
  std::mt19937 rng(7);
  int claimed = 0;
  for (int iter = 0; iter < 16; ++iter) {
    const DType at = iter % 3 == 0 ? DType::Int8 : DType::UInt8;
    const int64_t k = 1 + static_cast<int64_t>(rng() % 300), n = 1 + static_cast<int64_t>(rng() % 70);
    std::vector<int64_t> adims = iter % 2 ? std::vector<int64_t>{1 + static_cast<int64_t>(rng() % 9), 1, k}
                                          : std::vector<int64_t>{1 + static_cast<int64_t>(rng() % 40), k};
    // Every fourth case enough rows for the kernels' 2-thread split (about 2^20 multiply-adds and more).
    if (iter % 4 == 3) adims = {2, 100 + static_cast<int64_t>(rng() % 100), k};
    const bool zp_input = iter % 4 != 1;
    auto m = model(at, adims, random_q8(DType::Int8, {k, n}, rng), zp_input, {}, rng);
    std::map<std::string, RValue> feeds{{"a", RValue(random_q8(at, adims, rng))}};
    if (zp_input) feeds.emplace("zp", RValue(random_q8(at, {}, rng)));
    INFO("iter " << iter << " k " << k << " n " << n);
    const Ran ref = run(*m, {"cpu"}, feeds);
    const Ran got = run(*m, {"dnnl", "cpu"}, feeds, 1 + iter % 2);
    REQUIRE(got.timings.size() == 1);
    claimed += got.timings[0].provider == "dnnl";
    const Tensor& x = got.outputs[0].tensor;
    const Tensor& y = ref.outputs[0].tensor;
    REQUIRE(x.dims() == y.dims());
    int64_t off = 0;
    for (int64_t i = 0; i < x.numel(); ++i) off += x.data<int32_t>()[i] != y.data<int32_t>()[i];
    CHECK(off == 0);
  }
  // oneDNN's int8 where it is exact (VNNI), the widened GEMM elsewhere: dnnl runs every case.
  CHECK(claimed == 16);
}

TEST_CASE("dnnl MatMulInteger: a per-row activation zero point runs on the cpu kernel, still right") {
  std::mt19937 rng(8);
  auto m = model(DType::UInt8, {4, 8}, random_q8(DType::Int8, {8, 3}, rng), true, {4, 1}, rng);
  const std::map<std::string, RValue> feeds{{"a", RValue(random_q8(DType::UInt8, {4, 8}, rng))},
                                            {"zp", RValue(random_q8(DType::UInt8, {4, 1}, rng))}};
  const Ran ref = run(*m, {"cpu"}, feeds);
  const Ran got = run(*m, {"dnnl", "cpu"}, feeds);
  const Tensor& x = got.outputs[0].tensor;
  for (int64_t i = 0; i < x.numel(); ++i) CHECK(x.data<int32_t>()[i] == ref.outputs[0].tensor.data<int32_t>()[i]);
}
namespace {

// What dynamic quantizers write for a MatMul: y = MatMulInteger(a, w, zp) -> Cast(to) -> Mul(by s, a graph input
// of `s_dims`, its declared dims `declared`) [-> Add(a constant bias of n values, or the graph input "r")]; the
// operands of Mul and Add in either order.
struct TailCase {
  DType at = DType::UInt8;
  std::vector<int64_t> adims;
  int64_t n = 1;
  bool seven_bit = false;  // weights in [-64, 64] (oneDNN's own kernels with a uint8 activation)
  std::vector<int64_t> s_dims, declared;
  bool declare = true;
  int64_t cast_to = static_cast<int64_t>(DType::Float);
  enum class Add { None, Bias, Input } add = Add::Bias;
  bool swap = false;
  bool cast_output_too = false;  // the Cast output is also a graph output
  bool zero_points = true;       // MatMulInteger(a, w, zp, wz), else MatMulInteger(a, w)
};

std::unique_ptr<ir::Model> tail_model(const TailCase& c, std::mt19937& rng) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  auto input = [&](const std::string& name, DType t, const std::vector<int64_t>& dims, bool declare) {
    ir::Value* v = g.add_value(name);
    v->type = declare ? Type::tensor(t, shape_from_dims(dims)) : Type::tensor(t);
    g.add_input(v);
    return v;
  };
  const int64_t k = c.adims.back();
  Tensor w = random_q8(DType::Int8, {k, c.n}, rng);
  if (c.seven_bit)
    for (int64_t i = 0; i < w.numel(); ++i) w.mutable_data<int8_t>()[i] = static_cast<int8_t>(w.data<int8_t>()[i] / 2);
  ir::Value* a = input("a", c.at, c.adims, true);
  std::vector<ir::Value*> ins{a, initializer(g, "w", std::move(w))};
  if (c.zero_points) ins.insert(ins.end(), {input("zp", c.at, {}, true), initializer(g, "wz", Tensor(DType::Int8, {}))});
  ir::Value* y = g.add_node("MatMulInteger", "", ins, {"y"}, "mmi")->output(0);
  ir::Node* cast = g.add_node("Cast", "", {y}, {"c"}, "cast");
  cast->set_attr(ir::Attribute::make_int("to", c.cast_to));
  ir::Value* s = input("s", DType::Float, c.declared.empty() ? c.s_dims : c.declared, c.declare);
  ir::Value* cv = cast->output(0);
  ir::Value* out = g.add_node("Mul", "", c.swap ? std::vector<ir::Value*>{s, cv} : std::vector<ir::Value*>{cv, s}, {"m"}, "mul")->output(0);
  if (c.add != TailCase::Add::None) {
    ir::Value* b = c.add == TailCase::Add::Bias ? initializer(g, "bias", random_tensor({c.n}, rng, -3, 3))
                                                : input("r", DType::Float, {c.n}, true);
    out = g.add_node("Add", "", c.swap ? std::vector<ir::Value*>{b, out} : std::vector<ir::Value*>{out, b}, {"o"}, "add")->output(0);
  }
  g.add_output(out);
  if (c.cast_output_too) g.add_output(cv);
  return m;
}

// Runs the case on dnnl,cpu and on cpu alone: outputs bit-equal; returns the steps the dnnl,cpu session ran.
std::vector<rt::NodeTiming> check_tail(const TailCase& c, std::mt19937& rng, int threads = 1) {
  auto m = tail_model(c, rng);
  std::map<std::string, RValue> feeds{{"a", RValue(random_q8(c.at, c.adims, rng))},
                                      {"s", RValue(random_tensor(c.s_dims, rng, 1e-4f, 2e-3f))}};
  if (c.zero_points) feeds.emplace("zp", RValue(random_q8(c.at, {}, rng)));
  if (c.add == TailCase::Add::Input) feeds.emplace("r", RValue(random_tensor({c.n}, rng)));
  const Ran ref = run(*m, {"cpu"}, feeds);
  const Ran got = run(*m, {"dnnl", "cpu"}, feeds, threads);
  REQUIRE(got.outputs.size() == ref.outputs.size());
  for (size_t o = 0; o < got.outputs.size(); ++o) {
    const Tensor& x = got.outputs[o].tensor;
    const Tensor& y = ref.outputs[o].tensor;
    REQUIRE(x.dims() == y.dims());
    REQUIRE(x.dtype() == y.dtype());
    REQUIRE(x.nbytes() == y.nbytes());
    CHECK(std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0);  // the same roundings: bit-equal
  }
  return got.timings;
}

}  // namespace

TEST_CASE("dnnl MatMulInteger -> Cast -> Mul -> Add runs as one step with the nodes' bits, on both kernels") {
  std::mt19937 rng(10);
  for (int iter = 0; iter < 16; ++iter) {
    TailCase c;
    c.at = iter % 4 == 2 ? DType::Int8 : DType::UInt8;
    const int64_t k = 1 + static_cast<int64_t>(rng() % 300);
    c.n = 1 + static_cast<int64_t>(rng() % 90);
    c.adims = iter % 2 ? std::vector<int64_t>{2, 1 + static_cast<int64_t>(rng() % 30), k}
                       : std::vector<int64_t>{1 + static_cast<int64_t>(rng() % 40), k};
    if (iter % 8 == 5) c.adims = {150 + static_cast<int64_t>(rng() % 60), k};  // the 2-thread split
    c.seven_bit = iter % 3 == 0;
    c.s_dims = iter % 3 == 1 ? std::vector<int64_t>{c.n} : iter % 3 == 2 ? std::vector<int64_t>{1} : std::vector<int64_t>{};
    c.add = iter % 5 == 4 ? TailCase::Add::None : TailCase::Add::Bias;
    c.swap = iter % 2 == 1;
    c.zero_points = iter % 7 != 3;  // a two-input MatMulInteger: the scale is step input 2
    const bool widened = iter % 2 == 0;
    INFO("iter " << iter << " k " << k << " n " << c.n << " widened " << widened);
    if (widened) rt::dnnl_ep::force_widened_int8(true);
    const std::vector<rt::NodeTiming> t = check_tail(c, rng, 1 + iter % 2);
    rt::dnnl_ep::force_widened_int8(false);
    REQUIRE(t.size() == 1);  // one step: the MatMulInteger and its tail
    CHECK(t[0].provider == "dnnl");
    CHECK(t[0].fused_nodes == (c.add == TailCase::Add::None ? 3u : 4u));
  }
}

TEST_CASE("dnnl MatMulInteger tail: scales that are not per column run the nodes one by one; what does not join") {
  std::mt19937 rng(11);
  TailCase base;
  base.adims = {6, 40};
  base.n = 24;
  base.seven_bit = true;  // oneDNN's own kernels when not widened, even without VNNI
  for (bool widened : {true, false}) {
    INFO("widened " << widened);
    rt::dnnl_ep::force_widened_int8(widened);
    // Undeclared scale dims: claimed; a per-row scale at run time takes the nodes one by one, same bits.
    TailCase rows = base;
    rows.s_dims = {6, 1};
    rows.declare = false;
    CHECK(check_tail(rows, rng).size() == 1);
    // Declared per-row scale: the MatMulInteger alone joins nothing.
    TailCase declared = rows;
    declared.declare = true;
    CHECK(check_tail(declared, rng).size() == 4);
    // A Cast output read outside; an Add of a computed tensor.
    TailCase seen = base;
    seen.cast_output_too = true;
    CHECK(check_tail(seen, rng).size() == 4);
    TailCase residual = base;
    residual.add = TailCase::Add::Input;
    const std::vector<rt::NodeTiming> t = check_tail(residual, rng);
    REQUIRE(t.size() == 2);  // MatMulInteger, Cast and Mul in one step; the Add on its own
    CHECK(t[0].fused_nodes == 3u);
  }
  rt::dnnl_ep::force_widened_int8(false);
}

TEST_CASE("dnnl ConvInteger equals the cpu kernel: groups, strides, dilations, pads reading the zero point") {
  std::mt19937 rng(9);
  int claimed = 0;
  for (int iter = 0; iter < 14; ++iter) {
    const DType at = iter % 3 == 0 ? DType::Int8 : DType::UInt8;
    const int64_t group = iter % 4 == 1 ? 2 : iter % 4 == 3 ? 4 : 1;
    const int64_t cg = 1 + static_cast<int64_t>(rng() % 40), mg = 1 + static_cast<int64_t>(rng() % 6);
    const int64_t k = 1 + 2 * static_cast<int64_t>(rng() % 2), stride = 1 + static_cast<int64_t>(rng() % 2),
                  dil = iter % 5 == 2 ? 2 : 1, pad = static_cast<int64_t>(rng() % 2);
    const int64_t h = (k - 1) * dil + 1 + static_cast<int64_t>(rng() % 8), w = (k - 1) * dil + 1 + static_cast<int64_t>(rng() % 8);
    const std::vector<int64_t> xdims{1 + static_cast<int64_t>(rng() % 2), cg * group, h, w};
    auto m = std::make_unique<ir::Model>();
    m->set_opset("", 13);
    ir::Graph& g = *m->graph;
    ir::Value* x = g.add_value("x");
    Shape s;
    for (int64_t d : xdims) s.push_back(Dim::known(d));
    x->type = Type::tensor(at, s);
    g.add_input(x);
    ir::Value* zp = g.add_value("zp");
    zp->type = Type::tensor(at, Shape{});
    g.add_input(zp);
    ir::Node* n = g.add_node("ConvInteger", "",
                             {x, initializer(g, "w", random_q8(DType::Int8, {mg * group, cg, k, k}, rng)), zp}, {"y"}, "ci");
    n->set_attr(ir::Attribute::make_int("group", group));
    n->set_attr(ir::Attribute::make_ints("strides", {stride, stride}));
    n->set_attr(ir::Attribute::make_ints("dilations", {dil, dil}));
    n->set_attr(ir::Attribute::make_ints("pads", {pad, pad, pad, pad}));
    g.add_output(n->output(0));
    const std::map<std::string, RValue> feeds{{"x", RValue(random_q8(at, xdims, rng))}, {"zp", RValue(random_q8(at, {}, rng))}};
    INFO("iter " << iter << " group " << group << " cg " << cg << " k " << k << " stride " << stride << " dil " << dil);
    const Ran ref = run(*m, {"cpu"}, feeds);
    // Every other case on the widened convolution where oneDNN's int8 kernels would be exact (VNNI).
    rt::dnnl_ep::force_widened_int8(iter % 2 == 0);
    const Ran got = run(*m, {"dnnl", "cpu"}, feeds, 1 + iter % 2);
    rt::dnnl_ep::force_widened_int8(false);
    REQUIRE(got.timings.size() == 1);
    claimed += got.timings[0].provider == "dnnl";
    const Tensor& a = got.outputs[0].tensor;
    const Tensor& b = ref.outputs[0].tensor;
    REQUIRE(a.dims() == b.dims());
    int64_t off = 0;
    for (int64_t i = 0; i < a.numel(); ++i) off += a.data<int32_t>()[i] != b.data<int32_t>()[i];
    CHECK(off == 0);
  }
  // oneDNN's int8 where it is exact (VNNI), the widened convolution elsewhere: dnnl runs every case.
  CHECK(claimed == 14);
}
#endif  // ORTOOL_HAVE_DNNL
