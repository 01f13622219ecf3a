// Tests of the Gemm fusions: fuse_matmul_add, fuse_gemm_bn and fuse_transpose_into_gemm.
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

TEST_CASE("fuse_matmul_add turns a 2-D MatMul plus bias into Gemm") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {3, 4});
  ir::Value* mm = b.node("MatMul", {x, b.random_init("w", {4, 5})});
  ir::Value* y = b.node("Add", {b.random_init("bias", {5}), mm});
  b.output(y);
  auto m = optimize_and_compare(*b.model, {"fuse_matmul_add"});
  CHECK(count_ops(*m->graph, "Gemm") == 1);
  CHECK(count_ops(*m->graph, "MatMul") == 0);
  CHECK(count_ops(*m->graph, "Add") == 0);
  CHECK(m->graph->outputs()[0]->name() == y->name());
}

TEST_CASE("fuse_matmul_add leaves 3-D MatMul and biases that would broadcast the result") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {2, 3, 4});
  b.output(b.node("Add", {b.node("MatMul", {x, b.random_init("w", {4, 5})}), b.random_init("bias", {5})}));
  ir::Value* x2 = b.input("x2", {1, 4});
  b.output(b.node("Add", {b.node("MatMul", {x2, b.random_init("w2", {4, 5})}), b.random_init("big", {3, 5})}));
  auto m = optimize_and_compare(*b.model, {"fuse_matmul_add"});
  CHECK(count_ops(*m->graph, "Gemm") == 0);
}

TEST_CASE("fuse_gemm_bn folds BN after Gemm and after 2-D MatMul") {
  for (bool gemm : {true, false}) {
    ModelBuilder b;
    ir::Value* x = b.input("x", {3, 4});
    ir::Value* y;
    if (gemm)
      y = b.node("Gemm", {x, b.random_init("w", {5, 4}), b.random_init("c", {5})},
                 {int_attr("transB", 1), float_attr("beta", 0.5f), float_attr("alpha", 2.0f)});
    else
      y = b.node("MatMul", {x, b.random_init("w", {4, 5})});
    ir::Value* z = b.node("BatchNormalization", {y, b.random_init("g", {5}), b.random_init("be", {5}),
                                                 b.random_init("mu", {5}), b.random_init("var", {5}, 0.5f, 2.0f)});
    b.output(z);
    auto m = optimize_and_compare(*b.model, {"fuse_gemm_bn"});
    CHECK(count_ops(*m->graph, "BatchNormalization") == 0);
    CHECK(count_ops(*m->graph, "Gemm") == 1);
    CHECK(m->graph->num_nodes() == 1);
  }
}

TEST_CASE("fuse_transpose_into_gemm flips transA/transB and turns MatMul into Gemm") {
  ModelBuilder b;
  ir::Value* x = b.input("x", {4, 3});
  ir::Value* w = b.input("w", {5, 4});
  ir::Value* xt = b.node("Transpose", {x}, {ints_attr("perm", {1, 0})});
  ir::Value* wt = b.node("Transpose", {w});
  b.output(b.node("Gemm", {xt, wt, b.random_init("c", {5})}, {int_attr("transA", 0)}));
  ir::Value* a = b.input("a", {6, 2});
  b.output(b.node("MatMul", {b.node("Transpose", {a}, {ints_attr("perm", {1, 0})}), b.random_init("v", {6, 3})}));
  auto m = optimize_and_compare(*b.model, {"shape_inference", "fuse_transpose_into_gemm"});
  CHECK(count_ops(*m->graph, "Transpose") == 0);
  CHECK(count_ops(*m->graph, "MatMul") == 0);
  CHECK(count_ops(*m->graph, "Gemm") == 2);
}
