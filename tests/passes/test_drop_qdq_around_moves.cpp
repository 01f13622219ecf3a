// Tests of drop_qdq_around_moves: data-movement ops go to the 8-bit side of per-tensor Q/DQ, pairs of equal
// parameters that meet disappear, and the outputs stay bit-equal.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {

struct Quant {
  ir::Value* scale;
  ir::Value* zero_point;
};

Quant quant(ModelBuilder& b, const std::string& name, float scale, uint8_t zp) {
  return {b.init(name + "_s", Tensor::from_vector<float>(DType::Float, {}, {scale})),
          b.init(name + "_z", Tensor::from_vector<uint8_t>(DType::UInt8, {}, {zp}))};
}

ir::Value* q(ModelBuilder& b, ir::Value* x, const Quant& p) { return b.node("QuantizeLinear", {x, p.scale, p.zero_point}); }
ir::Value* dq(ModelBuilder& b, ir::Value* x, const Quant& p) { return b.node("DequantizeLinear", {x, p.scale, p.zero_point}); }

// The op type of the node producing `v`, or "".
std::string producer_op(const ir::Value* v) { return v && v->producer() ? v->producer()->op_type() : ""; }

const Tolerance kExact{0, 0};
// As in the pipelines: types known, dead nodes gone.
const std::vector<std::string> kPasses = {"shape_inference", "drop_qdq_around_moves", "eliminate_dead_code"};

}  // namespace

TEST_CASE("drop_qdq_around_moves runs a move between DQ and Q of equal parameters on the 8-bit tensor") {
  for (const std::string op : {"Transpose", "Reshape", "Slice", "Expand"}) {
    INFO(op);
    ModelBuilder b(13);
    ir::Value* x = b.input("x", {2, 3, 4});
    const Quant p = quant(b, "p", 0.05f, 120);
    ir::Value* f = dq(b, q(b, x, p), p);
    ir::Value* moved = nullptr;
    if (op == "Transpose") moved = b.node("Transpose", {f}, {ints_attr("perm", {2, 0, 1})});
    if (op == "Reshape") moved = b.node("Reshape", {f, b.ints("shape", {6, 4})});
    if (op == "Slice") moved = b.node("Slice", {f, b.ints("st", {1}), b.ints("en", {3}), b.ints("ax", {2})});
    if (op == "Expand") moved = b.node("Expand", {f, b.ints("shape", {2, 2, 3, 4})});
    b.output(b.node("Relu", {dq(b, q(b, moved, p), p)}));
    auto m = optimize_and_compare(*b.model, kPasses, true, kExact);
    CHECK(count_ops(*m->graph, "QuantizeLinear") == 1);
    CHECK(count_ops(*m->graph, "DequantizeLinear") == 1);
    for (const ir::Node* n : m->graph->nodes())
      if (n->op_type() == op) {
        CHECK(producer_op(n->input(0)) == "QuantizeLinear");
        CHECK(n->output(0)->type.elem == DType::UInt8);
      }
  }
}

TEST_CASE("drop_qdq_around_moves moves a DequantizeLinear below a move and a QuantizeLinear above one") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3, 4});
  const Quant p1 = quant(b, "p1", 0.05f, 120), p2 = quant(b, "p2", 0.1f, 3);
  // DQ(p1) -> Transpose -> Q(p2): parameters differ, so the Transpose goes first and DQ -> Q stays.
  ir::Value* t = b.node("Transpose", {dq(b, q(b, x, p1), p1)}, {ints_attr("perm", {1, 0, 2})});
  ir::Value* y1 = dq(b, q(b, t, p2), p2);
  // Sigmoid -> Reshape -> Q(p2): the Q goes before the Reshape (next to the op that made the float tensor).
  ir::Value* r = b.node("Reshape", {b.node("Sigmoid", {x}), b.ints("shape", {6, 4})});
  ir::Value* y2 = dq(b, q(b, r, p2), p2);
  // Sigmoid -> Slice -> Q: not moved (the Q would quantize the elements the Slice drops).
  ir::Value* s = b.node("Slice", {b.node("Sigmoid", {x}), b.ints("st", {1}), b.ints("en", {3}), b.ints("ax", {2})});
  ir::Value* y3 = dq(b, q(b, s, p2), p2);
  b.output(y1);
  b.output(y2);
  b.output(y3);
  auto m = optimize_and_compare(*b.model, kPasses, true, kExact);
  for (const ir::Node* n : m->graph->nodes()) {
    if (n->op_type() == "Transpose") CHECK(n->input(0)->type.elem == DType::UInt8);
    if (n->op_type() == "Reshape") CHECK(producer_op(n->input(0)) == "QuantizeLinear");
    if (n->op_type() == "Slice") CHECK(producer_op(n->input(0)) == "Sigmoid");
  }
}

TEST_CASE("drop_qdq_around_moves collapses a chain of moves, each quantized, to moves on 8 bits") {
  // A transformer's head split as quantizers write it: DQ -> Reshape -> Q -> DQ -> Transpose -> Q -> DQ -> MatMul.
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 8, 16});
  const Quant p = quant(b, "p", 0.02f, 128);
  ir::Value* h = dq(b, q(b, x, p), p);
  h = dq(b, q(b, b.node("Reshape", {h, b.ints("shape", {1, 8, 4, 4})}), p), p);
  h = dq(b, q(b, b.node("Transpose", {h}, {ints_attr("perm", {0, 2, 1, 3})}), p), p);
  b.output(b.node("MatMul", {h, b.random_init("w", {4, 5})}));
  auto m = optimize_and_compare(*b.model, kPasses, true, kExact);
  CHECK(count_ops(*m->graph, "QuantizeLinear") == 1);
  CHECK(count_ops(*m->graph, "DequantizeLinear") == 1);
  for (const ir::Node* n : m->graph->nodes())
    if (n->op_type() == "MatMul") CHECK(producer_op(n->input(0)) == "DequantizeLinear");
}

TEST_CASE("drop_qdq_around_moves keeps graph outputs, per-axis and int32 dequantizations as they are") {
  SUBCASE("the Q output is a graph output: the move's output takes its name") {
    ModelBuilder b(13);
    ir::Value* x = b.input("x", {2, 3});
    const Quant p = quant(b, "p", 0.05f, 120);
    ir::Value* y = q(b, b.node("Transpose", {dq(b, q(b, x, p), p)}), p);
    b.output(y);
    const std::string name = y->name();
    auto m = optimize_and_compare(*b.model, kPasses, true, kExact);
    CHECK(count_ops(*m->graph, "QuantizeLinear") == 1);
    REQUIRE(m->graph->outputs().size() == 1);
    CHECK(m->graph->outputs()[0]->name() == name);
    CHECK(producer_op(m->graph->outputs()[0]) == "Transpose");
  }
  SUBCASE("the moved float tensor is a graph output: nothing moves") {
    ModelBuilder b(13);
    ir::Value* x = b.input("x", {2, 3});
    const Quant p = quant(b, "p", 0.05f, 120);
    ir::Value* t = b.node("Transpose", {dq(b, q(b, x, p), p)});
    b.output(t);
    auto m = optimize_and_compare(*b.model, kPasses, true, kExact);
    CHECK(m->graph->outputs()[0]->type.elem == DType::Float);
    CHECK(producer_op(m->graph->outputs()[0]) == "Transpose");
  }
  SUBCASE("a per-axis DequantizeLinear does not commute with a Transpose") {
    ModelBuilder b(13);
    Tensor w(DType::Int8, {3, 2});
    for (int64_t i = 0; i < w.numel(); ++i) w.mutable_data<int8_t>()[i] = static_cast<int8_t>(i * 5 - 12);
    ir::Value* wq = b.init("wq", std::move(w));
    ir::Value* ws = b.init("ws", Tensor::from_vector<float>(DType::Float, {3}, {0.1f, 0.2f, 0.3f}));
    ir::Value* wz = b.init("wz", Tensor::from_vector<int8_t>(DType::Int8, {3}, {0, 0, 0}));
    ir::Value* wf = b.node("DequantizeLinear", {wq, ws, wz}, {int_attr("axis", 0)});
    b.output(b.node("MatMul", {b.input("x", {4, 2}), b.node("Transpose", {wf})}));
    auto m = optimize_and_compare(*b.model, kPasses, true, kExact);
    for (const ir::Node* n : m->graph->nodes())
      if (n->op_type() == "Transpose") CHECK(producer_op(n->input(0)) == "DequantizeLinear");
  }
  SUBCASE("an int32 DequantizeLinear (a bias) is not an 8-bit one") {
    ModelBuilder b(13);
    ir::Value* bq = b.init("bq", Tensor::from_vector<int32_t>(DType::Int32, {2, 3}, {1, -2, 3, 400, -5, 6}));
    ir::Value* bs = b.init("bs", Tensor::from_vector<float>(DType::Float, {}, {0.01f}));
    ir::Value* bf = b.node("DequantizeLinear", {bq, bs});
    b.output(b.node("Add", {b.input("x", {3, 2}), b.node("Transpose", {bf})}));
    auto m = optimize_and_compare(*b.model, kPasses, true, kExact);
    for (const ir::Node* n : m->graph->nodes())
      if (n->op_type() == "Transpose") CHECK(producer_op(n->input(0)) == "DequantizeLinear");
  }
}

TEST_CASE("drop_qdq_around_moves leaves a DQ -> Q pair of different parameters and drops one of equal ones") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3});
  const Quant p1 = quant(b, "p1", 0.05f, 120), p2 = quant(b, "p2", 0.07f, 100);
  ir::Value* a = q(b, x, p1);
  b.output(dq(b, q(b, dq(b, a, p1), p2), p2));  // requantization: stays
  b.output(dq(b, q(b, dq(b, a, p1), p1), p1));  // Q(DQ(a)) == a: goes
  auto m = optimize_and_compare(*b.model, kPasses, true, kExact);
  CHECK(count_ops(*m->graph, "QuantizeLinear") == 2);
  CHECK(count_ops(*m->graph, "DequantizeLinear") == 3);
}

TEST_CASE("drop_qdq_around_moves leaves a DequantizeLinear above a move whose output a subgraph reads") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3});
  ir::Value* cond = b.input("cond", {}, DType::Bool);
  const Quant p = quant(b, "p", 0.05f, 120);
  ir::Value* t = b.node("Transpose", {dq(b, q(b, x, p), p)});
  ir::Value* y = if_reading(b, cond, t);
  b.output(y);
  run_passes(*b.model, {"drop_qdq_around_moves"});
  REQUIRE(b.g().verify().is_ok());
  for (const ir::Node* n : b.g().nodes())
    if (n->op_type() == "Transpose") CHECK(producer_op(n->input(0)) == "DequantizeLinear");
}
