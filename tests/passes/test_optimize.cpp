// Tests of optimize_model: a small network end to end, idempotence, --shape, --target-opset.
#include "passes/equivalence_check.h"
#include "passes/optimize.h"
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {
// Conv-BN-Relu, a Shape-driven flatten, Identity, MatMul+Add: what exporters commonly emit.
std::unique_ptr<ir::Model> small_net(int64_t opset = 13, bool symbolic_batch = false) {
  ModelBuilder b(opset);
  ir::Value* x = symbolic_batch ? b.symbolic_input("x", {-1, 3, 8, 8}) : b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.node("Conv", {x, b.random_init("w", {4, 3, 3, 3}), b.random_init("cb", {4})},
                        {ints_attr("kernel_shape", {3, 3}), ints_attr("pads", {1, 1, 1, 1})});
  ir::Value* bn = b.node("BatchNormalization", {c, b.random_init("g", {4}), b.random_init("be", {4}),
                                                b.random_init("mu", {4}), b.random_init("var", {4}, 0.5f, 2.0f)});
  ir::Value* r = b.node("Relu", {bn});
  ir::Value* p = b.node("GlobalAveragePool", {r});
  ir::Value* shape = b.node("Shape", {p});
  ir::Value* n = b.node("Gather", {shape, b.init("zero", Tensor::scalar_i64(0))}, {int_attr("axis", 0)});
  ir::Value* u = b.node("Unsqueeze", {n, b.ints("ax", {0})});
  ir::Value* target = b.node("Concat", {u, b.ints("m1", {-1})}, {int_attr("axis", 0)});
  ir::Value* flat = b.node("Reshape", {p, target});
  ir::Value* id = b.node("Identity", {flat});
  ir::Value* mm = b.node("MatMul", {id, b.random_init("fc", {4, 5})});
  b.output(b.node("Add", {mm, b.random_init("fcb", {5})}));
  return std::move(b.model);
}
}  // namespace

TEST_CASE("optimize_model shrinks a small network and keeps its outputs") {
  auto m = small_net();
  auto before = clone_model(*m);
  passes::OptimizeOptions o;
  o.verify_each = true;
  auto r = passes::optimize_model(*m, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK(r->changed);
  CHECK(r->pipeline.converged);
  CHECK(r->before.nodes == 12);
  // Conv, Relu, GlobalAveragePool, Reshape, Gemm.
  CHECK(r->after.nodes == 5);
  CHECK(r->after.op_counts.count("BatchNormalization") == 0);
  CHECK(r->after.op_counts["Gemm"] == 1);
  CHECK(m->graph->outputs()[0]->name() == before->graph->outputs()[0]->name());
  check_same_outputs(*before, *m, 3, {1e-4, 1e-3});

  passes::CheckOptions co;
  co.runs = 2;
  auto check = passes::check_equivalence(*before, *m, co);
  REQUIRE(check.is_ok());
  CHECK(check->ran);
  CHECK(check->passed);

  // Idempotence: optimizing the result again changes nothing.
  auto again = clone_model(*m);
  auto r2 = passes::optimize_model(*again, o);
  REQUIRE(r2.is_ok());
  CHECK_FALSE(r2->changed);
  CHECK(r2->after.nodes == r->after.nodes);
}

TEST_CASE("the basic level leaves Gemm fusion to the extended level") {
  auto m = small_net();
  passes::OptimizeOptions o;
  o.level = "basic";
  auto r = passes::optimize_model(*m, o);
  REQUIRE(r.is_ok());
  CHECK(r->after.op_counts.count("BatchNormalization") == 0);
  CHECK(r->after.op_counts.count("Gemm") == 0);
  CHECK(r->after.op_counts["MatMul"] == 1);
}

TEST_CASE("--shape fixes a symbolic batch; without it the flatten copies the batch") {
  auto m = small_net(13, true);
  passes::OptimizeOptions plain;
  auto sym = clone_model(*m);
  auto r0 = passes::optimize_model(*sym, plain);
  REQUIRE(r0.is_ok());
  // Reshape(p, Concat(Shape(p)[0], -1)) reads only its own batch: the target becomes [0, -1].
  CHECK(r0->after.op_counts.count("Shape") == 0);
  CHECK(r0->after.op_counts["Gemm"] == 1);
  CHECK(sym->graph->inputs()[0]->type.shape->at(0).kind == Dim::Kind::Param);

  passes::OptimizeOptions o;
  o.input_shapes["x"] = {2, 3, 8, 8};
  auto r = passes::optimize_model(*m, o);
  REQUIRE(r.is_ok());
  CHECK(r->after.op_counts.count("Shape") == 0);
  CHECK(static_dims(*m->graph->inputs()[0]->type.shape) == std::vector<int64_t>{2, 3, 8, 8});

  passes::OptimizeOptions bad;
  bad.input_shapes["x"] = {2, 3};
  auto m2 = small_net(13, true);
  CHECK_FALSE(passes::optimize_model(*m2, bad).is_ok());
  bad.input_shapes.clear();
  bad.input_shapes["nope"] = {1};
  CHECK_FALSE(passes::optimize_model(*m2, bad).is_ok());
}

TEST_CASE("--target-opset converts so that LayerNormalization fusion applies") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 8});
  ir::Value* m = b.node("ReduceMean", {x}, {ints_attr("axes", {-1})});
  ir::Value* d = b.node("Sub", {x, m});
  ir::Value* var = b.node("ReduceMean", {b.node("Pow", {d, b.scalar("two", 2.0f)})}, {ints_attr("axes", {-1})});
  ir::Value* y = b.node("Div", {d, b.node("Sqrt", {b.node("Add", {var, b.scalar("eps", 1e-5f)})})});
  b.output(b.node("Add", {b.node("Mul", {y, b.random_init("gamma", {8})}), b.random_init("beta", {8})}));
  auto before = clone_model(*b.model);

  auto kept = clone_model(*b.model);
  auto r0 = passes::optimize_model(*kept, {});
  REQUIRE(r0.is_ok());
  CHECK(r0->after.op_counts.count("LayerNormalization") == 0);

  passes::OptimizeOptions o;
  o.target_opset = 17;
  auto r = passes::optimize_model(*b.model, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK(b.model->opset("") == 17);
  CHECK(r->after.op_counts["LayerNormalization"] == 1);
  CHECK(r->after.nodes == 1);
  check_same_outputs(*before, *b.model, 2, {1e-4, 1e-3});
}

TEST_CASE("optimize_model rejects unknown pass names") {
  auto m = small_net();
  passes::OptimizeOptions o;
  o.passes = {"constant_folding", "bogus"};
  auto r = passes::optimize_model(*m, o);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("bogus") != std::string::npos);
}
