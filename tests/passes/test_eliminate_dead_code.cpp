// Tests of eliminate_dead_code: unused nodes and initializers go; graph inputs stay.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("eliminate_dead_code removes unused chains and initializers") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {4});
  ir::Value* w = b.random_init("w", {4});
  ir::Value* unused = b.random_init("unused", {4});
  ir::Value* kept_input = b.random_init("kept_input", {4});
  b.g().add_input(kept_input);
  ir::Value* dead = b.node("Exp", {b.node("Add", {x, w})});
  (void)dead;
  b.output(b.node("Relu", {x}));
  (void)unused;
  auto m = optimize_and_compare(*b.model, {"eliminate_dead_code"});
  CHECK(m->graph->num_nodes() == 1);
  CHECK(m->graph->find_value("w") == nullptr);
  CHECK(m->graph->find_value("unused") == nullptr);
  CHECK(m->graph->find_value("kept_input") != nullptr);
}

TEST_CASE("eliminate_dead_code keeps nodes feeding a subgraph") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2});
  ir::Value* cond = b.input("cond", {}, DType::Bool);
  ir::Value* e = b.node("Exp", {x});
  ir::Value* y = if_reading(b, cond, e);
  b.output(y);
  run_passes(*b.model, {"eliminate_dead_code"});
  CHECK(count_ops(b.g(), "Exp") == 1);
  CHECK(count_ops(b.g(), "If") == 1);
}
