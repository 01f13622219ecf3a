// Tests of split_dilated_conv: a dilated Conv whose taps mostly read padding becomes a 1x1 Conv per tap on the
// input slice it reads, padded to the output and summed, outputs unchanged; convs it would not help, strided ones and non-finite weights stay.
#include <cmath>
#include <limits>

#include "passes/pass_util.h"
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {

int count_op(const ir::Graph& g, std::string_view op) {
  int k = 0;
  for (const ir::Node* n : g.nodes()) k += n->op_type() == op;
  return k;
}

// Multiply-adds of every Conv in the graph (static shapes after shape inference).
double conv_macs(const ir::Graph& g) {
  double total = 0;
  for (const ir::Node* n : g.nodes()) {
    if (n->op_type() != "Conv") continue;
    const auto y = passes::static_shape(n->output(0));
    REQUIRE(y);
    const auto& wd = n->input(1)->constant()->dims();
    total += static_cast<double>((*y)[0] * (*y)[1] * (*y)[2] * (*y)[3]) * static_cast<double>(wd[1] * wd[2] * wd[3]);
  }
  return total;
}

}  // namespace

TEST_CASE("split_dilated_conv: DeepLab's ASPP conv (dilation 12 on 14x14) becomes a 1x1 conv per tap on the inputs it reads, a fifth of the work") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 6, 14, 14});
  b.output(b.node("Conv", {x, b.random_init("w", {5, 6, 3, 3}), b.random_init("b", {5})},
                  {ints_attr("dilations", {12, 12}), ints_attr("pads", {12, 12, 12, 12}), ints_attr("kernel_shape", {3, 3})}));
  auto before = clone_model(*b.model);
  run_passes(*before, {"shape_inference"});
  auto m = optimize_and_compare(*b.model, {"shape_inference", "split_dilated_conv", "shape_inference"});
  CHECK(count_op(*m->graph, "Conv") == 9);  // one 1x1 conv per tap
  CHECK(count_op(*m->graph, "Slice") == 8);  // the centre tap reads the whole input
  CHECK(count_op(*m->graph, "Pad") == 8);    // and alone writes the whole output
  CHECK(count_op(*m->graph, "Sum") == 1);
  // No weight is copied: the nine 1x1 weights hold the 3x3 weight's values once.
  int64_t weights = 0;
  for (const ir::Node* n : m->graph->nodes())
    if (n->op_type() == "Conv") weights += n->input(1)->constant()->numel();
  CHECK(weights == 5 * 6 * 9);
  for (const ir::Node* n : m->graph->nodes())
    if (n->op_type() == "Conv") CHECK(!n->has_attr("pads"));
  // 18 of 42 taps per axis read the input: (18 / 42)^2 of the work.
  CHECK(conv_macs(*m->graph) == doctest::Approx(conv_macs(*before->graph) * 324.0 / 1764.0));
}

TEST_CASE("split_dilated_conv: without a bias, taps that each cover part of the output sum to it") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 3, 6, 6});
  b.output(b.node("Conv", {x, b.random_init("w", {4, 3, 3, 3})}, {ints_attr("dilations", {6, 6}), ints_attr("pads", {4, 4, 8, 8})}));
  auto m = optimize_and_compare(*b.model, {"shape_inference", "split_dilated_conv"});
  CHECK(count_op(*m->graph, "Conv") == 4);  // taps (0|1, 0|1); the third tap of each axis reads only padding
  CHECK(count_op(*m->graph, "Pad") == 4);
}

TEST_CASE("split_dilated_conv: uneven pads, a 5x3 kernel, groups and a batch of two keep their outputs") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 4, 9, 11});
  ir::Value* a = b.node("Conv", {x, b.random_init("w", {6, 2, 5, 3})},
                        {int_attr("group", 2), ints_attr("dilations", {4, 7}), ints_attr("pads", {8, 7, 6, 5})});
  b.output(a);
  auto m = optimize_and_compare(*b.model, {"shape_inference", "split_dilated_conv"});
  CHECK(count_op(*m->graph, "Conv") > 1);
  for (const ir::Node* n : m->graph->nodes())
    if (n->op_type() == "Conv") CHECK(n->attr_int("group", 1) == 2);
}

TEST_CASE("split_dilated_conv leaves dense-enough, strided, unknown-size, non-finite and uncarried-bias convs") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 2, 12, 12});
  // Dilation 2 on 12: most taps read the input.
  ir::Value* a = b.node("Conv", {x, b.random_init("w", {2, 2, 3, 3})}, {ints_attr("dilations", {2, 2}), ints_attr("pads", {2, 2, 2, 2})});
  // Strided.
  ir::Value* c = b.node("Conv", {a, b.random_init("w2", {2, 2, 3, 3})},
                        {ints_attr("dilations", {9, 9}), ints_attr("pads", {9, 9, 9, 9}), ints_attr("strides", {2, 2})});
  // An infinite weight: the original output is NaN wherever that tap reads padding (inf x 0).
  Tensor w(DType::Float, {2, 2, 3, 3});
  for (int64_t i = 0; i < w.numel(); ++i) w.mutable_data<float>()[i] = 0.25f;
  w.mutable_data<float>()[4] = std::numeric_limits<float>::infinity();
  ir::Value* d = b.node("Conv", {x, b.init("w_inf", std::move(w))}, {ints_attr("dilations", {9, 9}), ints_attr("pads", {9, 9, 9, 9})});
  // A bias, and no tap covering the whole output to carry it (pads 4 and 8, dilation 6 on 6: the outputs split
  // between the first two taps).
  ir::Value* e = b.node("Conv", {x, b.random_init("w4", {2, 2, 3, 3}), b.random_init("b4", {2})},
                        {ints_attr("dilations", {6, 6}), ints_attr("pads", {4, 4, 8, 8})});
  b.output(c);
  b.output(d);
  b.output(e);
  ir::Value* y = b.symbolic_input("y", {1, 2, -1, -1});
  b.output(b.node("Conv", {y, b.random_init("w3", {2, 2, 3, 3})}, {ints_attr("dilations", {9, 9}), ints_attr("pads", {9, 9, 9, 9})}));
  auto m = clone_model(*b.model);
  run_passes(*m, {"shape_inference", "split_dilated_conv"});
  CHECK(count_op(*m->graph, "Conv") == 5);
  CHECK(count_op(*m->graph, "Slice") == 0);
}
