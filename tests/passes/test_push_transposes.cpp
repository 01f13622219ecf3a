// Tests of push_transposes: Transposes moved below the ops they feed, until they cancel or vanish.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {
const std::vector<std::string> kPipeline = {"shape_inference", "push_transposes", "fuse_transpose_pairs",
                                            "eliminate_noop", "eliminate_dead_code"};

Tensor scalar_index(int64_t v) { return Tensor::scalar_i64(v); }
}  // namespace

TEST_CASE("push_transposes: a channel split written as reshape, permute, reshape and indexing keeps one Reshape") {
  // As ShuffleNetV2's original code writes it: x.reshape(b*c/2, 2, h*w).permute(1, 0, 2).reshape(2, -1, c/2, h, w),
  // then x[0] and x[1].
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 8, 3, 3});
  ir::Value* r1 = b.node("Reshape", {b.node("Relu", {x}), b.ints("s1", {4, 2, 9})});
  ir::Value* t = b.node("Transpose", {r1}, {ints_attr("perm", {1, 0, 2})});
  ir::Value* r2 = b.node("Reshape", {t, b.ints("s2", {2, -1, 4, 3, 3})});
  ir::Value* i0 = b.init("i0", scalar_index(0));
  ir::Value* i1 = b.init("i1", scalar_index(1));
  ir::Value* a = b.node("Gather", {r2, i0}, {int_attr("axis", 0)});
  ir::Value* c = b.node("Gather", {r2, i1}, {int_attr("axis", 0)});
  b.output(b.node("Concat", {c, a}, {int_attr("axis", 1)}));
  REQUIRE(count_ops(*b.model->graph, "Reshape") == 2);
  auto m = optimize_and_compare(*b.model, kPipeline, true);
  CHECK(count_ops(*m->graph, "Transpose") == 0);
  CHECK(count_ops(*m->graph, "Reshape") == 1);
  CHECK(count_ops(*m->graph, "Gather") == 2);
}

TEST_CASE("push_transposes: through element-wise ops and a constant operand, then cancelled") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 3, 4});
  ir::Value* t = b.node("Transpose", {x}, {ints_attr("perm", {2, 0, 1})});
  ir::Value* r = b.node("Relu", {t});
  ir::Value* add = b.node("Add", {r, b.random_init("bias", {2, 3})});  // broadcasts over [4, 2, 3]
  ir::Value* mul = b.node("Mul", {b.scalar("two", 2.0f), add});
  b.output(b.node("Transpose", {mul}, {ints_attr("perm", {1, 2, 0})}));
  auto m = optimize_and_compare(*b.model, kPipeline, true);
  CHECK(count_ops(*m->graph, "Transpose") == 0);
  CHECK(count_ops(*m->graph, "Add") == 1);
}

TEST_CASE("push_transposes: two Transposes of the same perm meet at a binary op") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 3, 4});
  ir::Value* y = b.input("y", {2, 3, 4});
  ir::Value* tx = b.node("Transpose", {x}, {ints_attr("perm", {1, 0, 2})});
  ir::Value* ty = b.node("Transpose", {y}, {ints_attr("perm", {1, 0, 2})});
  b.output(b.node("Sigmoid", {b.node("Sub", {tx, ty})}));
  auto m = optimize_and_compare(*b.model, kPipeline, true);
  CHECK(count_ops(*m->graph, "Transpose") == 1);
}

TEST_CASE("push_transposes: reductions map their axes; keepdims=0 drops the reduced dims from the perm") {
  for (int64_t opset : {13, 18}) {
    CAPTURE(opset);
    ModelBuilder b(opset);
    ir::Value* x = b.input("x", {2, 3, 4});
    ir::Value* t = b.node("Transpose", {x}, {ints_attr("perm", {2, 0, 1})});
    ir::Value* red;
    if (opset >= 18) red = b.node("ReduceMean", {t, b.ints("axes", {0})}, {int_attr("keepdims", 0)});
    else red = b.node("ReduceMean", {t}, {ints_attr("axes", {0}), int_attr("keepdims", 0)});
    b.output(b.node("Exp", {red}));
    auto m = optimize_and_compare(*b.model, kPipeline, true);
    // [4, 2, 3] reduced over its first dim is x reduced over its last: no transpose left.
    CHECK(count_ops(*m->graph, "Transpose") == 0);
  }
}

TEST_CASE("push_transposes: Softmax and Gather with 1-D indices take the mapped axis") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3, 4});
  ir::Value* t = b.node("Transpose", {x}, {ints_attr("perm", {0, 2, 1})});
  ir::Value* s = b.node("Softmax", {t}, {int_attr("axis", 1)});
  ir::Value* gi = b.ints("idx", {2, 0});
  ir::Value* g = b.node("Gather", {s, gi}, {int_attr("axis", 2)});
  b.output(b.node("Transpose", {g}, {ints_attr("perm", {0, 2, 1})}));
  auto m = optimize_and_compare(*b.model, kPipeline, true);
  CHECK(count_ops(*m->graph, "Transpose") == 0);
}

TEST_CASE("push_transposes leaves a real shuffle alone (a reshape merging dims the Transpose reorders)") {
  // torchvision's channel shuffle: reshape [b, 2, c/2, h, w], swap the two channel dims, merge them again.
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 8, 3, 3});
  ir::Value* r1 = b.node("Reshape", {x, b.ints("s1", {1, 2, 4, 3, 3})});
  ir::Value* t = b.node("Transpose", {r1}, {ints_attr("perm", {0, 2, 1, 3, 4})});
  b.output(b.node("Reshape", {t, b.ints("s2", {1, 8, 3, 3})}));
  auto m = optimize_and_compare(*b.model, kPipeline, true);
  CHECK(count_ops(*m->graph, "Transpose") == 1);
  CHECK(count_ops(*m->graph, "Reshape") == 2);
}

TEST_CASE("push_transposes does not multiply Transposes over several consumers") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 3, 4});
  ir::Value* t = b.node("Transpose", {x}, {ints_attr("perm", {2, 1, 0})});
  b.output(b.node("Relu", {t}));
  b.output(b.node("Exp", {t}));
  auto m = optimize_and_compare(*b.model, kPipeline, true);
  CHECK(count_ops(*m->graph, "Transpose") == 1);
  CHECK(m->graph->nodes().size() == 3);
}
