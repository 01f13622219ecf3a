// Tests of eliminate_identity: Identity and inference Dropout go; graph output names stay.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("eliminate_identity removes Identity chains and inference Dropout") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3});
  ir::Value* r = b.node("Relu", {x});
  ir::Value* i1 = b.node("Identity", {r});
  ir::Value* d = b.node("Dropout", {i1}, {}, 1);
  ir::Value* i2 = b.node("Identity", {d});
  b.output(b.node("Exp", {i2}));
  auto m = optimize_and_compare(*b.model, {"eliminate_identity"});
  CHECK(count_ops(*m->graph, "Identity") == 0);
  CHECK(count_ops(*m->graph, "Dropout") == 0);
  CHECK(m->graph->num_nodes() == 2);
}

TEST_CASE("eliminate_identity keeps Dropout whose mask is read or that trains, not one training with ratio 0") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {4});
  b.node("Dropout", {x}, {}, 2);
  ir::Node* with_mask = b.last;
  b.output(with_mask->output(0));
  b.output(with_mask->output(1));
  ir::Value* training = b.init("t", Tensor::from_vector<uint8_t>(DType::Bool, {}, {1}));
  b.node("Dropout", {x, b.scalar("ratio", 0.5f), training});
  b.output(b.last->output(0));
  // Training with ratio 0 keeps every value and scales by 1 / (1 - 0): an identity (Swin's attention dropout).
  b.node("Dropout", {x, b.scalar("zero", 0.0f), training});
  ir::Node* zero = b.last;
  b.output(b.node("Exp", {zero->output(0)}));
  run_passes(*b.model, {"eliminate_identity"});
  CHECK(count_ops(b.g(), "Dropout") == 2);
  for (const ir::Node* n : b.g().nodes()) CHECK(n != zero);
}

TEST_CASE("eliminate_identity keeps graph output names") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {3});
  ir::Value* r = b.node("Relu", {x});
  ir::Value* y = b.node("Identity", {r});
  b.output(y);
  std::string name = y->name();
  // Identity(input) -> output: nothing else can carry the output's name, so it stays.
  ir::Value* z = b.node("Identity", {x});
  b.output(z);
  auto m = optimize_and_compare(*b.model, {"eliminate_identity"});
  CHECK(count_ops(*m->graph, "Identity") == 1);
  CHECK(m->graph->outputs()[0]->name() == name);
  CHECK(m->graph->outputs()[0]->producer()->op_type() == "Relu");
  CHECK(m->graph->outputs()[1]->name() == z->name());
}
