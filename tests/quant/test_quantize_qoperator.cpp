// quantize_static, QOperator format: which groups become QLinear ops, which stay QDQ, and the numbers
// (the integer kernels agree with the QDQ form of the same model).
#include "tests/quant/quant_doctest_util.h"

using namespace ortool;
using namespace ortool::quant;
using namespace ortool::quant_testing;
using ortool::testing::float_attr;
using ortool::testing::int_attr;
using ortool::testing::ints_attr;
using ortool::testing::ModelBuilder;

namespace {

// Every op the lowering knows, plus one it leaves in QDQ form (HardSwish) and a ConvTranspose:
// x -> Conv0 -> Relu1 -> MaxPool2 -> [Sigmoid3, LeakyRelu4] -> Add5 -> Mul6 (x Sigmoid3) -> Concat8
// (with HardSwish7 of Mul6) -> ConvTranspose9 -> GlobalAveragePool10 -> Reshape11 -> Gemm12 -> MatMul13
// -> Softmax14
std::unique_ptr<ir::Model> mixed_net() {
  ModelBuilder b(14);  // HardSwish
  ir::Value* x = b.input("x", {2, 3, 8, 8});
  ir::Value* c = b.node("Conv", {x, b.random_init("wc", {4, 3, 3, 3}), b.random_init("bc", {4})},
                        {ints_attr("pads", {1, 1, 1, 1})});
  ir::Value* r = b.node("Relu", {c});
  ir::Value* p = b.node("MaxPool", {r}, {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})});
  ir::Value* s = b.node("Sigmoid", {p});
  ir::Value* l = b.node("LeakyRelu", {p}, {float_attr("alpha", 0.1f)});
  ir::Value* a = b.node("Add", {s, l});
  ir::Value* m = b.node("Mul", {a, s});
  ir::Value* h = b.node("HardSwish", {m});
  ir::Value* cat = b.node("Concat", {m, h}, {int_attr("axis", 1)});
  ir::Value* t = b.node("ConvTranspose", {cat, b.random_init("wt", {8, 2, 2, 2})}, {ints_attr("strides", {2, 2})});
  ir::Value* g = b.node("GlobalAveragePool", {t});
  ir::Value* f = b.node("Reshape", {g, b.ints("shape", {2, 2})});
  ir::Value* gm = b.node("Gemm", {f, b.random_init("wg", {6, 2}), b.random_init("bg", {6})}, {int_attr("transB", 1)});
  ir::Value* mm = b.node("MatMul", {gm, b.random_init("wm", {6, 5})});
  b.output(b.node("Softmax", {mm}, {int_attr("axis", -1)}));
  return std::move(b.model);
}

const NodeOutcome& entry(const QuantizeReport& r, const std::string& node) {
  const NodeOutcome* o = outcome(r.quantized, node);
  REQUIRE_MESSAGE(o, node);
  return *o;
}

}  // namespace

TEST_CASE("QOperator: groups ONNX Runtime's CPU runs become QLinear ops, the rest stays QDQ") {
  auto m = mixed_net();
  auto feeds = seeded_feeds(*m, 2);
  QuantizeOptions o;
  o.format = QuantFormat::QOperator;
  QuantizeReport r = quantize_minmax(*m, o, feeds);
  CHECK(r.left_float.size() == 0);
  CHECK(count_op(*m, "QLinearConv") == 1);
  CHECK(count_op(*m, "QLinearSigmoid") == 1);
  CHECK(count_op(*m, "QLinearLeakyRelu") == 1);
  CHECK(count_op(*m, "QLinearAdd") == 1);
  CHECK(count_op(*m, "QLinearMul") == 1);
  CHECK(count_op(*m, "QLinearConcat") == 1);
  CHECK(count_op(*m, "QLinearGlobalAveragePool") == 1);
  CHECK(count_op(*m, "QGemm") == 1);
  CHECK(count_op(*m, "QLinearMatMul") == 1);
  CHECK(count_op(*m, "QLinearSoftmax") == 1);
  // Float ops left: HardSwish and ConvTranspose in QDQ form; MaxPool and Reshape run on 8-bit values.
  CHECK(count_op(*m, "HardSwish") == 1);
  CHECK(count_op(*m, "ConvTranspose") == 1);
  CHECK(count_op(*m, "Conv") == 0);
  CHECK(count_op(*m, "Relu") == 0);
  for (const ir::Node* n : m->graph->nodes())
    if (n->op_type() == "MaxPool" || n->op_type() == "Reshape") CHECK(n->input(0)->type.elem == DType::UInt8);
  // QuantizeLinear: the input x, and the outputs of the ops in QDQ form (HardSwish, ConvTranspose).
  CHECK(count_op(*m, "QuantizeLinear") == 3);
  CHECK(m->opset("com.microsoft") == 1);
  CHECK(entry(r, "Conv0").detail == "QLinearConv");
  CHECK(entry(r, "Gemm12").detail == "QGemm");
  CHECK(entry(r, "HardSwish7").detail == "QDQ");
  CHECK(entry(r, "MaxPool2").detail == "MaxPool on 8-bit values");
  for (const ir::Node* n : m->graph->nodes())
    if (n->domain() == "com.microsoft") CHECK(n->name.size() > 0);
}

TEST_CASE("QOperator computes what the QDQ form computes") {
  auto f = mixed_net();
  auto feeds = seeded_feeds(*f, 2);
  auto qdq = mixed_net();
  quantize_minmax(*qdq, {}, feeds);
  for (DType act : {DType::UInt8, DType::Int8}) {
    CAPTURE(dtype_name(act));
    auto qop = mixed_net();
    QuantizeOptions o;
    o.format = QuantFormat::QOperator;
    o.activation_type = act;
    quantize_minmax(*qop, o, feeds);
    auto ref = mixed_net();
    QuantizeOptions oq;
    oq.activation_type = act;
    quantize_minmax(*ref, oq, feeds);
    // The integer kernels and float ops between Q and DQ round alike but for exact ties (one step):
    // the outputs (softmax probabilities on a 1/255 grid) agree far above the float model's 28 dB.
    for (const rt::Feeds& fd : feeds) CHECK(output_sqnr(*ref, *qop, fd) >= 40.0);
    CHECK(output_sqnr(*f, *qop, feeds[0]) >= 25.0);
  }
}

TEST_CASE("QOperator leaves groups in QDQ form where the integer op does not fit") {
  // A Gemm with beta != 1 keeps its bias in float: no QGemm. A MatMul with a 3-D constant weight is
  // per tensor and still lowers.
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {3, 4});
  ir::Value* g = b.node("Gemm", {x, b.random_init("w", {4, 5}), b.random_init("c", {5})}, {float_attr("beta", 0.5f)});
  ir::Value* e = b.node("Unsqueeze", {g, b.ints("axes", {0})});
  b.output(b.node("MatMul", {e, b.random_init("w3", {1, 5, 2})}));
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  QuantizeOptions o;
  o.format = QuantFormat::QOperator;
  QuantizeReport r = quantize_minmax(*m, o, feeds);
  CHECK(count_op(*m, "QGemm") == 0);
  CHECK(count_op(*m, "Gemm") == 1);
  CHECK(entry(r, "Gemm0").detail.find("bias left float") != std::string::npos);
  CHECK(count_op(*m, "QLinearMatMul") == 1);
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= 28.0);
}
