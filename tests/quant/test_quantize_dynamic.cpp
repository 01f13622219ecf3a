// quantize_dynamic: structure (DynamicQuantizeLinear shared per tensor, MatMulInteger/ConvInteger, scalar
// zero points) and numbers against the float model.
#include <set>

#include "tests/quant/quant_doctest_util.h"

using namespace ortool;
using namespace ortool::quant;
using namespace ortool::quant_testing;
using ortool::testing::float_attr;
using ortool::testing::int_attr;
using ortool::testing::ints_attr;
using ortool::testing::ModelBuilder;

namespace {

// x[2,5,8] -> MatMul0 (w [8,6]) and MatMul1 (w [8,4]) on the same x; Add2 bias; Relu3; Gemm5 on the
// flattened MatMul1 output (transB, alpha 0.5, beta 2).
std::unique_ptr<ir::Model> mlp(int64_t opset = 13) {
  ModelBuilder b(opset);
  ir::Value* x = b.input("x", {2, 5, 8});
  ir::Value* m0 = b.node("MatMul", {x, b.random_init("w0", {8, 6})});
  ir::Value* m1 = b.node("MatMul", {x, b.random_init("w1", {8, 4})});
  ir::Value* a = b.node("Add", {m0, b.random_init("bias", {6})});
  ir::Value* r = b.node("Relu", {a});
  ir::Value* f = b.node("Reshape", {m1, b.ints("shape", {10, 4})});
  ir::Value* g = b.node("Gemm", {f, b.random_init("wg", {3, 4}), b.random_init("bg", {3})},
                        {int_attr("transB", 1), float_attr("alpha", 0.5f), float_attr("beta", 2.0f)});
  b.output(r);
  b.output(g);
  return std::move(b.model);
}

// Dynamic quantization measures activation ranges per run: per-tensor uint8 (~42 dB per tensor as in
// the static bound) and per-channel int8 weights (~42 dB); one quantized matmul in series: 42 - 3 ≈
// 39 dB. 33 dB leaves room for the cancellation in sums of random weights.
constexpr double kMinSqnr = 33.0;

}  // namespace

TEST_CASE("dynamic MatMul/Gemm: one DynamicQuantizeLinear per activation, MatMulInteger, scale multiply") {
  auto m = mlp();
  auto ref = copy_model(*m);
  REQUIRE(ref.is_ok());
  auto r = quantize_dynamic(*m, {});
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  REQUIRE(m->graph->verify().is_ok());
  CHECK(r->quantized.size() == 3);
  CHECK(r->weights_quantized == 3);
  // x feeds two MatMuls: quantized once.
  CHECK(count_op(*m, "DynamicQuantizeLinear") == 2);
  CHECK(count_op(*m, "MatMulInteger") == 3);
  CHECK(count_op(*m, "Cast") == 3);
  CHECK(count_op(*m, "MatMul") == 0);
  CHECK(count_op(*m, "Gemm") == 0);
  // Per-channel weights: scalar zero point (0 for int8), the scales in the multiply.
  for (const ir::Node* n : m->graph->nodes()) {
    if (n->op_type() != "MatMulInteger") continue;
    CHECK(n->input(1)->constant()->dtype() == DType::Int8);
    CHECK(n->input(3)->constant()->numel() == 1);
    CHECK(n->input(3)->constant()->get_int64(0) == 0);
    CHECK(n->input(0)->producer()->op_type() == "DynamicQuantizeLinear");
  }
  // Outputs keep their names.
  CHECK(m->graph->outputs()[0]->name() == "Relu3");
  CHECK(m->graph->outputs()[1]->name() == "Gemm5");
  for (const rt::Feeds& fd : seeded_feeds(*m, 3)) CHECK(output_sqnr(**ref, *m, fd) >= kMinSqnr);
}

TEST_CASE("dynamic: per-tensor and uint8 weights compute too; Gemm with transA stays float") {
  for (int variant = 0; variant < 2; ++variant) {
    CAPTURE(variant);
    auto m = mlp();
    auto ref = copy_model(*m);
    REQUIRE(ref.is_ok());
    QuantizeOptions o;
    if (variant == 0) o.per_channel = false;
    else o.weight_type = DType::UInt8;
    auto r = quantize_dynamic(*m, o);
    REQUIRE(r.is_ok());
    for (const ir::Node* n : m->graph->nodes())
      if (n->op_type() == "MatMulInteger") CHECK(n->input(3)->constant()->numel() == 1);
    CHECK(output_sqnr(**ref, *m, seeded_feeds(*m, 1)[0]) >= kMinSqnr - 3.0);  // per tensor: one scale for all columns
  }
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {4, 3});
  b.output(b.node("Gemm", {x, b.random_init("w", {4, 2})}, {int_attr("transA", 1)}));
  auto g = std::move(b.model);
  auto r = quantize_dynamic(*g, {});
  REQUIRE(r.is_ok());
  CHECK(r->quantized.empty());
  REQUIRE(outcome(r->left_float, "Gemm0"));
  CHECK(outcome(r->left_float, "Gemm0")->detail == "transA is set");
}

TEST_CASE("dynamic Conv only with dynamic_conv: ConvInteger with a scalar weight zero point, bias added after") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 3, 6, 6});
  ir::Value* c = b.node("Conv", {x, b.random_init("w", {4, 3, 3, 3}), b.random_init("bias", {4})},
                        {ints_attr("pads", {1, 1, 1, 1}), ints_attr("strides", {2, 2})});
  b.output(b.node("Relu", {c}));
  auto m = std::move(b.model);
  auto ref = copy_model(*m);
  REQUIRE(ref.is_ok());
  auto plain = copy_model(*m);
  REQUIRE(plain.is_ok());
  auto r0 = quantize_dynamic(**plain, {});
  REQUIRE(r0.is_ok());
  CHECK(r0->quantized.empty());
  CHECK(count_op(**plain, "Conv") == 1);
  for (DType wt : {DType::Int8, DType::UInt8}) {
    CAPTURE(dtype_name(wt));
    auto q = copy_model(*m);
    REQUIRE(q.is_ok());
    QuantizeOptions o;
    o.dynamic_conv = true;
    o.weight_type = wt;
    auto r = quantize_dynamic(**q, o);
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK(count_op(**q, "ConvInteger") == 1);
    CHECK(count_op(**q, "Conv") == 0);
    CHECK(count_op(**q, "Add") == 1);
    for (const ir::Node* n : (*q)->graph->nodes())
      if (n->op_type() == "ConvInteger") {
        CHECK(n->input(3)->constant()->numel() == 1);  // ONNX Runtime's ConvInteger has no per-channel zero point
        CHECK(n->input(3)->constant()->get_int64(0) == (wt == DType::Int8 ? 0 : 128));
        CHECK(n->attr_ints("strides") == std::vector<int64_t>{2, 2});
      }
    CHECK(output_sqnr(**ref, **q, seeded_feeds(**q, 1)[0]) >= kMinSqnr);
  }
}

TEST_CASE("dynamic: option checks and the opset") {
  auto m = mlp(10);
  QuantizeOptions o;
  o.activation_type = DType::Int8;
  CHECK_FALSE(quantize_dynamic(*m, o).is_ok());
  o = {};
  o.op_types = {"Conv"};
  auto bad = quantize_dynamic(*m, o);
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("dynamic-conv") != std::string::npos);
  o = {};
  o.exclude_nodes = {"MatMul1"};
  auto r = quantize_dynamic(*m, o);
  REQUIRE(r.is_ok());
  CHECK(r->opset_after == 11);  // DynamicQuantizeLinear
  CHECK(count_op(*m, "MatMul") == 1);
  CHECK(outcome(r->left_float, "MatMul1")->detail == "excluded by name");
}

TEST_CASE("dynamic share_weights: a weight shared by two MatMuls is stored once") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {3, 4});
  ir::Value* w = b.random_init("w", {4, 4});
  b.output(b.node("MatMul", {b.node("MatMul", {x, w}), w}));
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 1);
  quant::QuantizeOptions o;
  o.share_weights = true;
  auto r = quantize_dynamic(*m, o);
  REQUIRE(r.is_ok());
  CHECK(r->weights_quantized == 1);
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}

TEST_CASE("dynamic: a weight shared by two MatMuls is quantized for each (one int8 weight and zero point per node)") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {3, 4});
  ir::Value* w = b.random_init("w", {4, 4});
  ir::Value* h = b.node("MatMul", {x, w});
  b.output(b.node("MatMul", {h, w}));
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 1);
  auto r = quantize_dynamic(*m, {});
  REQUIRE(r.is_ok());
  CHECK(r->quantized.size() == 2);
  CHECK(r->weights_quantized == 2);
  CHECK(m->graph->find_value("w") == nullptr);
  // ONNX Runtime's exact int8 mode rewrites each MatMulInteger's int8 weight and zero point: none shared.
  std::set<const ir::Value*> seen;
  for (const ir::Node* n : m->graph->nodes())
    if (n->op_type() == "MatMulInteger")
      for (size_t i : {size_t{1}, size_t{3}})
        if (n->input(i) && n->input(i)->is_constant()) CHECK(seen.insert(n->input(i)).second);
  CHECK(seen.size() == 4);
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}
