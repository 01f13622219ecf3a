// Tests of eliminate_neutral_elements: Add/Sub of zero and Mul/Div by one, and when they must stay.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("eliminate_neutral_elements drops x + 0, 0 + x, x - 0, x * 1, 1 * x and x / 1") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 3});
  ir::Value* v = b.node("Add", {b.node("Relu", {x}), b.scalar("zero", 0.0f)});
  v = b.node("Add", {b.init("zeros", Tensor(DType::Float, {1, 3})), v});
  v = b.node("Sub", {v, b.scalar("zero2", -0.0f)});
  v = b.node("Mul", {v, b.scalar("one", 1.0f)});
  v = b.node("Mul", {b.scalar("one2", 1.0f), v});
  v = b.node("Div", {v, b.scalar("one3", 1.0f)});
  b.output(b.node("Exp", {v}));
  auto m = optimize_and_compare(*b.model, {"shape_inference", "eliminate_neutral_elements"});
  CHECK(count_ops(*m->graph, "Add") == 0);
  CHECK(count_ops(*m->graph, "Sub") == 0);
  CHECK(count_ops(*m->graph, "Mul") == 0);
  CHECK(count_ops(*m->graph, "Div") == 0);
}

TEST_CASE("eliminate_neutral_elements on integers (shape arithmetic)") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {4}, DType::Int64);
  ir::Value* one = b.init("one", Tensor::scalar_i64(1));
  ir::Value* v = b.node("Mul", {b.node("Neg", {x}), one});
  b.output(b.node("Div", {v, one}));
  ir::Value* nonzero = b.node("Add", {b.node("Abs", {v}), one});
  b.output(b.node("Div", {one, nonzero}));  // 1 / v is not v
  auto m = optimize_and_compare(*b.model, {"shape_inference", "eliminate_neutral_elements"});
  CHECK(count_ops(*m->graph, "Mul") == 0);
  CHECK(count_ops(*m->graph, "Div") == 1);
  CHECK(count_ops(*m->graph, "Add") == 1);
}

TEST_CASE("eliminate_neutral_elements keeps what broadcasting or position would change") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {3});
  ir::Value* r = b.node("Relu", {x});
  b.output(b.node("Add", {r, b.init("zeros23", Tensor(DType::Float, {2, 3}))}));  // [3] + [2, 3] is [2, 3]
  b.output(b.node("Sub", {b.scalar("zero", 0.0f), r}));                            // 0 - x is -x
  b.output(b.node("Mul", {r, b.scalar("two", 2.0f)}));                               // not neutral
  Tensor mixed = Tensor::from_vector(DType::Float, {3}, std::vector<float>{1, 1, 0.5f});
  b.output(b.node("Mul", {r, b.init("mixed", mixed)}));
  auto m = optimize_and_compare(*b.model, {"shape_inference", "eliminate_neutral_elements"});
  CHECK(count_ops(*m->graph, "Add") == 1);
  CHECK(count_ops(*m->graph, "Sub") == 1);
  CHECK(count_ops(*m->graph, "Mul") == 2);
}
