// Tests of --freeze-inputs (passes/freeze_inputs): initializers listed as graph inputs are
// overridable and stop folding; frozen, they fold, and the model computes the same.
#include "passes/freeze_inputs.h"
#include "passes/optimize.h"
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {

// x -> Conv -> BatchNormalization, every weight also a graph input, as old PyTorch exports write it.
std::unique_ptr<ir::Model> old_export(int64_t ir_version) {
  ModelBuilder b(9);
  b.model->ir_version = ir_version;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.node("Conv", {x, b.random_init("w", {4, 3, 3, 3}), b.random_init("bias", {4})},
                        {ints_attr("kernel_shape", {3, 3})});
  b.output(b.node("BatchNormalization", {c, b.random_init("gamma", {4}), b.random_init("beta", {4}),
                                         b.random_init("mean", {4}), b.random_init("var", {4}, 0.5f, 2.0f)}));
  for (const char* n : {"w", "bias", "gamma", "beta", "mean", "var"}) b.g().add_input(b.g().find_value(n));
  return std::move(b.model);
}

}  // namespace

TEST_CASE("initializer inputs are reported and left alone without --freeze-inputs") {
  auto m = old_export(6);
  auto r = passes::optimize_model(*m, {});
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK(r->initializer_inputs == 6);
  CHECK(r->frozen_inputs == 0);
  CHECK(count_ops(*m->graph, "BatchNormalization") == 1);
  CHECK(m->graph->inputs().size() == 7);
}

TEST_CASE("--freeze-inputs makes them constants: BatchNormalization folds, outputs agree") {
  auto original = old_export(6);
  auto frozen = clone_model(*original);
  passes::OptimizeOptions o;
  o.freeze_inputs = true;
  auto r = passes::optimize_model(*frozen, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK(r->frozen_inputs == 6);
  CHECK(r->changed);
  CHECK(count_ops(*frozen->graph, "BatchNormalization") == 0);
  REQUIRE(frozen->graph->inputs().size() == 1);
  CHECK(frozen->graph->inputs()[0]->name() == "x");
  CHECK(frozen->ir_version == 6);
  check_same_outputs(*original, *frozen);
}

TEST_CASE("freezing an IR 3 model moves it to IR 4, where initializers need not be inputs") {
  auto m = old_export(3);
  CHECK(passes::count_initializer_inputs(*m->graph) == 6);
  CHECK(passes::freeze_initializer_inputs(*m) == 6);
  CHECK(m->ir_version == 4);
  CHECK(passes::count_initializer_inputs(*m->graph) == 0);
  CHECK(passes::freeze_initializer_inputs(*m) == 0);
  CHECK(m->graph->verify().is_ok());
}
