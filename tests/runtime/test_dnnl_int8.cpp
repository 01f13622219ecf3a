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
#include "runtime/cpu/wide_int8_gemm.h"
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

// Every Conv/Gemm/MatMul group is claimed on any CPU: on oneDNN where it is exact, else on the widened
// kernels (dnnl_int8_wide.cpp). Without VNNI, uint8 activations with 7-bit weights are oneDNN's own again.
TEST_CASE("dnnl int8 Conv groups (QDQ and QLinearConv) match the cpu reference within one step") {
  int8_test::conv_cases("dnnl", 20261205, 60);
}

TEST_CASE("dnnl int8 Gemm and MatMul groups (QDQ and QLinearMatMul) match the cpu reference within one step") {
  int8_test::matmul_cases("dnnl", 77, 40);
}

// The widened kernels on any CPU (on a VNNI machine oneDNN's kernels run every group otherwise).
class ScopedWidened {
 public:
  ScopedWidened() { rt::dnnl_ep::force_widened_int8(true); }
  ~ScopedWidened() { rt::dnnl_ep::force_widened_int8(false); }
  ScopedWidened(const ScopedWidened&) = delete;
  ScopedWidened& operator=(const ScopedWidened&) = delete;
};

TEST_CASE("dnnl int8 widened kernels, forced on any CPU: Conv, Gemm and MatMul groups match the cpu reference") {
  const ScopedWidened widened;
  int8_test::conv_cases("dnnl", 20261207, 40);
  int8_test::matmul_cases("dnnl", 79, 30);
}

TEST_CASE("dnnl int8 groups with uint8 activations and 7-bit weights (oneDNN's kernels on any x86 CPU)") {
  const ScopedCaseLimits limits(CaseLimits{64, true});
  int8_test::conv_cases("dnnl", 20261206, 30);
  int8_test::matmul_cases("dnnl", 78, 20);
}

TEST_CASE("dnnl int8 widened kernels: the portable loop gives the AVX2 kernel's bytes") {
  if (!rt::wide8::vectorized()) return;  // nothing to compare with
  std::mt19937 rng(12);
  for (int iter = 0; iter < 6; ++iter) {
    const int64_t n = pick(rng, 1, 40), k = pick(rng, 1, 90), rows = pick(rng, 1, 20);
    std::vector<int16_t> w(static_cast<size_t>(n * k));
    for (auto& v : w) v = static_cast<int16_t>(pick(rng, -255, 255));
    const auto packed = rt::wide8::pack_weights(n, k, [&](int64_t c, int64_t i) { return w[static_cast<size_t>(c * k + i)]; });
    rt::wide8::Requant q;
    for (int64_t c = 0; c < packed.panels() * rt::wide8::kPanel; ++c) {
      q.scale.push_back(pickf(rng, 1e-5f, 1e-3f));
      q.bias.push_back(pickf(rng, -2000.0f, 2000.0f));
    }
    q.zero_point = pick(rng, -20, 20);
    q.out_signed = iter % 2 == 0;
    q.lo = iter % 3 == 0 ? 0.0f : -1e9f;
    std::vector<uint8_t> x(static_cast<size_t>(rows * k));
    for (auto& v : x) v = static_cast<uint8_t>(pick(rng, 0, 255));
    const int32_t zx = pick(rng, 0, 255);
    rt::wide8::WideJob job;
    job.rows = rows;
    job.w = &packed;
    job.q = &q;
    job.out_stride = n;
    job.fill = [&](int64_t r0, int64_t r1, int16_t* a, int64_t stride) {
      for (int64_t r = r0; r < r1; ++r) rt::wide8::widen(x.data() + r * k, false, zx, k, stride, a + (r - r0) * stride);
    };
    std::vector<uint8_t> fast(static_cast<size_t>(rows * n)), slow(fast.size());
    job.out = fast.data();
    rt::wide8::run_jobs(std::span<const rt::wide8::WideJob>(&job, 1), nullptr);
    rt::wide8::force_portable(true);
    job.out = slow.data();
    rt::wide8::run_jobs(std::span<const rt::wide8::WideJob>(&job, 1), nullptr);
    rt::wide8::force_portable(false);
    CHECK(fast == slow);
    // Not all saturated or all zero: the comparison means something.
    const bool varied = fast.size() < 4 || std::count(fast.begin(), fast.end(), fast[0]) < static_cast<std::ptrdiff_t>(fast.size());
    CHECK(varied);
  }
}

TEST_CASE("dnnl int8 widened kernels: pack_bytes packs a byte matrix as pack_weights does (vector and portable)") {
  std::mt19937 rng(13);
  for (int iter = 0; iter < 24; ++iter) {
    // Odd k, columns past a whole panel, and a row stride wider than the matrix.
    const int64_t k = pick(rng, 1, 70), n = pick(rng, 1, 50), ld = n + pick(rng, 0, 5);
    const bool is_signed = iter % 2 == 0;
    const int32_t zp = is_signed ? pick(rng, -128, 127) : pick(rng, 0, 255);
    std::vector<uint8_t> b(static_cast<size_t>(k * ld));
    for (auto& v : b) v = static_cast<uint8_t>(pick(rng, 0, 255));
    const auto want = rt::wide8::pack_weights(n, k, [&](int64_t c, int64_t i) {
      const uint8_t v = b[static_cast<size_t>(i * ld + c)];
      return (is_signed ? static_cast<int32_t>(static_cast<int8_t>(v)) : v) - zp;
    });
    for (bool portable : {false, true}) {
      INFO("case " << iter << " k " << k << " n " << n << " portable " << portable);
      rt::wide8::force_portable(portable);
      rt::wide8::PackedWeights got;
      got.data.assign(7, 1);  // stale contents from an earlier run are replaced
      rt::wide8::pack_bytes(b.data(), ld, is_signed, zp, k, n, got);
      rt::wide8::force_portable(false);
      CHECK(got.n == want.n);
      CHECK(got.k == want.k);
      CHECK(got.pairs == want.pairs);
      CHECK(got.data == want.data);
    }
  }
}

TEST_CASE("dnnl int8: a reduction too long for the widened kernel's 32-bit sums stays on the cpu kernels") {
  if (rt::dnnl_ep::int8_exact_on_this_cpu()) return;  // oneDNN's own kernels run it there
  std::mt19937 rng(13);
  QCase q;
  q.randomize(rng);
  q.qoperator = false;
  q.bias = false;
  const int64_t k = rt::wide8::kMaxReduction + 1;
  Built b = build(q, "MatMul", {1, k}, random_w({k, 2}, rng), 1, 2, rng, [](ir::Node&) {}, 1.0f);
  const Ran got = run(*b.m, {"dnnl", "cpu"}, {{"x", RValue(random_q8(q.xt, {1, k}, rng))}});
  for (const auto& t : got.timings) CHECK_MESSAGE(!(t.provider == "dnnl" && t.fused_nodes > 1), t.node->describe());
}

TEST_CASE("dnnl int8: a DequantizeLinear read by two groups is carried as uint8; chained groups stay int8") {
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
  // residual_block: its Add between DQ and Q, and conv c after.
  residual_block_runs("dnnl", 9, [](const Ran& got) {
    for (const auto& t : got.timings) CHECK_MESSAGE(t.provider == "dnnl", t.node->describe());
  });
}

TEST_CASE("dnnl QuantizeLinear and DequantizeLinear equal the cpu kernels, ties, NaN and saturation included") {
  qdq_equal_cases("dnnl");
}

#ifdef ORTOOL_HAVE_XNNPACK
TEST_CASE("default providers: xnnpack,cpu for int8 groups the dnnl provider cannot run exactly on this CPU, else dnnl,cpu") {
  const bool vnni = rt::dnnl_ep::int8_exact_on_this_cpu();
  std::mt19937 rng(8);
  for (int limit : {127, 64}) {
    INFO("weights within " << limit);
    const ScopedCaseLimits limits(CaseLimits{limit, true});
    ir::Value* x = nullptr;
    auto m = q8_model(x, 4);
    m->graph->add_output(qdq_conv(*m->graph, x, "b", 4, rng));
    // Conv groups: oneDNN's kernels or the widened ones, on any CPU.
    const std::vector<std::string> want = rt::default_providers();
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
  // A ConvTranspose group: oneDNN's int8 deconvolution is exact with VNNI only, and has no widened kernel.
  QCase q;
  q.randomize(rng);
  q.qoperator = false;
  Built b = build(q, "ConvTranspose", {1, 4, 5, 5}, random_w({4, 4, 2, 2}, rng), 1, 4, rng, [](ir::Node&) {}, 0.05f);
  CHECK(rt::default_providers_for(*b.m) ==
        (vnni ? rt::default_providers() : std::vector<std::string>{"xnnpack", "cpu"}));
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
  // The weight 127: oneDNN's kernel with VNNI, the widened one without.
  REQUIRE(got.timings.size() == 1);
  CHECK(got.timings[0].provider == "dnnl");
  CHECK(got.outputs[0].tensor.data<uint8_t>()[0] == 131);
  CHECK(run(*m, {"cpu"}, feeds).outputs[0].tensor.data<uint8_t>()[0] == 131);
}


#endif  // ORTOOL_HAVE_DNNL
