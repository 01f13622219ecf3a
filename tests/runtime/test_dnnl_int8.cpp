// Tests of the dnnl provider's int8 groups: QDQ and QOperator Conv/Gemm/MatMul against the cpu reference kernels.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/dnnl/dnnl_common.h"
#include "runtime/partition.h"
#include "runtime/qdq_group.h"
#include "runtime/session.h"
#include "tests/runtime/int8_test_util.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;
using namespace ortool::int8_test;

#ifdef ORTOOL_HAVE_DNNL

namespace {

// Without VNNI oneDNN's int8 groups are exact, and claimed, with uint8 activations and 7-bit weights only.
CaseLimits dnnl_limits() { return rt::dnnl_ep::int8_exact_on_this_cpu() ? CaseLimits{} : CaseLimits{64, true}; }

TEST_CASE("dnnl int8 Conv groups (QDQ and QLinearConv) match the cpu reference within one step") {
  const ScopedCaseLimits limits(dnnl_limits());
  int8_test::conv_cases("dnnl", 20261205, 60);
}

TEST_CASE("dnnl int8 Gemm and MatMul groups (QDQ and QLinearMatMul) match the cpu reference within one step") {
  const ScopedCaseLimits limits(dnnl_limits());
  int8_test::matmul_cases("dnnl", 77, 40);
}

TEST_CASE("dnnl int8: a DequantizeLinear read by two groups is carried as uint8; chained groups stay int8") {
  const ScopedCaseLimits limits(dnnl_limits());
  std::mt19937 rng(5);
  const int64_t c = 8;
  auto m = shared_dq_model(rng, c, false);
  std::map<std::string, RValue> feeds{{"x", RValue(random_q8(DType::UInt8, {1, c, 5, 5}, rng))}};
  const Ran ref = run(*m, {"cpu"}, feeds);
  const Ran got = run(*m, {"dnnl", "cpu"}, feeds, 2);
  for (const auto& t : got.timings) CHECK_MESSAGE(t.provider == "dnnl", t.node->describe());
  CHECK(ran_by(got.timings, "shared_dq") == std::pair<std::string, size_t>{"dnnl", 1});
  for (size_t i = 0; i < 2; ++i) check_same_q8(got.outputs[i].tensor, ref.outputs[i].tensor, 110);
}

TEST_CASE("dnnl int8: a DequantizeLinear also read by float ops runs alone; its groups quantize its output back") {
  const ScopedCaseLimits limits(dnnl_limits());
  std::mt19937 rng(6);
  const int64_t c = 4;
  ir::Value* x = nullptr;
  auto m = q8_model(x, c);
  ir::Graph& g = *m->graph;
  ir::Value* shared = dq_of(g, x, "shared_dq", c);
  g.add_output(qdq_conv(g, nullptr, "b", c, rng, shared));
  g.add_output(g.add_node("Relu", "", {shared}, {"r"}, "relu")->output(0));
  std::map<std::string, RValue> feeds{{"x", RValue(random_q8(DType::UInt8, {1, c, 5, 5}, rng))}};
  const Ran ref = run(*m, {"cpu"}, feeds);
  const Ran got = run(*m, {"dnnl", "cpu"}, feeds);
  CHECK(ran_by(got.timings, "shared_dq") == std::pair<std::string, size_t>{"dnnl", 1});  // a float DequantizeLinear
  CHECK(ran_by(got.timings, "b_dqw") == std::pair<std::string, size_t>{"dnnl", 3});  // dqw, conv, q in one step
  CHECK(ran_by(got.timings, "b").first.empty());
  check_same_q8(got.outputs[0].tensor, ref.outputs[0].tensor, 110);
  check_close(got.outputs[1], ref.outputs[1]);
}

TEST_CASE("dnnl int8: a residual block (groups, Q/DQ, a float Add between) keeps NHWC and matches cpu") {
  const ScopedCaseLimits limits(dnnl_limits());
  // residual_block: its Add between DQ and Q, and conv c after.
  residual_block_runs("dnnl", 9, [](const Ran& got) {
    for (const auto& t : got.timings) CHECK_MESSAGE(t.provider == "dnnl", t.node->describe());
  });
}

TEST_CASE("dnnl QuantizeLinear and DequantizeLinear equal the cpu kernels, ties, NaN and saturation included") {
  qdq_equal_cases("dnnl");
}

#ifdef ORTOOL_HAVE_XNNPACK
TEST_CASE("default providers: xnnpack,cpu for int8 groups oneDNN cannot run exactly on this CPU, else dnnl,cpu") {
  const bool vnni = rt::dnnl_ep::int8_exact_on_this_cpu();
  std::mt19937 rng(8);
  for (int limit : {127, 64}) {
    INFO("weights within " << limit);
    const ScopedCaseLimits limits(CaseLimits{limit, true});
    ir::Value* x = nullptr;
    auto m = q8_model(x, 4);
    m->graph->add_output(qdq_conv(*m->graph, x, "b", 4, rng));
    const std::vector<std::string> want =
        vnni || limit == 64 ? rt::default_providers() : std::vector<std::string>{"xnnpack", "cpu"};
    CHECK(rt::default_providers_for(*m) == want);
    // The session resolves them, and runs the group as int8 on the first of them.
    rt::SessionOptions so;
    so.auto_providers = true;
    auto s = rt::Session::create(*m, so);
    REQUIRE(s.is_ok());
    CHECK((*s)->providers() == want);
    const Ran got = run(*m, want, {{"x", RValue(random_q8(DType::UInt8, {1, 4, 5, 5}, rng))}});
    bool grouped = false;  // DQs, Conv and Q as one int8 step of the first provider
    for (const auto& t : got.timings) grouped = grouped || (t.provider == want.front() && t.fused_nodes == 4);
    CHECK(grouped);
  }
  // A float model keeps the build's defaults.
  auto f = std::make_unique<ir::Model>();
  f->set_opset("", 13);
  ir::Value* in = f->graph->add_value("in");
  in->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(4)});
  f->graph->add_input(in);
  f->graph->add_output(f->graph->add_node("Relu", "", {in}, {"r"}, "relu")->output(0));
  CHECK(rt::default_providers_for(*f) == rt::default_providers());
}
#endif

}  // namespace

// ppocr_det_v3's first conv: acc 36255 times x_scale * w_scale / y_scale is 41.4999924 in float, so
// round + 90 = 131 (the reference, and ONNX Runtime); oneDNN adds the zero point before it rounds, and
// 41.4999924 + 90 is 131.5 in float, which rounds to 132. The group must round first.
TEST_CASE("dnnl int8: the output zero point is added after rounding (a tie that appears only in the sum)") {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  ir::Value* x = q8_value(g, "x", DType::UInt8, {1, 2, 1, 1});
  g.add_input(x);
  Tensor w(DType::Int8, {1, 2, 1, 1});
  w.mutable_data<int8_t>()[0] = 127;
  w.mutable_data<int8_t>()[1] = 18;
  ir::Node* dx = g.add_node("DequantizeLinear", "",
                            {x, initializer(g, "xs", scalar_f(0x1.0e0848p-6f)), initializer(g, "xz", scalar_q(DType::UInt8, 0))},
                            {"xf"}, "dq_x");
  ir::Node* dw = g.add_node("DequantizeLinear", "",
                            {initializer(g, "w", std::move(w)), initializer(g, "ws", scalar_f(0x1.12cfc6p-8f)),
                             initializer(g, "wz", scalar_q(DType::Int8, 0))},
                            {"wf"}, "dq_w");
  ir::Node* conv = g.add_node("Conv", "", {dx->output(0), dw->output(0)}, {"c"}, "conv");
  conv->set_attr(ir::Attribute::make_ints("kernel_shape", {1, 1}));
  ir::Node* q = g.add_node("QuantizeLinear", "",
                           {conv->output(0), initializer(g, "ys", scalar_f(0x1.ee9b8ep-5f)),
                            initializer(g, "yz", scalar_q(DType::UInt8, 90))},
                           {"y"}, "q");
  g.add_output(q->output(0));
  Tensor xv(DType::UInt8, {1, 2, 1, 1});
  xv.mutable_data<uint8_t>()[0] = 255;
  xv.mutable_data<uint8_t>()[1] = 215;
  const std::map<std::string, RValue> feeds{{"x", RValue(xv)}};
  const Ran got = run(*m, {"dnnl", "cpu"}, feeds);
  // The weight 127 needs VNNI: without it the group stays on the cpu kernels (int8_exact_for).
  if (rt::dnnl_ep::int8_exact_on_this_cpu()) {
    REQUIRE(got.timings.size() == 1);
    CHECK(got.timings[0].provider == "dnnl");
  } else {
    CHECK(ran_by(got.timings, "conv").first == "cpu");
  }
  CHECK(got.outputs[0].tensor.data<uint8_t>()[0] == 131);
  CHECK(run(*m, {"cpu"}, feeds).outputs[0].tensor.data<uint8_t>()[0] == 131);
}


#endif  // ORTOOL_HAVE_DNNL
