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
  auto make_branch = [&](const std::string& op) {
    auto sg = std::make_shared<ir::Graph>(&b.g(), nullptr);
    ir::Node* n = sg->add_node(op, "", {e}, {op + "_out"});
    sg->add_output(n->output(0));
    return sg;
  };
  ir::Value* y = b.node("If", {cond});
  ir::Attribute then_a, else_a;
  then_a.name = "then_branch";
  then_a.type = ir::AttrType::Graph;
  then_a.g = make_branch("Neg");
  else_a.name = "else_branch";
  else_a.type = ir::AttrType::Graph;
  else_a.g = make_branch("Abs");
  then_a.g->set_parent(&b.g(), b.last);
  else_a.g->set_parent(&b.g(), b.last);
  b.last->set_attr(then_a);
  b.last->set_attr(else_a);
  b.output(y);
  run_passes(*b.model, {"eliminate_dead_code"});
  CHECK(count_ops(b.g(), "Exp") == 1);
  CHECK(count_ops(b.g(), "If") == 1);
}
