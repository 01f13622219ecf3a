// Tests of quantized Adds and global averages written as QDQ (runtime/qdq_add_group.h, qdq_gap_group.h): what the
// group holds, and that the cpu and
// dnnl providers compute it exactly as com.microsoft QLinearAdd does (ONNX Runtime's bytes, checked against
// ONNX Runtime itself by scripts/opset_vs_ort.py), for every shape, broadcast, type and layout.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/provider.h"
#include "runtime/qdq_add_group.h"
#include "runtime/session.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;

namespace {

Tensor scalar(DType t, double v) {
  Tensor x(t, {});
  if (t == DType::Float) x.mutable_data<float>()[0] = static_cast<float>(v);
  else if (t == DType::UInt8) x.mutable_data<uint8_t>()[0] = static_cast<uint8_t>(v);
  else x.mutable_data<int8_t>()[0] = static_cast<int8_t>(v);
  return x;
}


ir::Value* input8(ir::Graph& g, const std::string& name, DType t, const std::vector<int64_t>& dims) {
  ir::Value* v = g.add_value(name);
  Shape s;
  for (int64_t d : dims) s.push_back(Dim::known(d));
  v->type = Type::tensor(t, s);
  g.add_input(v);
  return v;
}

struct Params {
  DType t = DType::UInt8;
  float sa = 0.04f, sb = 3.0f / 255, sc = 6.0f / 255;  // one-half ratios: ties are common
  int32_t za = 100, zb = 0, zc = 3;
};

// a, b (8-bit graph inputs) -> DQ, DQ -> Add -> Q -> y, or the same as one QLinearAdd.
std::unique_ptr<ir::Model> add_model(const Params& p, const std::vector<int64_t>& da, const std::vector<int64_t>& db,
                                     bool qlinear, bool a_read_elsewhere = false) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  m->set_opset("com.microsoft", 1);
  ir::Graph& g = *m->graph;
  ir::Value* a = input8(g, "a", p.t, da);
  ir::Value* b = input8(g, "b", p.t, db);
  ir::Value *as = initializer(g, "as", scalar(DType::Float, p.sa)), *az = initializer(g, "az", scalar(p.t, p.za));
  ir::Value *bs = initializer(g, "bs", scalar(DType::Float, p.sb)), *bz = initializer(g, "bz", scalar(p.t, p.zb));
  ir::Value *cs = initializer(g, "cs", scalar(DType::Float, p.sc)), *cz = initializer(g, "cz", scalar(p.t, p.zc));
  if (qlinear) {
    g.add_output(g.add_node("QLinearAdd", "com.microsoft", {a, as, az, b, bs, bz, cs, cz}, {"y"}, "qadd")->output(0));
    return m;
  }
  ir::Value* af = g.add_node("DequantizeLinear", "", {a, as, az}, {"af"}, "dqa")->output(0);
  ir::Value* bf = g.add_node("DequantizeLinear", "", {b, bs, bz}, {"bf"}, "dqb")->output(0);
  ir::Value* s = g.add_node("Add", "", {af, bf}, {"s"}, "add")->output(0);
  g.add_output(g.add_node("QuantizeLinear", "", {s, cs, cz}, {"y"}, "q")->output(0));
  if (a_read_elsewhere) g.add_output(g.add_node("Relu", "", {af}, {"r"}, "relu")->output(0));
  return m;
}

std::optional<rt::qdq::AddGroup> match(const ir::Model& m, std::string* why = nullptr) {
  auto order = m.graph->topological_order();
  REQUIRE(order.is_ok());
  rt::GraphView view(*m.graph, m, *order);
  for (ir::Node* n : *order)
    if (n->op_type() == "Add") return rt::qdq::match_add_group(view, *n, why);
  return std::nullopt;
}

}  // namespace

TEST_CASE("quantized Add group: both DequantizeLinear nodes join when only the Add reads them") {
  auto m = add_model({}, {1, 3, 4, 4}, {1, 3, 4, 4}, false);
  std::string why;
  auto g = match(*m, &why);
  INFO(why);
  REQUIRE(g);
  REQUIRE(g->nodes.size() == 4);  // dqa, dqb, add, q
  CHECK(g->nodes.front()->name == "dqa");
  CHECK(g->nodes.back()->name == "q");
  CHECK(g->a_dq != nullptr);
  CHECK(g->b_dq != nullptr);
  CHECK(g->a_input == 0);  // a's 8-bit tensor, then a's scale and zero point, then b
  CHECK(g->b_input == 3);
  CHECK(g->a.scale == 0.04f);
  CHECK(g->y.zero_point == 3);
}

TEST_CASE("quantized Add group: the nodes keep execution order when b's DequantizeLinear runs first") {
  auto m = add_model({}, {2, 3}, {2, 3}, false);
  ir::Graph& g = *m->graph;
  for (ir::Node* n : g.nodes())
    if (n->op_type() == "Add") {  // Add(DQ(b), DQ(a)): operand a's DequantizeLinear comes second
      ir::Value* first = n->input(0);
      g.set_input(n, 0, n->input(1));
      g.set_input(n, 1, first);
    }
  auto gr = match(*m);
  REQUIRE(gr);
  REQUIRE(gr->nodes.size() == 4);
  CHECK(gr->nodes[0]->name == "dqa");  // the graph's order, not the operands'
  CHECK(gr->nodes[1]->name == "dqb");
  CHECK(gr->a_input == 3);  // operand a (dqb's input) enters after dqa's three inputs
  CHECK(gr->b_input == 0);
  const std::map<std::string, RValue> feeds{{"a", RValue(Tensor(DType::UInt8, {2, 3}))},
                                            {"b", RValue(Tensor(DType::UInt8, {2, 3}))}};
  for (const std::string& p : rt::available_providers()) {
    INFO(p);
    std::vector<std::string> providers{p};
    if (p != "cpu") providers.push_back("cpu");
    rt::SessionOptions o;
    o.providers = providers;
    auto s = rt::Session::create(*m, o);
    INFO(s.status().message());
    REQUIRE(s.is_ok());
    CHECK((*s)->run(feeds).is_ok());
  }
}

TEST_CASE("quantized Add group: a DequantizeLinear read elsewhere stays out, its float output is read") {
  auto m = add_model({}, {1, 3, 4, 4}, {1, 3, 4, 4}, false, /*a_read_elsewhere=*/true);
  auto g = match(*m);
  REQUIRE(g);
  CHECK(g->a_dq == nullptr);
  CHECK(g->b_dq != nullptr);
  REQUIRE(g->nodes.size() == 3);  // dqb, add, q
  CHECK(g->nodes.front()->name == "dqb");
}

TEST_CASE("quantized Add group: no group when the types differ or the Add's output is read elsewhere") {
  {
    auto m = add_model({}, {2, 3}, {2, 3}, false);
    // The QuantizeLinear writes int8 while the operands are uint8.
    ir::Graph& g = *m->graph;
    for (ir::Node* n : g.nodes())
      if (n->op_type() == "QuantizeLinear") g.set_input(n, 2, initializer(g, "cz8", scalar(DType::Int8, 0)));
    std::string why;
    CHECK_FALSE(match(*m, &why));
    CHECK(why.find("types") != std::string::npos);
  }
  {
    auto m = add_model({}, {2, 3}, {2, 3}, false);
    for (ir::Node* n : m->graph->nodes())
      if (n->op_type() == "Add") m->graph->add_output(n->output(0));
    CHECK_FALSE(match(*m));
  }
}

TEST_CASE("quantized Add group equals QLinearAdd on cpu and dnnl: shapes, broadcasts, scalars, uint8 and int8") {
  std::mt19937 rng(20261205);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{1, 8, 12, 12}, {1, 8, 12, 12}}, {{1, 8, 12, 12}, {1}}, {{1}, {2, 5, 7}}, {{2, 6, 5, 5}, {1, 6, 1, 1}},
      {{3, 40}, {40}}, {{4, 16, 9, 9}, {4, 16, 9, 9}}, {{24}, {2, 5, 24}}, {{2, 300}, {1, 300}},
      // Large enough for the broadcast rows' split over two threads.
      {{1, 8, 96, 96}, {1, 8, 1, 1}}, {{1, 256, 384}, {384}}};
  std::vector<std::vector<std::string>> provider_sets = {{"cpu"}};
  for (const std::string& p : rt::available_providers())
    if (p == "dnnl") provider_sets.push_back({"dnnl", "cpu"});
  int cases = 0;
  for (DType t : {DType::UInt8, DType::Int8}) {
    for (const auto& [da, db] : shapes) {
      for (int variant = 0; variant < 2; ++variant) {
        Params p;
        p.t = t;
        if (t == DType::Int8) p.za = -20, p.zc = -5;
        if (variant == 1) p.sa = 0.0173f, p.sb = 0.0091f, p.sc = 0.0208f, p.zb = t == DType::UInt8 ? 128 : 7;
        const std::map<std::string, RValue> feeds{{"a", RValue(random_q8(t, da, rng))}, {"b", RValue(random_q8(t, db, rng))}};
        auto ref_model = add_model(p, da, db, true);
        const Ran ref = run(*ref_model, {"cpu"}, feeds);
        auto model = add_model(p, da, db, false);
        for (const auto& providers : provider_sets) {
          INFO("type " << dtype_name(t) << " shapes " << da.size() << "/" << db.size() << " variant " << variant
                       << " providers " << providers[0]);
          const Ran got = run(*model, providers, feeds, 2);
          // One step: the whole group is one kernel.
          CHECK(got.timings.size() == 1);
          const Tensor& x = got.outputs[0].tensor;
          const Tensor& y = ref.outputs[0].tensor;
          REQUIRE(x.dims() == y.dims());
          int64_t off = 0;
          for (int64_t i = 0; i < x.numel(); ++i) off += x.get_int64(i) != y.get_int64(i);
          CHECK(off == 0);
          ++cases;
        }
      }
    }
  }
  CHECK(cases >= 24);
}

// "DQ -> GlobalAveragePool -> Q" (runtime/qdq_gap_group.h) against com.microsoft QLinearGlobalAveragePool,
// which scripts/opset_vs_ort.py checks against ONNX Runtime: a 2x2 plane of equal scales puts means on
// halves, where averaging in float first lands on the other side.
TEST_CASE("quantized global average group equals QLinearGlobalAveragePool on cpu and dnnl") {
  std::mt19937 rng(31);
  std::vector<std::vector<std::string>> provider_sets = {{"cpu"}};
  for (const std::string& p : rt::available_providers())
    if (p == "dnnl") provider_sets.push_back({"dnnl", "cpu"});
  int64_t cases = 0;
  for (DType t : {DType::UInt8, DType::Int8}) {
    for (int variant = 0; variant < 3; ++variant) {
      const std::vector<int64_t> dims = variant == 0 ? std::vector<int64_t>{2, 16, 2, 2}
                                                     : variant == 1 ? std::vector<int64_t>{1, 24, 7, 7}
                                                                    : std::vector<int64_t>{3, 8, 5, 3};
      const float xs = variant == 1 ? 0.02f : 0.05f, ys = variant == 1 ? 0.021f : 0.05f;
      const int32_t xz = t == DType::UInt8 ? 128 : 3, yz = t == DType::UInt8 ? 120 : -2;
      auto make = [&](bool qlinear) {
        auto m = std::make_unique<ir::Model>();
        m->set_opset("", 13);
        m->set_opset("com.microsoft", 1);
        ir::Graph& g = *m->graph;
        ir::Value* x = input8(g, "x", t, dims);
        ir::Value *s = initializer(g, "xs", scalar(DType::Float, xs)), *z = initializer(g, "xz", scalar(t, xz));
        ir::Value *os = initializer(g, "ys", scalar(DType::Float, ys)), *oz = initializer(g, "yz", scalar(t, yz));
        if (qlinear) {
          ir::Node* n = g.add_node("QLinearGlobalAveragePool", "com.microsoft", {x, s, z, os, oz}, {"y"}, "qgap");
          n->set_attr(ir::Attribute::make_int("channels_last", 0));
          g.add_output(n->output(0));
        } else {
          ir::Value* f = g.add_node("DequantizeLinear", "", {x, s, z}, {"f"}, "dq")->output(0);
          ir::Value* p = g.add_node("GlobalAveragePool", "", {f}, {"p"}, "gap")->output(0);
          g.add_output(g.add_node("QuantizeLinear", "", {p, os, oz}, {"y"}, "q")->output(0));
        }
        return m;
      };
      const std::map<std::string, RValue> feeds{{"x", RValue(random_q8(t, dims, rng))}};
      const Ran ref = run(*make(true), {"cpu"}, feeds);
      auto model = make(false);
      for (const auto& providers : provider_sets) {
        INFO("type " << dtype_name(t) << " variant " << variant << " providers " << providers[0]);
        const Ran got = run(*model, providers, feeds);
        CHECK(got.timings.size() == 1);  // one step
        const Tensor& a = got.outputs[0].tensor;
        const Tensor& b = ref.outputs[0].tensor;
        REQUIRE(a.dims() == b.dims());
        int64_t off = 0;
        for (int64_t i = 0; i < a.numel(); ++i) off += a.get_int64(i) != b.get_int64(i);
        CHECK(off == 0);
        ++cases;
      }
    }
  }
  CHECK(cases >= 6);
}
