// quantize_static, QDQ format: structure (op counts, folds, shared scales, axes, opset) and numbers
// (ortool's reference kernels on the quantized model against the float model on seeded data).
#include <cmath>
#include <set>

#include "passes/freeze_inputs.h"
#include "passes/pass_util.h"
#include "tests/quant/quant_doctest_util.h"

using namespace ortool;
using namespace ortool::quant;
using namespace ortool::quant_testing;
using ortool::testing::float_attr;
using ortool::testing::int_attr;
using ortool::testing::ints_attr;
using ortool::testing::ModelBuilder;

namespace {

// x[2,3,8,8] -> Conv0 (+bias) -> Relu1 -> MaxPool2 -> Conv3 (+bias) -> Clip4 [0, 6] -> GlobalAveragePool5
// -> Flatten6 -> Gemm7 (transB, +bias) = logits [2, 5]
std::unique_ptr<ir::Model> conv_net(int64_t opset = 13) {
  ModelBuilder b(opset);
  ir::Value* x = b.input("x", {2, 3, 8, 8});
  ir::Value* c0 = b.node("Conv", {x, b.random_init("w0", {4, 3, 3, 3}), b.random_init("b0", {4})},
                         {ints_attr("pads", {1, 1, 1, 1})});
  ir::Value* r1 = b.node("Relu", {c0});
  ir::Value* p2 = b.node("MaxPool", {r1}, {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})});
  ir::Value* c3 = b.node("Conv", {p2, b.random_init("w3", {6, 4, 3, 3}), b.random_init("b3", {6})},
                         {ints_attr("pads", {1, 1, 1, 1})});
  ir::Value* k4 = b.node("Clip", {c3, b.scalar("lo", 0.0f), b.scalar("hi", 6.0f)});
  ir::Value* g5 = b.node("GlobalAveragePool", {k4});
  ir::Value* f6 = b.node("Flatten", {g5});
  ir::Value* y = b.node("Gemm", {f6, b.random_init("w7", {5, 6}), b.random_init("b7", {5})}, {int_attr("transB", 1)});
  b.output(y);
  return std::move(b.model);
}

// The QuantizeLinear reading value `name`, or null.
const ir::Node* q_of(const ir::Model& m, const std::string& name) {
  const ir::Value* v = m.graph->find_value(name);
  if (!v) return nullptr;
  for (const ir::Use& u : v->uses())
    if (u.node->op_type() == "QuantizeLinear") return u.node;
  return nullptr;
}

// The DequantizeLinear feeding input `i` of the node named `node`, or null.
const ir::Node* dq_into(const ir::Model& m, const std::string& node, size_t i) {
  for (const ir::Node* n : m.graph->nodes())
    if (n->name == node) {
      const ir::Node* p = n->input(i) ? n->input(i)->producer() : nullptr;
      return p && p->op_type() == "DequantizeLinear" ? p : nullptr;
    }
  return nullptr;
}

}  // namespace

TEST_CASE("QDQ conv net: op counts, Relu and Clip folded, pass-through scales shared, outputs keep their names") {
  auto m = conv_net();
  auto feeds = seeded_feeds(*m, 3);
  QuantizeReport r = quantize_minmax(*m, {}, feeds);
  // Activations with a Q/DQ pair: x, Conv0 (Relu's range), MaxPool2, Conv3 (Clip's range), GAP5, Flatten6, Gemm7.
  CHECK(count_op(*m, "QuantizeLinear") == 7);
  // ... and a DequantizeLinear each, plus 3 weights and 3 int32 biases.
  CHECK(count_op(*m, "DequantizeLinear") == 13);
  CHECK(count_op(*m, "Relu") == 0);
  CHECK(count_op(*m, "Clip") == 0);
  CHECK(count_op(*m, "Conv") == 2);
  CHECK(count_op(*m, "Gemm") == 1);
  CHECK(r.weights_quantized == 3);
  CHECK(r.biases_quantized == 3);
  CHECK(r.left_float.empty());
  REQUIRE(outcome(r.quantized, "Relu1"));
  CHECK(outcome(r.quantized, "Relu1")->detail.find("folded") != std::string::npos);
  // Pass-through ops share the scale and zero point of their input (the same initializers).
  const ir::Node* q_conv = q_of(*m, "Conv0");
  const ir::Node* q_pool = q_of(*m, "MaxPool2");
  REQUIRE(q_conv);
  REQUIRE(q_pool);
  CHECK(q_pool->input(1) == q_conv->input(1));
  CHECK(q_pool->input(2) == q_conv->input(2));
  // The folded Relu's range starts at 0: zero point 0 for uint8.
  CHECK(q_conv->input(2)->constant()->dtype() == DType::UInt8);
  CHECK(q_conv->input(2)->constant()->get_int64(0) == 0);
  // The graph output keeps its name and is the DequantizeLinear's output.
  REQUIRE(m->graph->outputs().size() == 1);
  CHECK(m->graph->outputs()[0]->name() == "Gemm7");
  CHECK(m->graph->outputs()[0]->producer()->op_type() == "DequantizeLinear");
  // Weights are int8 initializers read by a DequantizeLinear along the output channels; biases int32.
  const ir::Node* w0 = dq_into(*m, "Conv0", 1);
  REQUIRE(w0);
  CHECK(w0->input(0)->constant()->dtype() == DType::Int8);
  CHECK(w0->attr_int("axis", -1) == 0);
  CHECK(w0->input(1)->constant()->numel() == 4);
  const ir::Node* b0 = dq_into(*m, "Conv0", 2);
  REQUIRE(b0);
  CHECK(b0->input(0)->constant()->dtype() == DType::Int32);
  // The float weights are gone.
  CHECK(m->graph->find_value("w0") == nullptr);
  CHECK(r.opset_after == 13);
}

TEST_CASE("tensors_to_calibrate: inputs and outputs of quantized nodes, a folded activation's output for its producer") {
  auto m = conv_net();
  auto names = tensors_to_calibrate(*m, {});
  REQUIRE(names.is_ok());
  // Conv0 takes Relu1's range and Conv3 Clip4's; MaxPool2 and Flatten6 pass their input's scale through.
  CAPTURE(fmt::format("{}", fmt::join(*names, ",")));
  CHECK(*names == std::vector<std::string>{"Clip4", "Gemm7", "GlobalAveragePool5", "Relu1", "x"});
}

// Bounds of the numbers tests. Ranges are the min/max of the very data evaluated, so nothing clips. A
// uint8 tensor whose range spans ~7 standard deviations has quantization noise Δ²/12 with Δ = 7σ/255,
// an SQNR of 10·log10(12·255²/49) ≈ 42 dB; int8 weights per channel are about as good. Noise of
// several quantized tensors in series adds up (n tensors: 42 - 10·log10(n) dB) and each layer can
// amplify it. A wrong scale, axis or zero point costs far more: one channel off by one step of its
// weight scale drops an output below 20 dB.
// Small graphs of 3 to 6 quantized tensors, before any error gain: 42 - 10·log10(6) ≈ 34 dB; 28 dB
// leaves 6 dB for the gain of random weights.
constexpr double kMinSqnr = 28.0;
// conv_net: the noise of the 3 tensors before the GlobalAveragePool is averaged over 16 positions
// (-12 dB), leaving mostly GAP, Flatten and Gemm: 42 - 10·log10(3) ≈ 37 dB; reduce-range weights have 7
// bits (-6 dB on their share), symmetric activations half the levels on one-sided ranges. 35 dB.
constexpr double kConvNetSqnr = 35.0;

TEST_CASE("QDQ conv net outputs stay within the int8 noise bound of float") {
  auto f = conv_net();
  auto feeds = seeded_feeds(*f, 3);
  struct Variant {
    const char* name;
    QuantizeOptions o;
  };
  std::vector<Variant> variants(6);
  variants[0].name = "default (uint8 activations, int8 per-channel weights)";
  variants[1].name = "int8 activations";
  variants[1].o.activation_type = DType::Int8;
  variants[2].name = "per-tensor weights";
  variants[2].o.per_channel = false;
  variants[3].name = "uint8 weights";
  variants[3].o.weight_type = DType::UInt8;
  variants[4].name = "symmetric activations";
  variants[4].o.symmetric_activations = true;
  variants[5].name = "reduce range";
  variants[5].o.reduce_range = true;
  for (const Variant& v : variants) {
    CAPTURE(v.name);
    auto q = conv_net();
    quantize_minmax(*q, v.o, feeds);
    for (const rt::Feeds& fd : feeds) CHECK(output_sqnr(*f, *q, fd) >= kConvNetSqnr);
  }
}

TEST_CASE("int8 activations: int8 zero points on every activation, the same structure as uint8") {
  auto f = conv_net();
  auto feeds = seeded_feeds(*f, 3);
  auto u = conv_net();
  quantize_minmax(*u, {}, feeds);
  auto s = conv_net();
  QuantizeOptions o;
  o.activation_type = DType::Int8;
  quantize_minmax(*s, o, feeds);
  CHECK(count_op(*s, "QuantizeLinear") == count_op(*u, "QuantizeLinear"));
  CHECK(count_op(*s, "DequantizeLinear") == count_op(*u, "DequantizeLinear"));
  for (const ir::Node* n : s->graph->nodes())
    if (n->op_type() == "QuantizeLinear") CHECK(n->input(2)->constant()->dtype() == DType::Int8);
  // Relu folded into an int8 range: the zero point sits at -128, so 0 is the lowest value.
  CHECK(q_of(*s, "Conv0")->input(2)->constant()->get_int64(0) == -128);
  // Both are within the bound; int8 has the same number of levels, so the same accuracy to 1 dB.
  const double su = output_sqnr(*f, *u, feeds[0]), ss = output_sqnr(*f, *s, feeds[0]);
  CHECK(ss >= kConvNetSqnr);
  CHECK(std::abs(ss - su) < 1.0);
}

TEST_CASE("per-channel axes: Conv 0, ConvTranspose 1, Gemm by output column (transB), MatMul 1") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 2, 4, 4});
  ir::Value* c = b.node("Conv", {x, b.random_init("wc", {3, 2, 1, 1})});
  ir::Value* t = b.node("ConvTranspose", {c, b.random_init("wt", {3, 5, 2, 2}), b.random_init("bt", {5})},
                        {ints_attr("strides", {2, 2})});
  ir::Value* f = b.node("Flatten", {t});  // [1, 5*8*8]
  ir::Value* g = b.node("Gemm", {f, b.random_init("wg", {320, 7}), b.random_init("bg", {7})});
  ir::Value* g2 = b.node("Gemm", {g, b.random_init("wg2", {4, 7}), b.random_init("bg2", {4})}, {int_attr("transB", 1)});
  ir::Value* mm = b.node("MatMul", {g2, b.random_init("wm", {4, 6})});
  b.output(mm);
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  quantize_minmax(*m, {}, feeds);
  struct Expect {
    const char* node;
    int64_t axis, channels;
  };
  for (const Expect& e : {Expect{"Conv0", 0, 3}, Expect{"ConvTranspose1", 1, 5}, Expect{"Gemm3", 1, 7},
                          Expect{"Gemm4", 0, 4}, Expect{"MatMul5", 1, 6}}) {
    CAPTURE(e.node);
    const ir::Node* dq = dq_into(*m, e.node, 1);
    REQUIRE(dq);
    CHECK(dq->attr_int("axis", -1) == e.axis);
    CHECK(dq->input(1)->constant()->numel() == e.channels);
  }
  // ConvTranspose's bias: one int32 scale per output channel (input scale x weight scale of channel o).
  const ir::Node* bt = dq_into(*m, "ConvTranspose1", 2);
  REQUIRE(bt);
  CHECK(bt->input(1)->constant()->numel() == 5);
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}

TEST_CASE("opset: raised to 13 for per-channel weights, kept when per tensor needs no more") {
  auto m = conv_net(11);
  QuantizeReport r = quantize_minmax(*m, {}, seeded_feeds(*m, 1));
  CHECK(r.opset_before == 11);
  CHECK(r.opset_after == 13);
  CHECK(m->opset("") == 13);
  CHECK(m->ir_version >= 7);
  auto t = conv_net(11);
  QuantizeOptions o;
  o.per_channel = false;
  QuantizeReport rt = quantize_minmax(*t, o, seeded_feeds(*t, 1));
  CHECK(rt.opset_after == 11);
  // A newer model is never lowered.
  auto n = conv_net(17);
  CHECK(quantize_minmax(*n, {}, seeded_feeds(*n, 1)).opset_after == 17);
}

TEST_CASE("excluded nodes and op types stay float") {
  auto f = conv_net();
  auto feeds = seeded_feeds(*f, 2);
  auto m = conv_net();
  QuantizeOptions o;
  o.exclude_nodes = {"Conv3"};
  o.exclude_op_types = {"Gemm"};
  QuantizeReport r = quantize_minmax(*m, o, feeds);
  REQUIRE(outcome(r.left_float, "Conv3"));
  CHECK(outcome(r.left_float, "Conv3")->detail == "excluded by name");
  REQUIRE(outcome(r.left_float, "Gemm7"));
  CHECK(outcome(r.left_float, "Gemm7")->detail == "op type excluded");
  // Their weights and biases are the float initializers still, not DequantizeLinear outputs.
  for (const char* n : {"Conv3", "Gemm7"})
    for (size_t i : {size_t{1}, size_t{2}}) {
      CAPTURE(n);
      CHECK(dq_into(*m, n, i) == nullptr);
    }
  CHECK(m->graph->find_value("w3")->constant()->dtype() == DType::Float);
  CHECK(m->graph->find_value("w7")->constant()->dtype() == DType::Float);
  // The Clip after the excluded Conv has no quantized input: it stays, in float.
  CHECK(count_op(*m, "Clip") == 1);
  REQUIRE(outcome(r.left_float, "Clip4"));
  CHECK(outcome(r.left_float, "Clip4")->detail == "input is not quantized");
  // Conv0 is still quantized (its weight is read through a DequantizeLinear).
  CHECK(dq_into(*m, "Conv0", 1) != nullptr);
  CHECK(output_sqnr(*f, *m, feeds[0]) >= kMinSqnr);
  // op_types: only the listed types.
  auto c = conv_net();
  QuantizeOptions oc;
  oc.op_types = {"Conv"};
  QuantizeReport rc = quantize_minmax(*c, oc, feeds);
  CHECK(rc.quantized.size() == 2);
  CHECK(count_op(*c, "Relu") == 1);
  CHECK(dq_into(*c, "Gemm7", 1) == nullptr);
}

TEST_CASE("unknown names and unsupported combinations are errors") {
  auto m = conv_net();
  QuantizeOptions o;
  o.exclude_nodes = {"no_such_node"};
  auto r = tensors_to_calibrate(*m, o);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::kInvalid);
  CHECK(r.status().message().find("no_such_node") != std::string::npos);
  o = {};
  o.op_types = {"Conv", "Frobnicate"};
  r = tensors_to_calibrate(*m, o);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("Frobnicate") != std::string::npos);
  o = {};
  o.exclude_op_types = {"LSTM"};
  CHECK_FALSE(tensors_to_calibrate(*m, o).is_ok());
  o = {};
  o.activation_type = DType::Int8;
  o.weight_type = DType::UInt8;  // no ONNX Runtime CPU kernel takes int8 activations with uint8 weights
  CHECK_FALSE(tensors_to_calibrate(*m, o).is_ok());
  o = {};
  o.activation_type = DType::Int16;
  CHECK_FALSE(tensors_to_calibrate(*m, o).is_ok());
}

TEST_CASE("missing or non-finite ranges are errors naming the tensor, before any change") {
  auto m = conv_net();
  auto names = tensors_to_calibrate(*m, {});
  REQUIRE(names.is_ok());
  auto ranges = minmax_ranges(*m, *names, seeded_feeds(*m, 1));
  REQUIRE(ranges.is_ok());
  const size_t nodes = m->graph->num_nodes();
  RangeTable missing = *ranges;
  missing.erase("GlobalAveragePool5");
  auto r = quantize_static(*m, missing, {});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::kInvalid);
  CHECK(r.status().message().find("GlobalAveragePool5") != std::string::npos);
  RangeTable nan = *ranges;
  nan["Relu1"].max = std::nan("");
  r = quantize_static(*m, nan, {});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("Relu1") != std::string::npos);
  RangeTable inverted = *ranges;
  inverted["x"] = TensorRange{1.0, -1.0};
  CHECK_FALSE(quantize_static(*m, inverted, {}).is_ok());
  CHECK(m->graph->num_nodes() == nodes);
  CHECK(count_op(*m, "QuantizeLinear") == 0);
}

TEST_CASE("an already quantized model is refused") {
  auto m = conv_net();
  quantize_minmax(*m, {}, seeded_feeds(*m, 1));
  auto r = tensors_to_calibrate(*m, {});
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("already quantized") != std::string::npos);
  CHECK_FALSE(quantize_dynamic(*m, {}).is_ok());
}

TEST_CASE("Relu and Clip stay where folding would not be exact") {
  // Symmetric activations put the zero point mid-range: the quantized range holds negatives.
  auto m = conv_net();
  QuantizeOptions o;
  o.symmetric_activations = true;
  auto feeds = seeded_feeds(*m, 2);
  QuantizeReport r = quantize_minmax(*m, o, feeds);
  CHECK(count_op(*m, "Relu") == 1);
  CHECK(count_op(*m, "Clip") == 1);
  CHECK(outcome(r.quantized, "Relu1")->detail == "QDQ");
  // The Relu's input takes the Relu output's range (its negatives become 0 anyway), as ONNX Runtime does.
  auto names = tensors_to_calibrate(*conv_net(), o);
  REQUIRE(names.is_ok());
  CHECK(std::find(names->begin(), names->end(), "Conv0") == names->end());
  // A Clip whose bounds exclude 0 cannot be a quantized range (which always holds 0).
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 2, 4, 4});
  ir::Value* c = b.node("Conv", {x, b.random_init("w", {2, 2, 1, 1})});
  ir::Value* k = b.node("Clip", {c, b.scalar("lo", 0.25f), b.scalar("hi", 6.0f)});
  b.output(b.node("Relu", {k}));
  auto cm = std::move(b.model);
  auto ref = copy_model(*cm);
  REQUIRE(ref.is_ok());
  auto cf = seeded_feeds(*cm, 2);
  QuantizeReport rc = quantize_minmax(*cm, {}, cf);
  CHECK(count_op(*cm, "Clip") == 1);
  CHECK(outcome(rc.quantized, "Relu2")->detail.find("folded") == std::string::npos);
  CHECK(output_sqnr(**ref, *cm, cf[0]) >= kMinSqnr);
}

TEST_CASE("MatMul of two computed tensors, Softmax's fixed range, constants at activation inputs") {
  ModelBuilder b(13);
  ir::Value* q = b.input("q", {2, 4, 8});
  ir::Value* k = b.input("k", {2, 8, 4});
  ir::Value* s = b.node("MatMul", {q, k});
  ir::Value* sc = b.node("Mul", {s, b.scalar("scale", 0.35f)});
  ir::Value* p = b.node("Softmax", {sc}, {int_attr("axis", -1)});
  ir::Value* o = b.node("Add", {p, b.random_init("bias", {4})});
  b.output(o);
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  QuantizeReport r = quantize_minmax(*m, {}, feeds);
  CHECK(r.left_float.empty());
  // q, k, MatMul, Mul, Softmax and Add outputs are quantized; the Mul's scalar and the Add's bias are
  // constants quantized from their own values (uint8 initializer + DequantizeLinear, no QuantizeLinear).
  CHECK(count_op(*m, "QuantizeLinear") == 6);
  CHECK(count_op(*m, "DequantizeLinear") == 8);
  CHECK(m->graph->find_value("scale") == nullptr);
  const ir::Node* qs = q_of(*m, "Softmax2");
  REQUIRE(qs);
  CHECK(qs->input(1)->constant()->get_double(0) == doctest::Approx(1.0 / 255.0));
  CHECK(qs->input(2)->constant()->get_int64(0) == 0);
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}

TEST_CASE("layer normalizations written as ops stay float: a LayerNorm with gamma and beta, and an RMSNorm's epsilon") {
  // x -> MatMul0 -> LayerNorm (ReduceMean1 Sub2 Pow3 ReduceMean4 Add5 Sqrt6 Div7 Mul8 Add9) -> MatMul10
  //   -> RMSNorm (Pow11 ReduceMean12 Add13 Sqrt14 Div15) -> MatMul16
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 6, 16});
  ir::Value* h = b.node("MatMul", {x, b.random_init("w0", {16, 16})});
  ir::Value* mean = b.node("ReduceMean", {h}, {ints_attr("axes", {-1})});
  ir::Value* d = b.node("Sub", {h, mean});
  ir::Value* var = b.node("ReduceMean", {b.node("Pow", {d, b.scalar("two", 2.0f)}), }, {ints_attr("axes", {-1})});
  ir::Value* sd = b.node("Sqrt", {b.node("Add", {var, b.scalar("eps", 1e-5f)})});
  ir::Value* ln = b.node("Add", {b.node("Mul", {b.node("Div", {d, sd}), b.random_init("gamma", {16})}), b.random_init("beta", {16})});
  ir::Value* h2 = b.node("MatMul", {ln, b.random_init("w1", {16, 16})});
  ir::Value* ms = b.node("ReduceMean", {b.node("Pow", {h2, b.scalar("two2", 2.0f)})}, {ints_attr("axes", {-1})});
  ir::Value* rms = b.node("Div", {h2, b.node("Sqrt", {b.node("Add", {ms, b.scalar("eps2", 1e-6f)})})});
  b.output(b.node("MatMul", {rms, b.random_init("w2", {16, 16})}));
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  QuantizeReport r = quantize_minmax(*m, {}, feeds);
  for (const char* n : {"Add5", "Mul8", "Add9"}) {
    CAPTURE(n);
    REQUIRE(outcome(r.left_float, n));
    CHECK(outcome(r.left_float, n)->detail == "part of a layer normalization written as ops (kept float)");
  }
  REQUIRE(outcome(r.left_float, "Add13"));
  CHECK(outcome(r.left_float, "Add13")->detail == "adds an epsilon before a square root (kept float)");
  // The three MatMuls are quantized; nothing inside either normalization is: the epsilons stay float constants,
  // and no QuantizeLinear reads a value the normalizations compute before their outputs (which MatMuls quantize).
  CHECK(r.quantized.size() == 3);
  CHECK(m->graph->find_value("eps")->constant()->dtype() == DType::Float);
  CHECK(m->graph->find_value("eps2")->constant()->dtype() == DType::Float);
  for (const ir::Node* n : m->graph->nodes()) {
    if (n->op_type() != "QuantizeLinear") continue;
    const ir::Node* p = n->input(0)->producer();
    CAPTURE(n->input(0)->name());
    CHECK((!p || p->op_type() == "MatMul" || p->name == "Add9" || p->name == "Div15"));
  }
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}

TEST_CASE("GELUs written as ops stay float between their input's and output's quantization, in both orders") {
  // x -> MatMul0 -> GELU (Div1 Erf2 Add3 Mul4(x, .) Mul5(., 0.5)) -> MatMul6
  //   -> GELU (Mul7(x, 0.7071) Erf8 Add9 Mul10(x, 0.5) Mul11(., .)) -> MatMul12
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 6, 16});
  ir::Value* h = b.node("MatMul", {x, b.random_init("w0", {16, 16})});
  ir::Value* e = b.node("Add", {b.node("Erf", {b.node("Div", {h, b.scalar("sqrt2", 1.4142135f)})}), b.scalar("one", 1.0f)});
  ir::Value* g1 = b.node("Mul", {b.node("Mul", {h, e}), b.scalar("half", 0.5f)});
  ir::Value* h2 = b.node("MatMul", {g1, b.random_init("w1", {16, 16})});
  ir::Value* e2 = b.node("Add", {b.node("Erf", {b.node("Mul", {h2, b.scalar("rsqrt2", 0.70710678f)})}), b.scalar("one2", 1.0f)});
  ir::Value* g2 = b.node("Mul", {b.node("Mul", {h2, b.scalar("half2", 0.5f)}), e2});
  b.output(b.node("MatMul", {g2, b.random_init("w2", {16, 16})}));
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  QuantizeReport r = quantize_minmax(*m, {}, feeds);
  for (const char* n : {"Add3", "Mul4", "Mul5", "Mul7", "Add9", "Mul10", "Mul11"}) {
    CAPTURE(n);
    REQUIRE(outcome(r.left_float, n));
    CHECK(outcome(r.left_float, n)->detail == "part of a GELU written as ops (kept float: one elementwise function)");
  }
  CHECK(r.quantized.size() == 3);
  // Quantized values: the MatMuls' inputs (x, each GELU's output) and outputs (each GELU's input) only.
  for (const ir::Node* n : m->graph->nodes()) {
    if (n->op_type() != "QuantizeLinear") continue;
    const ir::Node* p = n->input(0)->producer();
    CAPTURE(n->input(0)->name());
    CHECK((!p || p->op_type() == "MatMul" || p->name == "Mul5" || p->name == "Mul11"));
  }
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}

TEST_CASE("an Erf chain with other constants than GELU's is quantized as usual") {
  // x -> MatMul0 -> Div1(3) -> Erf2 -> Add3(1) -> Mul4(x, .) -> Mul5(., 0.5) -> MatMul6: not x * Phi(x).
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 6, 16});
  ir::Value* h = b.node("MatMul", {x, b.random_init("w0", {16, 16})});
  ir::Value* e = b.node("Add", {b.node("Erf", {b.node("Div", {h, b.scalar("three", 3.0f)})}), b.scalar("one", 1.0f)});
  ir::Value* g = b.node("Mul", {b.node("Mul", {h, e}), b.scalar("half", 0.5f)});
  b.output(b.node("MatMul", {g, b.random_init("w1", {16, 16})}));
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  QuantizeReport r = quantize_minmax(*m, {}, feeds);
  for (const char* n : {"Add3", "Mul4", "Mul5"}) {
    CAPTURE(n);
    CHECK(!outcome(r.left_float, n));
  }
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}

TEST_CASE("a bias that would overflow int32 raises the weight scale, and the model still computes") {
  // Weights of 1e-6 on an input of range 1e-3: input x weight scale is ~1e-14, so a bias of 100 would be
  // ~1e16 steps. The weight scale is raised until the bias fits.
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 2, 3, 3});
  Tensor w = Tensor::from_vector<float>(DType::Float, {2, 2, 1, 1}, {1e-6f, -1e-6f, 0.5f, 0.25f});
  ir::Value* y = b.node("Conv", {x, b.init("w", w), b.init("bias", Tensor::from_vector<float>(DType::Float, {2}, {100.0f, 0.1f}))});
  b.output(y);
  auto m = std::move(b.model);
  auto ref = copy_model(*m);
  REQUIRE(ref.is_ok());
  rt::Feeds fd;
  Tensor xt(DType::Float, {1, 2, 3, 3});
  for (int64_t i = 0; i < xt.numel(); ++i) xt.mutable_data<float>()[i] = 1e-3f * static_cast<float>((i % 7) - 3) / 3.0f;
  fd["x"] = RValue(xt);
  QuantizeReport r = quantize_minmax(*m, {}, {fd});
  CHECK(r.weight_scales_raised == 1);
  REQUIRE_FALSE(r.notes.empty());
  const ir::Node* bq = dq_into(*m, "Conv0", 2);
  REQUIRE(bq);
  const int32_t q0 = bq->input(0)->constant()->data<int32_t>()[0];
  CHECK(static_cast<double>(q0) * bq->input(1)->constant()->get_double(0) == doctest::Approx(100.0).epsilon(1e-5));
  // Channel 0 computes ~100 from the bias; its tiny weights are lost, which costs nothing at this scale.
  auto a = run_model(**ref, fd);
  auto c = run_model(*m, fd);
  REQUIRE(a.is_ok());
  REQUIRE(c.is_ok());
  CHECK(sqnr_db((*a)[0].tensor, (*c)[0].tensor) >= kMinSqnr);
}

TEST_CASE("weights listed as graph inputs are baked in; freeze_initializer_inputs prepares them for optimize") {
  auto m = conv_net();
  m->graph->add_input(m->graph->find_value("w0"));
  auto feeds = seeded_feeds(*m, 1);
  QuantizeReport r = quantize_minmax(*m, {}, feeds);
  CHECK(dq_into(*m, "Conv0", 1) != nullptr);
  CHECK(m->graph->inputs().size() == 1);
  bool noted = false;
  for (const auto& n : r.notes) noted = noted || n.find("graph inputs") != std::string::npos;
  CHECK(noted);
  auto p = conv_net();
  p->graph->add_input(p->graph->find_value("w3"));
  p->graph->add_input(p->graph->find_value("b3"));
  CHECK(passes::freeze_initializer_inputs(*p) == 2);
  CHECK(p->graph->inputs().size() == 1);
  CHECK(p->graph->find_value("w3")->is_constant());
}

TEST_CASE("a model with nothing to quantize is left as it is, with a note") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3});
  b.output(b.node("Exp", {x}));
  auto m = std::move(b.model);
  auto r = quantize_static(*m, RangeTable{}, {});
  REQUIRE(r.is_ok());
  CHECK(r->quantized.empty());
  CHECK(r->left_float.size() == 1);
  CHECK(m->graph->num_nodes() == 1);
  REQUIRE_FALSE(r->notes.empty());
  CHECK(r->notes.back() == "nothing was quantized");
}

TEST_CASE("pass-through ops: only data outputs take the input's scale (MaxPool's indices stay int64)") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 2, 4, 4});
  ir::Value* c = b.node("Conv", {x, b.random_init("w", {2, 2, 1, 1})});
  ir::Value* p = b.node("MaxPool", {c}, {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})}, 2);
  ir::Value* s = b.node("Split", {p, b.ints("split", {1, 1})}, {int_attr("axis", 1)}, 2);
  ir::Node* split = b.last;
  b.output(s);
  b.output(split->output(1));
  b.output(p->producer()->output(1));
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  quantize_minmax(*m, {}, feeds);
  // x, Conv0, MaxPool1's values and both Split2 outputs: 5 pairs; the indices output is untouched.
  CHECK(count_op(*m, "QuantizeLinear") == 5);
  const ir::Value* indices = m->graph->outputs()[2];
  CHECK(indices->producer()->op_type() == "MaxPool");
  for (const ir::Use& u : indices->uses()) CHECK(u.node->op_type() != "QuantizeLinear");
  // Graph outputs keep their names on the DequantizeLinear side; the Split's own outputs were renamed.
  CHECK(m->graph->outputs()[0]->name() == "Split2_0");
  const ir::Node* q0 = q_of(*m, "Split2_0_QuantizeLinear_Input");
  const ir::Node* q1 = q_of(*m, "Split2_1_QuantizeLinear_Input");
  REQUIRE(q0);
  REQUIRE(q1);
  CHECK(q0->input(1) == q_of(*m, "MaxPool1_0")->input(1));
  CHECK(q1->input(1) == q0->input(1));
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}

TEST_CASE("a weight and a bias shared by two nodes: each node its own quantized weight and bias, node names unique") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 2, 4, 4});
  ir::Value* w = b.random_init("w", {2, 2, 1, 1});
  ir::Value* bias = b.random_init("bias", {2});
  ir::Value* c0 = b.node("Conv", {x, w, bias});
  ir::Value* c1 = b.node("Conv", {c0, w, bias});
  b.output(c1);
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  QuantizeReport r = quantize_minmax(*m, {}, feeds);
  CHECK(r.weights_quantized == 2);
  CHECK(r.biases_quantized == 2);  // input scales differ: one int32 bias each
  // Each Conv's weight DequantizeLinear and its int8 weight and zero point are its own (runtimes fuse a DQ
  // only into its one reader; ONNX Runtime's exact int8 mode rewrites them per node).
  const ir::Node* w0 = dq_into(*m, "Conv0", 1);
  const ir::Node* w1 = dq_into(*m, "Conv1", 1);
  REQUIRE(w0);
  REQUIRE(w1);
  CHECK(w0 != w1);
  CHECK(w0->input(0) != w1->input(0));
  CHECK(w0->input(2) != w1->input(2));
  CHECK(dq_into(*m, "Conv0", 2) != dq_into(*m, "Conv1", 2));
  std::set<std::string> names;
  for (const ir::Node* n : m->graph->nodes()) CHECK(names.insert(n->name).second);
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}

TEST_CASE("share_weights: a weight two nodes read is stored once behind one DequantizeLinear") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 2, 4, 4});
  ir::Value* w = b.random_init("w", {2, 2, 1, 1});
  b.output(b.node("Conv", {b.node("Conv", {x, w}), w}));
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  quant::QuantizeOptions o;
  o.share_weights = true;
  QuantizeReport r = quantize_minmax(*m, o, feeds);
  CHECK(r.weights_quantized == 1);
  CHECK(dq_into(*m, "Conv0", 1) == dq_into(*m, "Conv1", 1));
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}

TEST_CASE("pass-through chain: Transpose, Slice, Unsqueeze, Squeeze, Resize, AveragePool, Flatten, Gather, Reshape share one scale") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 4, 6, 6});
  ir::Value* c = b.node("Conv", {x, b.random_init("w", {4, 4, 1, 1})});
  ir::Value* t = b.node("Transpose", {c}, {ints_attr("perm", {0, 1, 3, 2})});
  ir::Value* s = b.node("Slice", {t, b.ints("starts", {1}), b.ints("ends", {5}), b.ints("axes", {2})});
  ir::Value* u = b.node("Unsqueeze", {s, b.ints("uaxes", {0})});
  ir::Value* q = b.node("Squeeze", {u, b.ints("saxes", {0})});
  ir::Value* r = b.node("Resize", {q, nullptr, b.init("scales", Tensor::from_vector<float>(DType::Float, {4}, {1, 1, 2, 2}))},
                        {ir::Attribute::make_string("mode", "nearest")});
  ir::Value* a = b.node("AveragePool", {r}, {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})});
  ir::Value* f = b.node("Flatten", {a});
  ir::Value* gth = b.node("Gather", {f, b.ints("rows", {0})}, {int_attr("axis", 0)});
  b.output(b.node("Reshape", {gth, b.ints("shape", {4, -1})}));
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  QuantizeReport r8 = quantize_minmax(*m, {}, feeds);
  CHECK(r8.left_float.empty());
  // Calibration needs x and the Conv's output only: everything after passes its scale through.
  auto names = tensors_to_calibrate(*ref, {});
  REQUIRE(names.is_ok());
  CHECK(*names == std::vector<std::string>{"Conv0", "x"});
  const ir::Node* qc = q_of(*m, "Conv0");
  REQUIRE(qc);
  int shared = 0;
  for (const ir::Node* n : m->graph->nodes())
    if (n->op_type() == "QuantizeLinear" && n != qc && n->input(0)->name() != "x") {
      CHECK(n->input(1) == qc->input(1));
      ++shared;
    }
  CHECK(shared == 9);
  // Moving values on the quantization grid changes nothing but the averaging's rounding.
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}

TEST_CASE("zero-sized weights stay float (BAD_INPUTS 14)") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 4});
  b.output(b.node("MatMul", {x, b.init("w", Tensor(DType::Float, {4, 0}))}));
  auto m = std::move(b.model);
  auto s = quantize_static(*m, RangeTable{}, {});
  REQUIRE_MESSAGE(s.is_ok(), s.status().message());
  REQUIRE(outcome(s->left_float, "MatMul0"));
  CHECK(outcome(s->left_float, "MatMul0")->detail == "weight is empty");
  auto d = quantize_dynamic(*m, {});
  REQUIRE(d.is_ok());
  CHECK(d->quantized.empty());
}

TEST_CASE("an empty weight with a huge channel axis stays float, with no per-channel scale vector made for it") {
  // [0, 2^40] holds no element, but per-channel parameters along its last axis would be 2^40 floats.
  constexpr int64_t kHuge = int64_t{1} << 40;
  for (const char* op : {"MatMul", "Gemm"}) {
    CAPTURE(op);
    ModelBuilder b(13);
    ir::Value* x = b.input("x", {2, 0});
    b.output(b.node(op, {x, b.init("w", Tensor(DType::Float, {0, kHuge}))}));
    auto m = std::move(b.model);
    QuantizeOptions o;
    o.per_channel = true;
    auto s = quantize_static(*m, RangeTable{}, o);
    REQUIRE_MESSAGE(s.is_ok(), s.status().message());
    const std::string node = std::string(op) + "0";
    REQUIRE(outcome(s->left_float, node));
    CHECK(outcome(s->left_float, node)->detail == "weight is empty");
    auto d = quantize_dynamic(*m, {});
    REQUIRE(d.is_ok());
    CHECK(d->quantized.empty());
  }
}

TEST_CASE("a constant read by a quantized op and by a pass-through op: the pass-through shares its parameters") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 4});
  ir::Value* c = b.random_init("c", {2, 4});
  ir::Value* a = b.node("Add", {x, c});
  ir::Value* r = b.node("Reshape", {c, b.ints("shape", {2, 4})});
  b.output(b.node("Mul", {a, r}));
  auto [m, ref, feeds] = with_float_copy(std::move(b.model), 2);
  QuantizeReport rep = quantize_minmax(*m, {}, feeds);
  CHECK(rep.left_float.empty());
  // The Add reads the quantized constant; the Reshape still reads the float one (its output is
  // requantized with the constant's parameters).
  CHECK(dq_into(*m, "Add0", 1) != nullptr);
  const ir::Node* q = q_of(*m, "Reshape1");
  REQUIRE(q);
  CHECK(q->input(1)->name() == "c_scale");
  CHECK(output_sqnr(*ref, *m, feeds[0]) >= kMinSqnr);
}
