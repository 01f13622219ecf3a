// quantize_model (the library side of `ortool quantize`): prepare, calibrate or read a table, quantize,
// prove with per-tensor SQNR, and the --target-sqnr fallback, on the digits models.
#include <fstream>
#include <sstream>

#include "lib/model_io.h"
#include "lib/onnx_export.h"
#include "quant/quantize_pipeline.h"
#include "tests/quant/quant_doctest_util.h"

using namespace ortool;
using namespace ortool::quant;
using namespace ortool::quant_testing;

namespace {

std::filesystem::path digits(const char* file) { return source_dir() / "testdata" / "digits" / file; }

std::unique_ptr<ir::Model> load(const char* file) {
  auto m = load_model(digits(file));
  REQUIRE_MESSAGE(m.is_ok(), m.status().message());
  return std::move(m).value();
}

// The first `n` rows of a batch .npy as samples for `m` (one row each).
std::unique_ptr<rt::SampleSource> rows_of(const ir::Model& m, const char* file, size_t n) {
  auto s = rt::open_samples(*m.graph, digits(file));
  REQUIRE_MESSAGE(s.is_ok(), s.status().message());
  return rt::first_samples(std::move(s).value(), n);
}

std::string bytes_of(const ir::Model& m) {
  auto b = export_model_proto_bytes(m);
  REQUIRE(b.is_ok());
  return *b;
}

}  // namespace

TEST_CASE("quantize_model: digits CNN static, proof and per-tensor SQNR worst first") {
  auto ref = load("digits_cnn.onnx");  // samples read against the file's graph
  auto m = load("digits_cnn.onnx");
  auto calib = rows_of(*ref, "calib_x.npy", 32);
  auto check = rows_of(*ref, "test_x.npy", 16);
  PipelineOptions o;
  o.proof.tensor_sqnr = true;
  size_t calls = 0;
  o.calib_progress = [&calls](const CalibProgress& p) {
    CHECK(p.total == 32);
    ++calls;
  };
  auto r = quantize_model(*m, calib.get(), check.get(), o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK(calls >= 32);
  CHECK(r->optimized.has_value());
  CHECK(count_op(*m, "BatchNormalization") == 0);
  CHECK(count_op(*m, "QuantizeLinear") > 0);
  REQUIRE(r->calibration.has_value());
  CHECK(r->calibration->samples == 32);
  REQUIRE(r->proof.has_value());
  CHECK(r->proof->samples == 16);
  auto worst = r->proof->worst_output_sqnr_db();
  REQUIRE(worst.has_value());
  CHECK(*worst > 25.0);
  // Every quantized activation is measured (input, two convs, the hidden Gemm, the logits), worst first.
  const auto& t = r->proof->tensors;
  REQUIRE(t.size() >= 4);
  for (size_t i = 1; i < t.size(); ++i) CHECK(*t[i - 1].sqnr_db() <= *t[i].sqnr_db());
  for (const TensorSqnr& x : t) {
    CHECK(x.samples == 16);
    CHECK(*x.sqnr_db() > 15.0);  // 8 bits give ~40 dB on these values; a wrong scale gives ~0
  }
}

TEST_CASE("quantize_model: QOperator form measures the same activations") {
  auto ref = load("digits_cnn.onnx");
  auto calib = rows_of(*ref, "calib_x.npy", 16);
  auto check = rows_of(*ref, "test_x.npy", 8);
  PipelineOptions o;
  o.proof.tensor_sqnr = true;
  auto qdq = load("digits_cnn.onnx");
  auto a = quantize_model(*qdq, calib.get(), check.get(), o);
  REQUIRE(a.is_ok());
  o.quantize.format = QuantFormat::QOperator;
  auto qop = load("digits_cnn.onnx");
  auto b = quantize_model(*qop, calib.get(), check.get(), o);
  REQUIRE_MESSAGE(b.is_ok(), b.status().message());
  CHECK(count_op(*qop, "QLinearConv") == 2);
  REQUIRE(a->proof->tensors.size() == b->proof->tensors.size());
  for (const TensorSqnr& x : b->proof->tensors) CHECK(*x.sqnr_db() > 15.0);
}

TEST_CASE("quantize_model: a written calibration table read back gives the same model") {
  auto ref = load("digits_cnn.onnx");
  auto calib = rows_of(*ref, "calib_x.npy", 16);
  const auto table = std::filesystem::temp_directory_path() / "ortool_test_pipeline_table.json";
  std::filesystem::remove(table);
  PipelineOptions o;
  o.calib.range.method = CalibMethod::Percentile;
  o.calib.collect.histogram = true;
  o.table_out = table;
  auto first = load("digits_cnn.onnx");
  auto a = quantize_model(*first, calib.get(), nullptr, o);
  REQUIRE_MESSAGE(a.is_ok(), a.status().message());
  CHECK(std::filesystem::exists(table));
  CHECK(!a->proof.has_value());
  PipelineOptions back;
  back.table_in = table;
  auto second = load("digits_cnn.onnx");
  auto b = quantize_model(*second, nullptr, nullptr, back);
  REQUIRE_MESSAGE(b.is_ok(), b.status().message());
  CHECK(b->ranges_from_table);
  CHECK(bytes_of(*first) == bytes_of(*second));
  std::filesystem::remove(table);
}

TEST_CASE("quantize_model: digits transformer dynamic") {
  auto ref = load("digits_transformer.onnx");
  auto m = load("digits_transformer.onnx");
  auto check = rows_of(*ref, "test_x.npy", 8);
  PipelineOptions o;
  o.mode = QuantMode::Dynamic;
  auto r = quantize_model(*m, nullptr, check.get(), o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  CHECK(!r->calibration.has_value());
  CHECK(count_op(*m, "MatMulInteger") > 0);
  CHECK(*r->proof->worst_output_sqnr_db() > 25.0);
}

TEST_CASE("quantize_model: --target-sqnr puts the most harmful layers back to float, in bounded rounds") {
  auto ref = load("digits_cnn.onnx");
  auto calib = rows_of(*ref, "calib_x.npy", 16);
  // Proved on calibration samples: no held-out value beyond a calibrated range decides the worst sample.
  auto check = rows_of(*ref, "calib_x.npy", 8);
  PipelineOptions o;
  auto plain = load("digits_cnn.onnx");
  auto p = quantize_model(*plain, calib.get(), check.get(), o);
  REQUIRE(p.is_ok());
  const double base = *p->proof->worst_output_sqnr_db();

  SUBCASE("a reachable target: each round raises the output SQNR and the last one reaches it") {
    o.target_sqnr_db = base + 3.0;
    auto m = load("digits_cnn.onnx");
    auto r = quantize_model(*m, calib.get(), check.get(), o);
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    REQUIRE(r->first_output_sqnr_db.has_value());
    CHECK(*r->first_output_sqnr_db == doctest::Approx(base));
    for (const std::string& n : r->notes) MESSAGE(n);
    for (size_t i = 1; i < r->fallback.size(); ++i)
      CHECK(*r->fallback[i].output_sqnr_db >= *r->fallback[i - 1].output_sqnr_db);
    REQUIRE(!r->fallback.empty());
    CHECK(r->target_reached);
    CHECK(*r->fallback.back().output_sqnr_db >= base + 3.0);
    CHECK(*r->proof->worst_output_sqnr_db() >= base + 3.0);
    for (const FallbackRound& f : r->fallback) {
      CHECK(!f.nodes.empty());
      for (const std::string& n : f.nodes) {
        bool left_float = false;
        for (const NodeOutcome& x : r->quantize.left_float) left_float = left_float || x.node == n;
        CHECK_MESSAGE(left_float, n);
      }
    }
  }
  SUBCASE("an unreachable target stops after the round limit, reported") {
    o.target_sqnr_db = 500.0;
    o.max_fallback_rounds = 2;
    auto m = load("digits_cnn.onnx");
    auto r = quantize_model(*m, calib.get(), check.get(), o);
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK(!r->target_reached);
    CHECK(r->fallback.size() == 2);
  }
}

TEST_CASE("quantize_model: bad inputs are errors naming the problem") {
  auto ref = load("digits_cnn.onnx");
  PipelineOptions o;
  SUBCASE("static without samples or a table") {
    auto m = load("digits_cnn.onnx");
    auto r = quantize_model(*m, nullptr, nullptr, o);
    REQUIRE(!r.is_ok());
    CHECK(r.status().exit_code() == 2);
    CHECK(r.status().message().find("--calib") != std::string::npos);
  }
  SUBCASE("an already quantized model") {
    auto calib = rows_of(*ref, "calib_x.npy", 4);
    auto m = load("digits_cnn.onnx");
    REQUIRE(quantize_model(*m, calib.get(), nullptr, o).is_ok());
    auto again = quantize_model(*m, calib.get(), nullptr, o);
    REQUIRE(!again.is_ok());
    CHECK(again.status().message().find("already quantized") != std::string::npos);
  }
  SUBCASE("nothing to quantize: dynamic without --dynamic-conv on a CNN whose Gemms are excluded") {
    o.mode = QuantMode::Dynamic;
    o.quantize.exclude_op_types = {"Gemm"};
    auto m = load("digits_cnn.onnx");
    auto r = quantize_model(*m, nullptr, nullptr, o);
    REQUIRE(!r.is_ok());
    CHECK(r.status().exit_code() == 2);
    CHECK(r.status().message().find("nothing to quantize") != std::string::npos);
  }
  SUBCASE("--target-sqnr in dynamic mode") {
    o.mode = QuantMode::Dynamic;
    o.target_sqnr_db = 30;
    auto m = load("digits_cnn.onnx");
    auto check = rows_of(*ref, "calib_x.npy", 2);
    auto r = quantize_model(*m, nullptr, check.get(), o);
    REQUIRE(!r.is_ok());
    CHECK(r.status().message().find("--mode static") != std::string::npos);
  }
  SUBCASE("a table that does not cover the model") {
    const auto table = std::filesystem::temp_directory_path() / "ortool_test_pipeline_partial.json";
    std::ofstream(table) << R"({"ranges": {"input": {"min": 0, "max": 1}}})";
    o.table_in = table;
    auto m = load("digits_cnn.onnx");
    auto r = quantize_model(*m, nullptr, nullptr, o);
    REQUIRE(!r.is_ok());
    CHECK(r.status().exit_code() == 2);
    std::filesystem::remove(table);
  }
}

TEST_CASE("quantize_model: with speed options, the float and the int8 model are timed in alternating runs") {
  auto ref = load("digits_cnn.onnx");
  auto m = load("digits_cnn.onnx");
  auto calib = rows_of(*ref, "calib_x.npy", 8);
  PipelineOptions o;
  SpeedOptions speed;
  speed.min_runs = 4;
  speed.max_runs = 6;
  speed.max_seconds = 0;  // stop as soon as min_runs pairs are done
  o.speed = speed;
  auto r = quantize_model(*m, calib.get(), nullptr, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  REQUIRE(r->speed.has_value());
  CHECK(r->speed->float_ms.runs == 4);
  CHECK(r->speed->int8_ms.runs == 4);
  CHECK(r->speed->float_ms.median > 0);
  CHECK(r->speed->int8_ms.median > 0);
  CHECK(r->speed->speedup() == doctest::Approx(r->speed->float_ms.median / r->speed->int8_ms.median));
  CHECK(r->speed->threads == 1);

  // Without speed options nothing is timed; a model the session refuses is an error naming which one.
  auto m2 = load("digits_cnn.onnx");
  PipelineOptions plain;
  auto r2 = quantize_model(*m2, calib.get(), nullptr, plain);
  REQUIRE(r2.is_ok());
  CHECK_FALSE(r2->speed.has_value());
  auto bad = measure_speed(*ref, *m2, {}, speed);
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("the float model") != std::string::npos);
}
