// Tests of constant_to_initializer: Constant nodes become initializers of the same name.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("constant_to_initializer turns every Constant form into an initializer") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {3});
  ir::Node* c = b.g().add_node("Constant", "", {}, {"w"});
  c->set_attr(ir::Attribute::make_tensor(
      "value", std::make_shared<const Tensor>(Tensor::from_vector<float>(DType::Float, {3}, {1, 2, 3}))));
  ir::Node* f = b.g().add_node("Constant", "", {}, {"s"});
  f->set_attr(float_attr("value_float", 0.5f));
  ir::Value* y = b.node("Mul", {b.node("Add", {x, c->output(0)}), f->output(0)});
  b.output(y);
  auto m = optimize_and_compare(*b.model, {"constant_to_initializer"});
  CHECK(count_ops(*m->graph, "Constant") == 0);
  REQUIRE(m->graph->find_value("w") != nullptr);
  CHECK(m->graph->find_value("w")->is_constant());
  CHECK(m->graph->find_value("s")->constant()->numel() == 1);
  CHECK(m->graph->initializers().size() == 2);
}

TEST_CASE("constant_to_initializer keeps a Constant that is a graph output") {
  ModelBuilder b;
  b.input("x", {1});
  ir::Node* c = b.g().add_node("Constant", "", {}, {"out"});
  c->set_attr(float_attr("value_float", 1.0f));
  b.output(c->output(0));
  auto r = run_passes(*b.model, {"constant_to_initializer"});
  CHECK_FALSE(r.changed);
  CHECK(count_ops(b.g(), "Constant") == 1);
}
