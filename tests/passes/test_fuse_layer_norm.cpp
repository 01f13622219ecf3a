// Tests of fuse_layer_norm: decomposed layer normalization becomes LayerNormalization at opset 17.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {
// The pattern PyTorch exports for nn.LayerNorm before opset 17.
ir::Value* decomposed_ln(ModelBuilder& b, ir::Value* x, bool affine, bool use_pow, int64_t opset) {
  auto mean = [&](ir::Value* v) {
    if (opset >= 18) return b.node("ReduceMean", {v, b.ints("axes" + v->name(), {-1})});
    return b.node("ReduceMean", {v}, {ints_attr("axes", {-1})});
  };
  ir::Value* m = mean(x);
  ir::Value* d = b.node("Sub", {x, m});
  ir::Value* sq = use_pow ? b.node("Pow", {d, b.scalar("two", 2.0f)}) : b.node("Mul", {d, d});
  ir::Value* var = mean(sq);
  ir::Value* std = b.node("Sqrt", {b.node("Add", {var, b.scalar("eps", 1e-5f)})});
  ir::Value* y = b.node("Div", {d, std});
  if (!affine) return y;
  y = b.node("Mul", {y, b.random_init("gamma", {8})});
  return b.node("Add", {y, b.random_init("beta", {8})});
}
}  // namespace

TEST_CASE("fuse_layer_norm fuses the decomposed pattern at opset 17 and 18") {
  for (int64_t opset : {17, 18}) {
    for (bool affine : {true, false}) {
      ModelBuilder b(opset);
      ir::Value* x = b.input("x", {2, 3, 8});
      ir::Value* y = decomposed_ln(b, x, affine, affine, opset);
      b.output(b.node("Relu", {y}));
      auto m = optimize_and_compare(*b.model, {"fuse_layer_norm"}, false, {1e-4, 1e-3});
      CHECK(count_ops(*m->graph, "LayerNormalization") == 1);
      CHECK(m->graph->num_nodes() == 2);
    }
  }
}

TEST_CASE("fuse_layer_norm needs opset 17") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 8});
  b.output(decomposed_ln(b, x, true, true, 13));
  auto r = run_passes(*b.model, {"fuse_layer_norm"});
  CHECK_FALSE(r.changed);
}

TEST_CASE("below opset 17, a graph for ortool's runtime gets the ortool-domain LayerNormalization") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3, 8});
  b.output(b.node("Relu", {decomposed_ln(b, x, true, true, 13)}));
  auto before = clone_model(*b.model);
  passes::PassManagerOptions o;
  o.verify_each = true;
  o.max_iterations = 1;
  passes::PassManager pm(o);
  REQUIRE(pm.add("fuse_layer_norm").is_ok());
  passes::PassContext ctx;
  ctx.runtime_ops = true;
  auto r = pm.run(*b.model, ctx);
  REQUIRE(r.is_ok());
  CHECK(r->changed);
  CHECK(b.g().num_nodes() == 2);
  CHECK(b.model->opset(kRuntimeDomain) == 1);
  CHECK(b.model->opset("") == 13);
  for (const ir::Node* n : b.g().nodes())
    if (n->op_type() == "LayerNormalization") CHECK(n->domain() == kRuntimeDomain);
  check_same_outputs(*before, *b.model, 2, {1e-4, 1e-3});
}

TEST_CASE("fuse_layer_norm leaves a pattern whose intermediate is read elsewhere") {
  ModelBuilder b(17);
  ir::Value* x = b.input("x", {2, 8});
  ir::Value* y = decomposed_ln(b, x, true, true, 17);
  b.output(y);
  for (ir::Node* n : b.g().nodes())
    if (n->op_type() == "Sqrt") b.output(n->output(0));
  auto r = run_passes(*b.model, {"fuse_layer_norm"});
  CHECK_FALSE(r.changed);
}
