// The digits CNN (testdata/make_digits.py: Conv+BN+Relu x2, Gemm+Relu+Gemm, trained on scikit-learn's
// 8x8 digits): --target-macs 0.7 with the sensitivity sweep keeps held-out top-1 at least as high as
// the uniform ratio of the same MACs, and recovery on the calibration set raises the top-1 of both.
#include <doctest/doctest.h>

#include <cmath>

#include "prune/prune_model.h"
#include "runtime/samples.h"
#include "tests/quant/quant_test_util.h"

using namespace ortool;

namespace {

std::filesystem::path digits(const char* file) { return quant_testing::source_dir() / "testdata" / "digits" / file; }

Tensor npy(const char* file) {
  auto t = read_npy(digits(file));
  REQUIRE_MESSAGE(t.is_ok(), t.status().message());
  return std::move(t).value();
}

std::unique_ptr<ir::Model> load_cnn() {
  auto m = load_model(digits("digits_cnn.onnx"));
  REQUIRE_MESSAGE(m.is_ok(), m.status().message());
  return std::move(m).value();
}

// The calibration set in batches of 32 (4 samples).
std::unique_ptr<rt::SampleSource> calibration() {
  const Tensor calib = npy("calib_x.npy");
  std::vector<rt::Sample> samples;
  for (int64_t b = 0; b < calib.dims()[0]; b += 32)
    samples.push_back({"calib " + std::to_string(b),
                       {{"input", RValue(quant_testing::rows(calib, b, std::min(calib.dims()[0], b + 32)))}},
                       {}});
  return rt::samples_in_memory(std::move(samples), "calib_x.npy");
}

double held_out_top1(const ir::Model& m) {
  auto out = quant_testing::run_model(m, {{"input", RValue(npy("test_x.npy"))}});
  REQUIRE_MESSAGE(out.is_ok(), out.status().message());
  return quant_testing::top1((*out)[0].tensor, npy("test_y.npy"));
}

struct Pruned {
  std::unique_ptr<ir::Model> model;
  prune::PruneReport report;
  uint64_t macs = 0;
  double top1 = 0;
};

// Prunes the CNN at `ratio` (uniform) or to `target` MACs, with or without recovery on `calib`.
Pruned prune_cnn(double ratio, std::optional<double> target, bool recover, const rt::SampleSource& calib) {
  Pruned p;
  p.model = load_cnn();
  prune::PruneOptions o;
  o.plan.ratio = ratio;
  o.target_macs = target;
  o.samples = &calib;
  o.sweep_samples = &calib;
  o.recover = recover;
  auto r = prune::prune_model(*p.model, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  p.report = std::move(r).value();
  p.macs = prune::model_figures(*p.model).macs;
  p.top1 = held_out_top1(*p.model);
  return p;
}

}  // namespace

TEST_CASE("digits CNN: --target-macs 0.7 beats the uniform ratio of the same MACs, and recovery raises both") {
  auto calib = calibration();
  auto original = load_cnn();
  REQUIRE(prune::prepare_model(*original, {}, true).is_ok());
  const uint64_t macs = prune::model_figures(*original).macs;
  const double top1 = held_out_top1(*original);
  CHECK(top1 > 0.95);

  Pruned target = prune_cnn(0, 0.7, false, *calib);
  REQUIRE(target.report.sensitivity);
  REQUIRE(target.report.target);
  CHECK(target.report.target->macs == target.macs);
  CHECK(static_cast<double>(target.macs) <= 0.7 * static_cast<double>(macs));

  // The uniform ratio whose MACs come closest to the target's, from above when two are as close (so
  // the uniform model is never the smaller one).
  double best_ratio = 0;
  uint64_t best_macs = 0;
  for (int i = 1; i <= 60; ++i) {
    auto m = load_cnn();
    prune::PruneOptions o;
    o.plan.ratio = i / 100.0;
    if (!prune::prune_model(*m, o).is_ok()) continue;  // a ratio too small to remove a channel
    const uint64_t u = prune::model_figures(*m).macs;
    auto dist = [&](uint64_t x) { return std::abs(static_cast<double>(x) - static_cast<double>(target.macs)); };
    if (best_macs == 0 || dist(u) < dist(best_macs) || (dist(u) == dist(best_macs) && u > best_macs))
      best_ratio = o.plan.ratio, best_macs = u;
  }
  REQUIRE(best_macs > 0);
  Pruned uniform = prune_cnn(best_ratio, std::nullopt, false, *calib);
  CHECK(uniform.macs == best_macs);
  MESSAGE("digits CNN: original ", macs, " MACs, top-1 ", top1, "; target 0.7: ", target.macs, " MACs, top-1 ",
          target.top1, "; uniform ratio ", best_ratio, ": ", uniform.macs, " MACs, top-1 ", uniform.top1);
  CHECK(target.top1 >= uniform.top1);

  Pruned target_rec = prune_cnn(0, 0.7, true, *calib);
  Pruned uniform_rec = prune_cnn(best_ratio, std::nullopt, true, *calib);
  MESSAGE("recovered: target 0.7 top-1 ", target_rec.top1, ", uniform top-1 ", uniform_rec.top1);
  CHECK(target_rec.macs == target.macs);
  CHECK(uniform_rec.macs == uniform.macs);
  CHECK(target_rec.top1 > target.top1);
  CHECK(uniform_rec.top1 > uniform.top1);
  // Each step is measured, and the refit brings the outputs closer to the original's on the samples.
  for (const Pruned* p : {&target_rec, &uniform_rec}) {
    const auto& steps = p->report.recovery;
    REQUIRE(steps.size() >= 2);
    CHECK(steps.front().step == "pruned");
    CHECK(steps.back().step == "refit");
    CHECK(*steps.back().figures.sqnr_db > *steps.front().figures.sqnr_db);
    for (const auto& l : p->report.refits) CHECK_MESSAGE(l.mse_after <= l.mse_before, l.layer);
  }
}
