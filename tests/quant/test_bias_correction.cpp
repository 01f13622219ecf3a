// Bias correction: the running per-channel means of calibration, the corrected bias against a hand
// computation, where corrections go (created Conv bias, MatMul's bias Add), and the mean output error
// it removes on a layer whose weights all round the same way.
#include <cmath>
#include <limits>

#include "quant/bias_correction.h"
#include "quant/calib_mean.h"
#include "quant/quantize_pipeline.h"
#include "tests/quant/quant_doctest_util.h"

using namespace ortool;
using namespace ortool::quant;
using namespace ortool::quant_testing;
using ortool::testing::int_attr;
using ortool::testing::ModelBuilder;

namespace {

Tensor floats(std::vector<int64_t> dims, const std::vector<float>& v) { return Tensor::from_vector(DType::Float, dims, v); }

const ir::Node* node_named(const ir::Model& m, const std::string& name) {
  for (const ir::Node* n : m.graph->nodes())
    if (n->name == name) return n;
  FAIL("no node ", name);
  return nullptr;
}

// x[8,64] -> Relu -> Gemm (transB, W [16,64], C [16]): row c of W is 1.0 (which sets the int8 scale to
// 1/127) and 63 values (k + 0.4)/127, k in 0..30, which all round down by 0.4/127. The Relu's output has
// mean 1/4 on the runtime's uniform [-1, 1) inputs, so quantized outputs shift by about -0.05.
std::unique_ptr<ir::Model> skewed_gemm() {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {8, 64});
  Tensor w(DType::Float, {16, 64});
  for (int64_t c = 0; c < 16; ++c)
    for (int64_t k = 0; k < 64; ++k)
      w.mutable_data<float>()[c * 64 + k] = k == c ? 1.0f : static_cast<float>(((c * 7 + k * 13) % 31) + 0.4) / 127.0f;
  ir::Value* r = b.node("Relu", {x});
  ir::Value* y = b.node("Gemm", {r, b.init("w", std::move(w)), b.random_init("c", {16}, -0.1f, 0.1f)},
                        {int_attr("transB", 1)});
  b.output(y);
  return std::move(b.model);
}

// Mean of (quantized - float) over every output element of `feeds`.
double mean_output_error(const ir::Model& f, const ir::Model& q, const std::vector<rt::Feeds>& feeds) {
  double sum = 0;
  int64_t n = 0;
  for (const rt::Feeds& feed : feeds) {
    auto a = run_model(f, feed);
    REQUIRE_MESSAGE(a.is_ok(), a.status().message());
    auto b = run_model(q, feed);
    REQUIRE_MESSAGE(b.is_ok(), b.status().message());
    const Tensor& x = (*a)[0].tensor;
    const Tensor& y = (*b)[0].tensor;
    for (int64_t i = 0; i < x.numel(); ++i) sum += y.data<float>()[i] - x.data<float>()[i];
    n += x.numel();
  }
  return sum / static_cast<double>(n);
}

}  // namespace

TEST_CASE("ChannelMeanCollector: means per channel along an axis over samples, NaN skipped, shapes checked") {
  ChannelMeanCollector c(1);
  // [2, 3, 2]: channel k holds k + 10 * row, and one NaN in channel 2.
  Tensor t = floats({2, 3, 2}, {0, 0, 1, 1, 2, std::numeric_limits<float>::quiet_NaN(), 10, 10, 11, 11, 12, 12});
  REQUIRE(c.add(t).is_ok());
  REQUIRE(c.add(floats({1, 3, 1}, {4, 4, 4})).is_ok());
  const std::vector<double> m = c.means();
  REQUIRE(m.size() == 3);
  CHECK(m[0] == doctest::Approx((0 + 0 + 10 + 10 + 4) / 5.0));
  CHECK(m[1] == doctest::Approx((1 + 1 + 11 + 11 + 4) / 5.0));
  CHECK(m[2] == doctest::Approx((2 + 12 + 12 + 4) / 4.0));
  CHECK(!c.add(floats({1, 4}, {1, 2, 3, 4})).is_ok());  // 4 channels on axis 1, not 3

  ChannelMeanCollector last(-1);
  REQUIRE(last.add(floats({2, 2}, {1, 2, 3, 4})).is_ok());
  CHECK(last.means() == std::vector<double>{2, 3});
  CHECK(!last.add(Tensor(DType::Int32, {2, 2})).is_ok());
}

TEST_CASE("bias correction: the corrected Gemm bias equals the hand computation b - sum_k (Wq - W) E[x_k]") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {4, 3});
  const std::vector<float> w = {1.0f, 0.3f, -0.2f, 0.5f, -0.45f, 0.1f};
  b.node("Gemm", {x, b.init("w", floats({2, 3}, w)), b.init("c", floats({2}, {0.25f, -0.5f}))}, {int_attr("transB", 1)});
  b.output(b.last->output(0));
  ir::Model& m = *b.model;
  const std::vector<double> mean = {0.5, 2.0, -1.5};
  QuantizeOptions o;
  o.bias_correction = true;
  auto plan = plan_static(m, o);
  REQUIRE(plan.is_ok());
  std::vector<std::string> notes;
  auto done = correct_biases(m, *plan, ChannelMeans{{"x", mean}}, o, notes);
  REQUIRE_MESSAGE(done.is_ok(), done.status().message());
  REQUIRE(done->size() == 1);
  CHECK((*done)[0].channels == 2);
  CHECK(notes.empty());

  // By hand: int8 symmetric per output row, scale = max |w| / 127, q = round(w / scale).
  const float* got = node_named(m, "Gemm0")->input(2)->constant()->data<float>();
  const double c0[2] = {0.25, -0.5};
  for (int row = 0; row < 2; ++row) {
    const double scale = std::max({std::fabs(w[row * 3]), std::fabs(w[row * 3 + 1]), std::fabs(w[row * 3 + 2])}) / 127.0;
    double shift = 0;
    for (int k = 0; k < 3; ++k) {
      const double wk = w[static_cast<size_t>(row * 3 + k)];
      shift += (std::nearbyint(wk / scale) * scale - wk) * mean[static_cast<size_t>(k)];
    }
    CAPTURE(row);
    CHECK(std::fabs(shift) > 1e-4);  // the case is not trivial
    CHECK(got[row] == doctest::Approx(c0[row] - shift).epsilon(1e-6));
  }
  // Row 0 by the numbers: 0.3 -> 38/127, -0.2 -> -25/127; shift = (38/127 - 0.3) 2 + (-25/127 + 0.2)(-1.5).
  CHECK(got[0] == doctest::Approx(0.25 - ((38.0 / 127 - 0.3) * 2.0 + (-25.0 / 127 + 0.2) * -1.5)).epsilon(1e-6));
}

TEST_CASE("bias correction: a Conv without bias gets one, MatMul's goes to its bias Add, a bare MatMul is noted") {
  ModelBuilder b(13);
  ir::Value* x = b.input("x", {2, 3, 6, 6});
  ir::Value* c0 = b.node("Conv", {x, b.random_init("w0", {4, 3, 3, 3})});           // no bias
  ir::Value* f1 = b.node("Flatten", {c0});                                          // [2, 64]
  ir::Value* m2 = b.node("MatMul", {f1, b.random_init("w2", {64, 5})});
  ir::Value* a3 = b.node("Add", {m2, b.random_init("c3", {5})});
  ir::Value* m4 = b.node("MatMul", {a3, b.random_init("w4", {5, 3})});             // no bias Add
  b.output(m4);
  auto [m, ref, feeds] = with_float_copy(std::move(b.model));
  QuantizeOptions o;
  o.bias_correction = true;
  auto inputs = bias_correction_inputs(*m, o);
  REQUIRE(inputs.is_ok());
  CHECK(*inputs == std::map<std::string, int64_t>{{"x", 1}, {"Flatten1", -1}, {"Add3", -1}});
  ChannelMeans means;  // as calibration would take them
  means["x"] = {0.1, -0.2, 0.3};
  means["Flatten1"] = std::vector<double>(64, 0.2);
  means["Add3"] = std::vector<double>(5, -0.1);

  auto names = tensors_to_calibrate(*m, o);
  REQUIRE(names.is_ok());
  auto ranges = minmax_ranges(*m, *names, feeds);
  REQUIRE(ranges.is_ok());
  CHECK(!quantize_static(*m, *ranges, o).is_ok());  // means are required
  auto r = quantize_static(*m, *ranges, o, &means);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  REQUIRE(r->bias_corrections.size() == 2);
  CHECK(r->bias_corrections[0].node == "Conv0");
  CHECK(r->bias_corrections[0].created);
  CHECK(r->bias_corrections[0].max_shift > 0);
  CHECK(r->bias_corrections[1].node == "MatMul2");
  CHECK(!r->bias_corrections[1].created);
  bool noted = false;
  for (const std::string& n : r->notes) noted = noted || n.find("MatMul4: MatMul has no bias Add") != std::string::npos;
  CHECK_MESSAGE(noted, "notes: ", r->notes.size());
  // The created bias is quantized to int32 like any other, and the model still matches float closely.
  const ir::Node* conv = node_named(*m, "Conv0");
  REQUIRE(conv->input(2));
  REQUIRE(conv->input(2)->producer());
  CHECK(conv->input(2)->producer()->op_type() == "DequantizeLinear");
  CHECK(r->biases_quantized == 1);
  CHECK(output_sqnr(*ref, *m, feeds[0]) > 25);
}

TEST_CASE("bias correction: removes the mean output shift of weights that all round one way (pipeline)") {
  auto ref = skewed_gemm();
  auto calib = rt::random_samples(*ref->graph, 8, 1, {}, {});
  auto check = rt::random_samples(*ref->graph, 4, 101, {}, {});
  std::vector<rt::Feeds> feeds;
  for (uint64_t s = 0; s < 4; ++s) feeds.push_back(*rt::random_inputs(*ref->graph, 500 + s, {}, {}));

  double error[2], sqnr[2];
  for (int on = 0; on < 2; ++on) {
    auto m = copy_model(*ref);
    REQUIRE(m.is_ok());
    PipelineOptions o;
    o.quantize.bias_correction = on == 1;
    auto r = quantize_model(**m, calib.get(), check.get(), o);
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    if (on) {
      REQUIRE(r->quantize.bias_corrections.size() == 1);
      CHECK(r->quantize.bias_corrections[0].max_shift > 0.02);
      REQUIRE(r->effects.size() == 1);
      CHECK(r->effects[0].option == "bias-correction");
      REQUIRE(r->effects[0].without_db.has_value());
      REQUIRE(r->effects[0].with_db.has_value());
      CHECK(*r->effects[0].with_db > *r->effects[0].without_db + 3);
    } else {
      CHECK(r->effects.empty());
    }
    error[on] = mean_output_error(*ref, **m, feeds);
    sqnr[on] = output_sqnr(*ref, **m, feeds[0]);
  }
  INFO("mean output error ", error[0], " -> ", error[1], ", SQNR ", sqnr[0], " -> ", sqnr[1], " dB");
  CHECK(error[0] < -0.02);  // the skew is there without correction
  CHECK(std::fabs(error[1]) < 0.2 * std::fabs(error[0]));
  CHECK(sqnr[1] > sqnr[0] + 3);
}

TEST_CASE("bias correction: needs calibration samples and static mode; with a table, means come from --calib") {
  auto ref = skewed_gemm();
  auto calib = rt::random_samples(*ref->graph, 4, 1, {}, {});
  PipelineOptions o;
  o.quantize.bias_correction = true;
  o.mode = QuantMode::Dynamic;
  auto m = copy_model(*ref);
  REQUIRE(m.is_ok());
  auto dyn = quantize_model(**m, calib.get(), nullptr, o);
  REQUIRE(!dyn.is_ok());
  CHECK(dyn.status().message().find("static") != std::string::npos);

  o.mode = QuantMode::Static;
  const auto table = std::filesystem::temp_directory_path() / "ortool_bias_correction_table.json";
  std::filesystem::remove(table);
  o.table_out = table;
  auto first = quantize_model(**m, calib.get(), nullptr, o);
  REQUIRE_MESSAGE(first.is_ok(), first.status().message());

  PipelineOptions again = o;
  again.table_out.clear();
  again.table_in = table;
  auto m2 = copy_model(*ref);
  REQUIRE(m2.is_ok());
  auto none = quantize_model(**m2, nullptr, nullptr, again);
  REQUIRE(!none.is_ok());
  CHECK(none.status().message().find("--calib") != std::string::npos);
  auto from_table = quantize_model(**m2, calib.get(), nullptr, again);
  REQUIRE_MESSAGE(from_table.is_ok(), from_table.status().message());
  CHECK(from_table->ranges_from_table);
  CHECK(from_table->quantize.bias_corrections.size() == 1);
  // Same ranges and the same means: the same corrected file.
  CHECK(first->quantize.bias_corrections[0].max_shift ==
        doctest::Approx(from_table->quantize.bias_corrections[0].max_shift));
  std::filesystem::remove(table);
}
