// optimize's numeric check can fail: wrong weights on outputs that random inputs leave tiny, a changed
// real text detector, the all-zero output judged by atol, and model-local functions checked, not skipped.
#include "passes/equivalence_check.h"

#include <filesystem>

#include "lib/model_io.h"
#include "passes/optimize.h"
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;
namespace fs = std::filesystem;

namespace {

// Multiplies the constant weight `w` (an initializer or folded Constant) by `factor`.
void scale_constant(ir::Graph& g, ir::Value* w, float factor) {
  REQUIRE(w->is_constant());
  REQUIRE(w->constant()->dtype() == DType::Float);
  auto t = std::make_shared<Tensor>(DType::Float, w->constant()->dims());
  for (int64_t i = 0; i < t->numel(); ++i) t->mutable_data<float>()[i] = w->constant()->data<float>()[i] * factor;
  g.set_constant(w, std::move(t));
}

// The weight input of the last ConvTranspose.
ir::Value* last_conv_transpose_weight(ir::Graph& g) {
  ir::Node* last = nullptr;
  for (ir::Node* n : g.nodes())
    if (n->op_type() == "ConvTranspose") last = n;
  REQUIRE(last != nullptr);
  return last->input(1);
}

// A detector head in miniature: Conv, Relu, ConvTranspose with a bias of -20, Sigmoid. On random inputs
// the outputs are ~1e-9, far inside atol 1e-4, as the real text detector's are on noise.
std::unique_ptr<ir::Model> tiny_output_head() {
  ModelBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* c = b.node("Conv", {x, b.random_init("w", {4, 3, 3, 3}), b.random_init("b", {4})},
                        {ints_attr("pads", {1, 1, 1, 1})});
  ir::Value* r = b.node("Relu", {c});
  Tensor bias(DType::Float, {1});
  bias.mutable_data<float>()[0] = -20.0f;
  ir::Value* t = b.node("ConvTranspose", {r, b.random_init("wt", {4, 1, 2, 2}), b.init("bt", std::move(bias))},
                        {ints_attr("strides", {2, 2})});
  b.output(b.node("Sigmoid", {t}));
  return std::move(b.model);
}

passes::CheckReport check(const ir::Model& original, const ir::Model& optimized, passes::CheckOptions o = {}) {
  auto r = passes::check_equivalence(original, optimized, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return *r;
}

}  // namespace

TEST_CASE("the check fails a 1.2x ConvTranspose weight whose outputs random inputs leave tiny") {
  auto original = tiny_output_head();
  auto same = clone_model(*original);
  passes::CheckReport ok = check(*original, *same, {});
  CHECK(ok.ran);
  CHECK(ok.passed);

  auto changed = clone_model(*original);
  scale_constant(*changed->graph, last_conv_transpose_weight(*changed->graph), 1.2f);
  passes::CheckReport bad = check(*original, *changed, {});
  REQUIRE(bad.ran);
  CHECK_FALSE(bad.passed);
  REQUIRE(bad.outputs.size() == 1);
  // Every element is within atol: the output is judged as a whole.
  CHECK(bad.outputs[0].stats.failed == 0);
  CHECK(bad.outputs[0].stats.max_abs < 1e-6);
  CHECK(bad.failure.find("SQNR") != std::string::npos);
  CHECK(bad.failure.find("60 dB") != std::string::npos);

  // rtol 0 asks nothing of the output as a whole: atol alone then passes it.
  passes::CheckOptions atol_only;
  atol_only.tolerance = {1e-4, 0};
  CHECK(check(*original, *changed, atol_only).passed);
}

TEST_CASE("the check passes what optimize_model makes of the tiny-output head") {
  auto original = tiny_output_head();
  auto optimized = clone_model(*original);
  passes::OptimizeOptions o;
  REQUIRE(passes::optimize_model(*optimized, o).is_ok());
  passes::CheckOptions co;
  co.runs = 3;
  passes::CheckReport r = check(*original, *optimized, co);
  CHECK(r.ran);
  CHECK_MESSAGE(r.passed, r.failure);
}

TEST_CASE("an all-zero output is judged by atol alone") {
  // x * 0 against x * 1e-9: no signal to measure an SQNR against, every element within atol.
  auto make = [](float k) {
    ModelBuilder b;
    ir::Value* x = b.input("x", {2, 5});
    b.output(b.node("Mul", {x, b.scalar("k", k)}));
    return std::move(b.model);
  };
  auto zero = make(0.0f), tiny = make(1e-9f), big = make(1e-3f);
  CHECK(check(*zero, *tiny).passed);
  passes::CheckReport r = check(*zero, *big);
  CHECK_FALSE(r.passed);
  CHECK(r.outputs[0].stats.failed > 0);
}

TEST_CASE("the check runs model-local functions as ortool run does, instead of skipping") {
  auto m = load_model(fs::path(ORTOOL_SOURCE_DIR) / "testdata" / "local_function.onnx");
  REQUIRE_MESSAGE(m.is_ok(), m.status().message());
  auto optimized = clone_model(**m);
  REQUIRE(passes::optimize_model(*optimized, {}).is_ok());
  passes::CheckReport r = check(**m, *optimized);
  CHECK_MESSAGE(r.ran, r.skipped_reason);
  CHECK_MESSAGE(r.passed, r.failure);
}

#ifdef ORTOOL_MODELS_DIR
TEST_CASE("the check fails the real text detector with its last ConvTranspose scaled by 1.2") {
  fs::path path = fs::path(ORTOOL_MODELS_DIR) / "ppocr_det_v3" / "model.onnx";
  REQUIRE_MESSAGE(fs::exists(path), "missing " << path.string());
  auto original = load_model(path);
  REQUIRE_MESSAGE(original.is_ok(), original.status().message());
  passes::CheckOptions o;
  o.input_shapes["x"] = {1, 3, 64, 96};

  auto optimized = clone_model(**original);
  REQUIRE(passes::optimize_model(*optimized, {}).is_ok());
  passes::CheckReport ok = check(**original, *optimized, o);
  CHECK(ok.ran);
  CHECK_MESSAGE(ok.passed, ok.failure);

  scale_constant(*optimized->graph, last_conv_transpose_weight(*optimized->graph), 1.2f);
  passes::CheckReport bad = check(**original, *optimized, o);
  REQUIRE(bad.ran);
  CHECK_FALSE(bad.passed);
  CHECK(bad.failure.find("SQNR") != std::string::npos);
}
#endif
