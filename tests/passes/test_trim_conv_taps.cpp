// Tests of trim_conv_taps: kernel taps of a Conv that only read zero padding are dropped, outputs unchanged.
#include <cmath>
#include <limits>

#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {

const ir::Node* only_conv(const ir::Graph& g) {
  const ir::Node* conv = nullptr;
  for (const ir::Node* n : g.nodes())
    if (n->op_type() == "Conv") conv = n;
  REQUIRE(conv);
  return conv;
}

}  // namespace

TEST_CASE("trim_conv_taps: a dilated 3x3 conv wider than its input becomes a 1x1 conv (DeepLab's ASPP)") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 4, 6, 6});
  b.output(b.node("Conv", {x, b.random_init("w", {5, 4, 3, 3}), b.random_init("b", {5})},
                  {ints_attr("dilations", {6, 6}), ints_attr("pads", {6, 6, 6, 6}), ints_attr("kernel_shape", {3, 3})}));
  auto m = optimize_and_compare(*b.model, {"trim_conv_taps"});
  const ir::Node* conv = only_conv(*m->graph);
  CHECK(conv->input(1)->constant()->dims() == std::vector<int64_t>{5, 4, 1, 1});
  CHECK(conv->attr_ints("kernel_shape") == std::vector<int64_t>{1, 1});
  CHECK(conv->attr_ints("pads") == std::vector<int64_t>{0, 0, 0, 0});
  CHECK(conv->attr_ints("dilations") == std::vector<int64_t>{1, 1});
}

TEST_CASE("trim_conv_taps: one axis trimmed to two dilated taps, strides and uneven pads kept exact") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3, 5, 4});
  // H: every tap reads the input somewhere (kept). W: 4 wide, taps 3 apart, 3 padding columns at the end:
  // the third tap only ever reads padding.
  ir::Value* a = b.node("Conv", {x, b.random_init("w", {4, 3, 3, 3})},
                        {ints_attr("dilations", {1, 3}), ints_attr("pads", {1, 0, 1, 3}), ints_attr("strides", {2, 1})});
  // On its [2, 4, 3, 1] output: grouped, stride 2 along W, where two of the three taps fall in the padding.
  ir::Value* c = b.node("Conv", {a, b.random_init("w2", {4, 2, 1, 3})},
                        {int_attr("group", 2), ints_attr("pads", {0, 0, 0, 4}), ints_attr("strides", {1, 2}),
                         ints_attr("dilations", {1, 2})});
  b.output(c);
  auto m = optimize_and_compare(*b.model, {"shape_inference", "trim_conv_taps"});
  int trimmed = 0;
  for (const ir::Node* n : m->graph->nodes()) {
    if (n->op_type() != "Conv") continue;
    const auto& wd = n->input(1)->constant()->dims();
    trimmed += wd[3] < 3;
    if (wd[1] == 2) CHECK(wd == std::vector<int64_t>{4, 2, 1, 1});  // the second
    if (wd[1] == 3) {  // the first conv
      CHECK(wd == std::vector<int64_t>{4, 3, 3, 2});
      CHECK(n->attr_ints("pads") == std::vector<int64_t>{1, 0, 1, 0});
      CHECK(n->attr_ints("dilations") == std::vector<int64_t>{1, 3});
    }
  }
  CHECK(trimmed == 2);
}

TEST_CASE("trim_conv_taps leaves convs whose every tap reads the input, unknown sizes and non-finite weights") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {1, 2, 6, 6});
  // Dilation 3 on 6: the outer taps read the input for some outputs.
  ir::Value* a = b.node("Conv", {x, b.random_init("w", {2, 2, 3, 3})}, {ints_attr("dilations", {3, 3}), ints_attr("pads", {3, 3, 3, 3})});
  // An infinite weight on a padding-only tap: the original output is NaN there (inf x 0), so it stays.
  Tensor w(DType::Float, {2, 2, 3, 3});
  for (int64_t i = 0; i < w.numel(); ++i) w.mutable_data<float>()[i] = 0.25f;
  w.mutable_data<float>()[0] = std::numeric_limits<float>::infinity();
  ir::Value* c = b.node("Conv", {a, b.init("w_inf", std::move(w))}, {ints_attr("dilations", {6, 6}), ints_attr("pads", {6, 6, 6, 6})});
  b.output(c);
  ir::Value* y = b.symbolic_input("y", {1, 2, -1, -1});
  b.output(b.node("Conv", {y, b.random_init("w3", {2, 2, 3, 3})}, {ints_attr("dilations", {9, 9}), ints_attr("pads", {9, 9, 9, 9})}));
  auto m = clone_model(*b.model);
  run_passes(*m, {"shape_inference", "trim_conv_taps"});
  for (const ir::Node* n : m->graph->nodes())
    if (n->op_type() == "Conv") CHECK(n->input(1)->constant()->dims()[2] == 3);
}
