// Tests of fuse_conv_bn: BatchNormalization folds into the Conv before it.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {
// x -> Conv(w[, b]) -> BatchNormalization -> Relu
void conv_bn(ModelBuilder& b, bool bias, int64_t group = 1) {
  ir::Value* x = b.input("x", {1, 4, 6, 6});
  ir::Value* w = b.random_init("w", {6, 4 / group, 3, 3});
  std::vector<ir::Value*> ins = {x, w};
  if (bias) ins.push_back(b.random_init("b", {6}));
  ir::Value* c = b.node("Conv", ins, {ints_attr("kernel_shape", {3, 3}), ints_attr("pads", {1, 1, 1, 1}),
                                      int_attr("group", group)});
  ir::Value* y = b.node("BatchNormalization", {c, b.random_init("gamma", {6}), b.random_init("beta", {6}),
                                               b.random_init("mean", {6}), b.random_init("var", {6}, 0.5f, 2.0f)},
                        {float_attr("epsilon", 1e-3f)});
  b.output(b.node("Relu", {y}));
}
}  // namespace

TEST_CASE("fuse_conv_bn folds BN into a Conv with and without bias") {
  for (bool bias : {true, false}) {
    ModelBuilder b;
    conv_bn(b, bias);
    auto m = optimize_and_compare(*b.model, {"fuse_conv_bn"});
    CHECK(count_ops(*m->graph, "BatchNormalization") == 0);
    CHECK(count_ops(*m->graph, "Conv") == 1);
  }
}

TEST_CASE("fuse_conv_bn handles grouped convolution") {
  ModelBuilder b;
  conv_bn(b, true, 2);
  auto m = optimize_and_compare(*b.model, {"fuse_conv_bn"});
  CHECK(count_ops(*m->graph, "BatchNormalization") == 0);
}

TEST_CASE("fuse_conv_bn leaves BN whose Conv output has other readers or whose parameters are inputs") {
  ModelBuilder b;
  conv_bn(b, true);
  ir::Node* conv = nullptr;
  for (ir::Node* n : b.g().nodes())
    if (n->op_type() == "Conv") conv = n;
  b.output(conv->output(0));
  run_passes(*b.model, {"fuse_conv_bn"});
  CHECK(count_ops(b.g(), "BatchNormalization") == 1);

  ModelBuilder c;
  conv_bn(c, true);
  c.g().add_input(c.g().find_value("mean"));  // overridable: not a constant
  run_passes(*c.model, {"fuse_conv_bn"});
  CHECK(count_ops(c.g(), "BatchNormalization") == 1);
}

TEST_CASE("fuse_conv_bn refuses parameters of the wrong size") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {1, 2, 4, 4});
  ir::Value* c = b.node("Conv", {x, b.random_init("w", {3, 2, 1, 1})}, {ints_attr("kernel_shape", {1, 1})});
  ir::Value* bad = b.random_init("gamma", {2});
  b.output(b.node("BatchNormalization", {c, bad, b.random_init("beta", {3}), b.random_init("mean", {3}),
                                         b.random_init("var", {3}, 0.5f, 1.0f)}));
  auto r = run_passes(*b.model, {"fuse_conv_bn"});
  CHECK_FALSE(r.changed);
}
