// Calibration driver tests: ranges of a model's values over samples, progress, two passes, notes for
// NaN/Inf and constant tensors, errors for bad names and samples, and memory that does not grow.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "quant/calib_table.h"
#include "quant/calibrate.h"
#include "tests/passes/pass_test_util.h"

using namespace ortool;
using namespace ortool::quant;
using ortool::testing::ModelBuilder;

namespace {

constexpr int64_t kWidth = 64;

// y = Relu(2 * x), x: float[1, 64]. Values: x, "Mul0" = 2x, "Relu1" = max(0, 2x) (also the output).
std::unique_ptr<ir::Model> double_relu_model(int64_t width = kWidth) {
  ModelBuilder b;
  ir::Value* x = b.input("x", {1, width});
  ir::Value* m = b.node("Mul", {x, b.scalar("two", 2.0f)});
  b.output(b.node("Relu", {m}));
  return std::move(b.model);
}

Tensor gaussian_row(uint32_t seed, float scale = 1.0f, int64_t width = kWidth) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  Tensor t(DType::Float, {1, width});
  for (int64_t i = 0; i < width; ++i) t.mutable_data<float>()[i] = d(rng);
  return t;
}

// Samples made on demand from their index: nothing is held, like a folder read one file at a time.
class GeneratedSamples final : public rt::SampleSource {
 public:
  explicit GeneratedSamples(size_t n, int64_t width = kWidth) : n_(n), width_(width) {}
  size_t size() const override { return n_; }
  Result<rt::Sample> get(size_t i) const override {
    rt::Sample s;
    s.label = "generated #" + std::to_string(i);
    s.feeds["x"] = gaussian_row(static_cast<uint32_t>(1000 + i), 1.0f, width_);
    return s;
  }
  std::string describe() const override { return "generated samples"; }

 private:
  size_t n_;
  int64_t width_;
};

std::unique_ptr<rt::SampleSource> in_memory(std::vector<Tensor> xs) {
  std::vector<rt::Sample> samples;
  for (size_t i = 0; i < xs.size(); ++i) {
    rt::Sample s;
    s.label = "sample " + std::to_string(i);
    s.feeds["x"] = std::move(xs[i]);
    samples.push_back(std::move(s));
  }
  return rt::samples_in_memory(std::move(samples), "test samples");
}

CalibResult run(const ir::Model& m, const std::vector<std::string>& names, const rt::SampleSource& s,
                const CalibOptions& o = {}, const CalibProgressFn& progress = {}) {
  auto r = calibrate(m, names, s, o, progress);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return std::move(r).value();
}

std::string error_of(const ir::Model& m, const std::vector<std::string>& names, const rt::SampleSource& s,
                     const CalibOptions& o = {}) {
  auto r = calibrate(m, names, s, o);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().exit_code() == 2);
  return r.status().message();
}

}  // namespace

TEST_CASE("calibrate: minmax ranges of inputs, intermediate values and outputs over all samples") {
  auto m = double_relu_model();
  std::vector<Tensor> xs;
  float lo = 1e30f, hi = -1e30f;
  for (uint32_t i = 0; i < 5; ++i) {
    xs.push_back(gaussian_row(i, 1.0f + static_cast<float>(i)));
    for (int64_t k = 0; k < kWidth; ++k) {
      lo = std::min(lo, xs.back().data<float>()[k]);
      hi = std::max(hi, xs.back().data<float>()[k]);
    }
  }
  auto samples = in_memory(xs);
  CalibResult r = run(*m, {"x", "Mul0", "Relu1"}, *samples);
  CHECK(r.samples == 5);
  CHECK(r.passes == 1);
  CHECK(r.notes.empty());
  CHECK(r.ranges["x"].min == lo);
  CHECK(r.ranges["x"].max == hi);
  CHECK(r.ranges["Mul0"].min == 2 * lo);
  CHECK(r.ranges["Mul0"].max == 2 * hi);
  CHECK(r.ranges["Relu1"].min == 0);
  CHECK(r.ranges["Relu1"].max == 2 * hi);
  CHECK(r.stats["Mul0"].values == 5 * kWidth);
}

TEST_CASE("calibrate: progress is reported after every sample, for each pass") {
  auto m = double_relu_model();
  GeneratedSamples samples(4);
  std::vector<CalibProgress> seen;
  CalibOptions o;
  run(*m, {"Relu1"}, samples, o, [&](const CalibProgress& p) { seen.push_back(p); });
  REQUIRE(seen.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(seen[i].done == i + 1);
    CHECK(seen[i].total == 4);
    CHECK(seen[i].pass == 1);
    CHECK(seen[i].passes == 1);
  }
  seen.clear();
  o.range.method = CalibMethod::Percentile;
  o.two_pass = true;
  CalibResult r = run(*m, {"Relu1"}, samples, o, [&](const CalibProgress& p) { seen.push_back(p); });
  CHECK(r.passes == 2);
  REQUIRE(seen.size() == 8);
  CHECK(seen[3].pass == 1);
  CHECK(seen[4].pass == 2);
  CHECK(seen[4].done == 1);
  CHECK(seen[7].passes == 2);
  // Two passes with minmax would gain nothing: it stays one pass.
  o.range.method = CalibMethod::MinMax;
  CHECK(run(*m, {"Relu1"}, samples, o).passes == 1);
}

TEST_CASE("calibrate: two passes agree with one pass, at full histogram resolution") {
  // Enough values (800k) for entropy's KL curve to be smooth at 2048 bins.
  auto m = double_relu_model(4096);
  GeneratedSamples samples(200, 4096);
  for (CalibMethod method : {CalibMethod::Percentile, CalibMethod::Entropy, CalibMethod::Mse}) {
    CAPTURE(calib_method_name(method));
    CalibOptions o;
    o.range.method = method;
    o.range.percentile = 99.9;
    CalibResult one = run(*m, {"x", "Relu1"}, samples, o);
    o.two_pass = true;
    CalibResult two = run(*m, {"x", "Relu1"}, samples, o);
    for (std::string name : {"x", "Relu1"}) {
      CAPTURE(name);
      // One pass may lose up to half of the resolution to range doublings: a few bins of 2048.
      const double span = one.stats[name].max - one.stats[name].min;
      CHECK(std::fabs(one.ranges[name].max - two.ranges[name].max) < 0.02 * span);
      CHECK(std::fabs(one.ranges[name].min - two.ranges[name].min) < 0.02 * span);
    }
  }
}

TEST_CASE("calibrate: NaN and Inf are skipped with a note; the range stays finite") {
  auto m = double_relu_model();
  Tensor bad = gaussian_row(1);
  bad.mutable_data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  bad.mutable_data<float>()[1] = std::numeric_limits<float>::infinity();
  auto samples = in_memory({gaussian_row(0), bad, gaussian_row(2)});
  CalibOptions o;
  o.range.method = CalibMethod::Entropy;
  CalibResult r = run(*m, {"x", "Mul0"}, *samples, o);
  CHECK(std::isfinite(r.ranges["x"].min));
  CHECK(std::isfinite(r.ranges["x"].max));
  CHECK(std::isfinite(r.ranges["Mul0"].max));
  CHECK(r.stats["x"].nan == 1);
  CHECK(r.stats["x"].inf == 1);
  bool noted = false;
  for (const std::string& n : r.notes)
    noted |= n == "tensor 'x': skipped 1 NaN and 1 Inf (in 1 of 3 samples); its range covers the finite values";
  CHECK_MESSAGE(noted, "notes: ", fmt::format("{}", fmt::join(r.notes, " | ")));
}

TEST_CASE("calibrate: all-NaN tensors are left out with a note, constant ones kept with a note") {
  auto m = double_relu_model();
  Tensor nan(DType::Float, {1, kWidth});
  for (int64_t i = 0; i < kWidth; ++i) nan.mutable_data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
  auto nan_samples = in_memory({nan, nan});
  CalibResult r = run(*m, {"x"}, *nan_samples);
  CHECK(r.ranges.empty());
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0] == "tensor 'x': no finite value in 2 samples (128 NaN); left out of the ranges");

  Tensor c(DType::Float, {1, kWidth});
  for (int64_t i = 0; i < kWidth; ++i) c.mutable_data<float>()[i] = -0.5f;
  auto const_samples = in_memory({c, c});
  for (CalibMethod method : {CalibMethod::MinMax, CalibMethod::Entropy, CalibMethod::Percentile, CalibMethod::Mse}) {
    CalibOptions o;
    o.range.method = method;
    CalibResult k = run(*m, {"x", "Relu1"}, *const_samples, o);
    CHECK(k.ranges["x"].min == -0.5);
    CHECK(k.ranges["x"].max == -0.5);
    CHECK(k.ranges["Relu1"].min == 0);  // all zeros
    CHECK(k.ranges["Relu1"].max == 0);
    CHECK(k.notes.size() == 2);
  }
}

TEST_CASE("calibrate: bad names, types and samples are errors naming them") {
  auto m = double_relu_model();
  GeneratedSamples samples(2);
  CHECK(error_of(*m, {"nope"}, samples) == "calibrate: the model has no value named 'nope'");
  CHECK(error_of(*m, {"two"}, samples).find("calibrate: 'two' is a constant") == 0);
  CHECK(error_of(*m, {"x", "x"}, samples) == "calibrate: tensor 'x' is listed twice");
  CHECK(error_of(*m, {}, samples) == "calibrate: no tensors to calibrate");
  GeneratedSamples none(0);
  CHECK(error_of(*m, {"x"}, none) == "generated samples: no samples to calibrate on");
  CalibOptions o;
  o.range.percentile = 120;
  CHECK(error_of(*m, {"x"}, samples, o).find("percentile") != std::string::npos);

  // A sample the model refuses: the sample's label leads the message.
  std::vector<rt::Sample> wrong(1);
  wrong[0].label = "calib/bad.npy";
  wrong[0].feeds["x"] = Tensor(DType::Float, {1, 3});
  auto wrong_src = rt::samples_in_memory(std::move(wrong), "calib/");
  CHECK(error_of(*m, {"x"}, *wrong_src).find("calib/bad.npy: ") == 0);

  // A value that turns out not to be float when it is computed.
  ModelBuilder b;
  ir::Value* x = b.input("x", {1, kWidth});
  ir::Value* ints = b.node("Cast", {x}, {ortool::testing::int_attr("to", static_cast<int64_t>(DType::Int64))});
  b.output(ints);
  CHECK(error_of(*b.model, {"Cast0"}, samples) ==
        "generated #0: tensor 'Cast0': holds int64 values; only float tensors (float32, float16, bfloat16, float64) "
        "are calibrated");
  // Declared types are checked before running.
  ModelBuilder b2;
  b2.output(b2.input("ids", {1, kWidth}, DType::Int64));
  CHECK(error_of(*b2.model, {"ids"}, samples) == "calibrate: 'ids' is int64, not a float tensor");
}

TEST_CASE("calibrate: memory held does not grow with the number of samples") {
  auto m = double_relu_model();
  for (CalibMethod method : {CalibMethod::MinMax, CalibMethod::Entropy}) {
    CAPTURE(calib_method_name(method));
    CalibOptions o;
    o.range.method = method;
    o.collect.moving_average = method == CalibMethod::MinMax;
    GeneratedSamples ten(10), thousand(1000);
    CalibResult a = run(*m, {"x", "Mul0", "Relu1"}, ten, o);
    CalibResult b = run(*m, {"x", "Mul0", "Relu1"}, thousand, o);
    CHECK(b.samples == 1000);
    CHECK(a.collector_bytes == b.collector_bytes);
    CHECK(b.collector_bytes < 3 * 40 * 1024);  // three tensors: a histogram of 2 x 2048 counters each at most
  }
}

TEST_CASE("calibrate: a written table reads back to the same ranges, and replaces calibration") {
  auto m = double_relu_model();
  GeneratedSamples samples(20);
  CalibOptions o;
  o.range.method = CalibMethod::Percentile;
  o.range.symmetric = true;
  CalibResult r = run(*m, {"x", "Mul0", "Relu1"}, samples, o);
  CalibrationTable t = calibration_table(r, o);
  CHECK(t.method == "percentile 99.999 symmetric");
  CHECK(t.samples == 20);
  const auto file = std::filesystem::temp_directory_path() / ("ortool_calibrate_" + std::to_string(::getpid()) + ".json");
  REQUIRE(write_calibration_table(file, t).is_ok());
  auto back = result_from_table(file, {"x", "Relu1"});  // a table may cover more than is asked
  auto missing = result_from_table(file, {"x", "Add7"});
  std::filesystem::remove(file);
  REQUIRE_MESSAGE(back.is_ok(), back.status().message());
  CHECK(back->samples == 20);
  CHECK(back->ranges.size() == 3);
  for (const auto& [name, range] : r.ranges) {
    CHECK(static_cast<float>(back->ranges[name].min) == static_cast<float>(range.min));
    CHECK(static_cast<float>(back->ranges[name].max) == static_cast<float>(range.max));
  }
  REQUIRE(back->notes.size() == 1);
  CHECK(back->notes[0] == fmt::format("ranges read from {} (percentile 99.999 symmetric, 20 samples); calibration skipped",
                                      file.string()));
  CHECK(missing.status().message().find(file.string() + ": no range for tensor 'Add7'") == 0);
}

TEST_CASE("calibrate: method descriptions") {
  CalibOptions o;
  CHECK(describe_method(o) == "minmax");
  o.collect.moving_average = true;
  CHECK(describe_method(o) == "minmax moving-average 0.01");
  o = {};
  o.range.method = CalibMethod::Mse;
  o.two_pass = true;
  CHECK(describe_method(o) == "mse two-pass");
  o.range.method = CalibMethod::MinMax;
  CHECK(describe_method(o) == "minmax");  // two passes do nothing for minmax
}
