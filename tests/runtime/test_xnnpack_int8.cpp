// Tests of the xnnpack provider's int8 groups: QDQ and QOperator Conv/Gemm/MatMul against the cpu reference kernels.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/session.h"
#include "tests/runtime/int8_test_util.h"
#include "tests/runtime/provider_test_util.h"

#ifdef ORTOOL_HAVE_XNNPACK
#include "runtime/partition.h"
#include "runtime/xnnpack/xnn_provider.h"
#endif

using namespace ortool;
using namespace ortool::provider_test;
using namespace ortool::int8_test;

#ifdef ORTOOL_HAVE_XNNPACK

namespace {

TEST_CASE("xnnpack int8 Conv groups (QDQ and QLinearConv) match the cpu reference within one step") {
  conv_cases("xnnpack", 4242, 80);
}

TEST_CASE("xnnpack int8 Gemm and MatMul groups (QDQ and QLinearMatMul) match the cpu reference within one step") {
  matmul_cases("xnnpack", 99, 60);
}

TEST_CASE("xnnpack QuantizeLinear and DequantizeLinear equal the cpu kernels, ties, NaN and saturation included") {
  qdq_equal_cases("xnnpack");
}

// Every step of `got` on xnnpack except the nodes named in `cpu_nodes`.
void check_providers(const Ran& got, const std::vector<std::string>& cpu_nodes) {
  for (const auto& t : got.timings) {
    const bool cpu = std::find(cpu_nodes.begin(), cpu_nodes.end(), t.node->name) != cpu_nodes.end();
    CHECK_MESSAGE(t.provider == (cpu ? "cpu" : "xnnpack"), t.node->describe());
  }
}

TEST_CASE("xnnpack int8: chained groups stay int8 (NHWC between them) and match cpu") {
  std::mt19937 rng(21);
  const int64_t c = 8;
  ir::Value* x = nullptr;
  auto m = q8_model(x, c);
  ir::Graph& g = *m->graph;
  ir::Value* a = qdq_conv(g, x, "a", c, rng);
  ir::Value* b = qdq_conv(g, a, "b", c, rng);  // reads a's uint8 output through its own DequantizeLinear
  g.add_output(qdq_conv(g, b, "c", c, rng));
  std::map<std::string, RValue> feeds{{"x", RValue(random_q8(DType::UInt8, {1, c, 5, 5}, rng))}};
  const Ran ref = run(*m, {"cpu"}, feeds);
  for (int threads : {1, 2}) {
    const Ran got = run(*m, {"xnnpack", "cpu"}, feeds, threads);
    CHECK(got.timings.size() == 3);
    check_providers(got, {});
    check_same_q8(got.outputs[0].tensor, ref.outputs[0].tensor, 110);
  }
}

TEST_CASE("xnnpack int8: a DequantizeLinear shared by groups and a float op runs alone (float out); the groups quantize it back") {
  std::mt19937 rng(22);
  const int64_t c = 6;
  auto m = shared_dq_model(rng, c, true);
  std::map<std::string, RValue> feeds{{"x", RValue(random_q8(DType::UInt8, {1, c, 5, 5}, rng))}};
  const Ran ref = run(*m, {"cpu"}, feeds);
  const Ran got = run(*m, {"xnnpack", "cpu"}, feeds, 2);
  CHECK(ran_by(got.timings, "shared_dq") == std::pair<std::string, size_t>{"xnnpack", 1});  // alone, float out
  CHECK(ran_by(got.timings, "b_dqw") == std::pair<std::string, size_t>{"xnnpack", 3});  // dqw, conv, q
  CHECK(ran_by(got.timings, "c_dqw") == std::pair<std::string, size_t>{"xnnpack", 3});
  for (size_t i = 0; i < 2; ++i) check_same_q8(got.outputs[i].tensor, ref.outputs[i].tensor, 110);
  check_close(got.outputs[2], ref.outputs[2]);
}

TEST_CASE("xnnpack int8: a residual block (groups, Q/DQ, a QDQ Add between) matches cpu") {
  // "bf, skip -> Add -> Q" is left to cpu, which computes it as QLinearAdd in both sessions.
  residual_block_runs("xnnpack", 23, [](const Ran& got) {
    CHECK(ran_by(got.timings, "a_dqx").first == "xnnpack");
    CHECK(ran_by(got.timings, "b_dqw").first == "xnnpack");
    CHECK(ran_by(got.timings, "c_dqx").first == "xnnpack");
    CHECK(ran_by(got.timings, "skip").first == "xnnpack");
    CHECK(ran_by(got.timings, "bf") == std::pair<std::string, size_t>{"cpu", 3});  // bf, add, q
  });
}

// A group XNNPACK cannot compute within a step stays on cpu, and the fallback report can say why.
TEST_CASE("xnnpack int8: a requantization scale of 256 or more is refused with the reason") {
  std::mt19937 rng(24);
  QCase q;
  q.per_channel = false;
  auto attrs = [](ir::Node& node) { node.set_attr(ir::Attribute::make_ints("kernel_shape", {1, 1})); };
  // x_scale 0.02 * w_scale (0.002..0.02) / y_scale 1e-7: far above 256.
  Built b = build(q, "Conv", {1, 3, 4, 4}, random_w({4, 3, 1, 1}, rng), 0, 4, rng, attrs, 1e-7f);
  std::map<std::string, RValue> feeds{{"x", RValue(random_q8(DType::UInt8, {1, 3, 4, 4}, rng))}};
  const Ran got = run(*b.m, {"xnnpack", "cpu"}, feeds);
  CHECK(ran_by(got.timings, "core").first == "cpu");
  const ir::Model& m = *b.m;
  auto order = m.graph->topological_order();
  REQUIRE(order.is_ok());
  const rt::GraphView view(*m.graph, m, *order);
  const ir::Node* core = nullptr;
  for (const ir::Node* n : *order)
    if (n->name == "core") core = n;
  REQUIRE(core);
  const std::string why = rt::xnnpack_int8_refusal(view, *core);
  CHECK_MESSAGE(why.find("requantization scale") != std::string::npos, why);
}

}  // namespace

#endif  // ORTOOL_HAVE_XNNPACK
