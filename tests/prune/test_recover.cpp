// Recovery (BatchNormalization re-estimation, least-squares refit), the sensitivity sweep and the
// choice of per-group ratios for a MAC target.
#include <cmath>

#include "prune/output_figures.h"
#include "prune/recalibrate_bn.h"
#include "prune/sensitivity.h"
#include "runtime/samples.h"
#include "tests/prune/prune_test_util.h"

using namespace ortool;
using namespace ortool::testing;

namespace {

std::unique_ptr<rt::SampleSource> random_feeds(const ir::Model& m, size_t n) {
  return rt::random_samples(*m.graph, n, 7, {}, {});
}

const prune::RecoveryStep& step(const prune::PruneReport& r, const std::string& name) {
  for (const auto& s : r.recovery)
    if (s.step == name) return s;
  FAIL("no recovery step " << name);
  return r.recovery.front();
}

prune::PruneReport prune_recovered(ir::Model& m, double ratio, const rt::SampleSource& samples) {
  prune::PruneOptions o;
  o.plan.ratio = ratio;
  o.samples = &samples;
  o.recover = true;
  auto r = prune::prune_model(m, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("refit: a linear Gemm chain pruned to a hidden size above its input size is recovered") {
  // y = (x W1) W2: with 8 of 16 hidden units left (x has 4 features) some W2' gives y exactly.
  PruneBuilder b;
  ir::Value* x = b.input("x", {8, 4});
  b.output(b.gemm("fc2", b.gemm("fc1", x, 4, 16), 16, 3));
  auto samples = random_feeds(*b.model, 8);  // 64 rows, about 13 held out
  prune::PruneReport r = prune_recovered(*b.model, 0.5, *samples);
  CHECK(r.bn_recalibrated == 0);
  REQUIRE(r.refits.size() == 1);
  CHECK(r.refits[0].layer == "fc2");
  CHECK(r.refits[0].skipped == "");
  CHECK(r.refits[0].inputs == 9);
  CHECK(r.refits[0].mse_after < 1e-3 * r.refits[0].mse_before);
  MESSAGE("Gemm chain SQNR: pruned ", *step(r, "pruned").figures.sqnr_db, " dB, refit ", *step(r, "refit").figures.sqnr_db);
  CHECK(*step(r, "pruned").figures.sqnr_db < 25);
  CHECK(*step(r, "refit").figures.sqnr_db > 40);
}

TEST_CASE("refit: a 3x3 Conv after a pruned bias-free 1x1 Conv is recovered, padding included") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* h = b.conv("c1", x, 3, 16, 1, 1, /*bias=*/false);
  b.output(b.conv("c2", h, 16, 4, 3));
  auto samples = random_feeds(*b.model, 3);
  prune::PruneReport r = prune_recovered(*b.model, 0.5, *samples);
  REQUIRE(r.refits.size() == 1);
  CHECK(r.refits[0].skipped == "");
  CHECK(r.refits[0].inputs == 8 * 9 + 1);
  CHECK(r.refits[0].rows == 3 * 64);
  MESSAGE("Conv chain SQNR: pruned ", *step(r, "pruned").figures.sqnr_db, " dB, refit ", *step(r, "refit").figures.sqnr_db);
  CHECK(*step(r, "refit").figures.sqnr_db > 40);
  CHECK(*step(r, "refit").figures.sqnr_db > *step(r, "pruned").figures.sqnr_db + 15);
}

TEST_CASE("refit: a grouped 3x3 Conv after a pruned bias-free 1x1 Conv is recovered group by group") {
  // c1 is linear in 3 inputs: the 4 channels each group of g keeps still span them, so a per-group
  // fit can give g's outputs back exactly (g's outputs are the graph's: kept whole).
  for (int64_t groups : {2, 4}) {
    CAPTURE(groups);
    PruneBuilder b;
    ir::Value* x = b.input("x", {1, 3, 8, 8});
    ir::Value* h = b.conv("c1", x, 3, 32, 1, 1, /*bias=*/false);
    b.output(b.conv("g", h, 32, 8, 3, groups));
    auto samples = random_feeds(*b.model, 3);
    prune::PruneReport r = prune_recovered(*b.model, 0.5, *samples);
    REQUIRE(r.refits.size() == 1);
    CHECK(r.refits[0].layer == "g");
    CHECK(r.refits[0].skipped == "");
    CHECK(r.refits[0].inputs == 16 / groups * 9 + 1);
    MESSAGE("grouped Conv SQNR: pruned ", *step(r, "pruned").figures.sqnr_db, " dB, refit ",
            *step(r, "refit").figures.sqnr_db);
    CHECK(*step(r, "refit").figures.sqnr_db > 40);
    CHECK(*step(r, "refit").figures.sqnr_db > *step(r, "pruned").figures.sqnr_db + 15);
  }
}

TEST_CASE("refit: rows are sampled up to max_rows, and layers it cannot fit keep their weights with the reason") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 4, 8, 8});
  ir::Value* h = b.relu(b.conv("c1", x, 4, 8));
  h = b.relu(b.conv("dw", h, 8, 8, 3, /*group=*/8));
  b.output(b.conv("c3", h, 8, 2));
  auto samples = random_feeds(*b.model, 2);
  prune::PruneOptions o;
  o.plan.ratio = 0.5;
  o.samples = samples.get();
  o.recover = true;
  o.refit.max_rows = 50;
  auto r = prune::prune_model(*b.model, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  bool saw_c3 = false;
  for (const auto& l : r->refits) {
    // The depthwise layer's kept channels read the same values as before: nothing to improve.
    if (l.layer == "dw") CHECK(l.skipped == "the fit did not lower the error on the held-out rows");
    if (l.layer == "dw") CHECK(l.inputs == 10);
    if (l.layer == "c3") {
      saw_c3 = true;
      CHECK(l.rows == 50);
      CHECK(l.mse_after <= l.mse_before);
    }
  }
  CHECK(saw_c3);
}

TEST_CASE("recalibrate_bn: BNs behind a changed layer are re-estimated, the others keep their statistics") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {2, 3, 6, 6});
  ir::Value* h = b.relu(b.bn("bn_a", b.conv("conv_a", x, 3, 4), 4));
  ir::Value* y = b.bn("bn_b", b.conv("conv_b", h, 4, 5), 5);
  b.output(y);
  infer(*b.model);
  ir::Node* conv_b = nullptr;
  ir::Node* bn_b = nullptr;
  for (ir::Node* n : b.g().nodes()) {
    if (n->name == "conv_b") conv_b = n;
    if (n->name == "bn_b") bn_b = n;
  }
  auto norms = prune::affected_norms(b.g(), {conv_b});
  REQUIRE(norms.is_ok());
  REQUIRE(*norms == std::vector<ir::Node*>{bn_b});
  auto samples = random_feeds(*b.model, 3);
  auto measured = prune::norm_input_stats(*b.model, *norms, *samples, {});
  REQUIRE(measured.is_ok());
  const prune::ChannelStats& m = measured->at(bn_b);
  REQUIRE(m.mean.size() == 5);

  SUBCASE("samples like the training data (reference statistics = trained ones): the input's own statistics") {
    prune::ChannelStats trained;
    for (int64_t c = 0; c < 5; ++c) {
      trained.mean.push_back(passes::constant_tensor(bn_b->input(3))->get_double(c));
      trained.var.push_back(passes::constant_tensor(bn_b->input(4))->get_double(c));
    }
    auto n = prune::recalibrate_bn(*b.model, *norms, {{bn_b, trained}}, *samples);
    REQUIRE_MESSAGE(n.is_ok(), n.status().message());
    CHECK(*n == 1);
    const Tensor& mean = *passes::constant_tensor(bn_b->input(3));
    const Tensor& var = *passes::constant_tensor(bn_b->input(4));
    for (int64_t c = 0; c < 5; ++c) {
      CHECK(mean.get_double(c) == doctest::Approx(m.mean[static_cast<size_t>(c)]).epsilon(1e-4));
      CHECK(var.get_double(c) == doctest::Approx(m.var[static_cast<size_t>(c)]).epsilon(1e-3));
    }
  }
  SUBCASE("nothing changed (reference statistics = the model's own): the trained statistics stay") {
    auto before = clone_model(*b.model);
    auto n = prune::recalibrate_bn(*b.model, *norms, *measured, *samples);
    REQUIRE_MESSAGE(n.is_ok(), n.status().message());
    check_same_outputs(*before, *b.model, 2, {1e-4, 1e-4});
  }
}

TEST_CASE("recovery with BatchNormalization: the re-estimation and the refit are each measured") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* h = b.relu(b.bn("bn1", b.conv("c1", x, 3, 8), 8));
  h = b.relu(b.bn("bn2", b.conv("c2", h, 8, 8), 8));
  b.output(b.conv("c3", h, 8, 2));
  auto samples = random_feeds(*b.model, 4);
  prune::PruneReport r = prune_recovered(*b.model, 0.5, *samples);
  CHECK(r.bn_recalibrated == 1);  // bn2, behind c2 (which lost inputs); bn1 is only sliced
  REQUIRE(r.recovery.size() == 3);
  CHECK(r.recovery[0].step == "pruned");
  CHECK(r.recovery[1].step == "bn-recalibrated");
  CHECK(r.recovery[2].step == "refit");
  CHECK(*r.recovery[2].figures.sqnr_db > *r.recovery[0].figures.sqnr_db);
  CHECK(count_ops(b.g(), "BatchNormalization") == 0);  // folded afterwards
}

TEST_CASE("sensitivity sweep and --target-macs: free channels go first") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* h = b.relu(b.conv("c1", x, 3, 8));
  h = b.relu(b.conv("c2", h, 8, 8));
  b.output(b.conv("c3", h, 8, 2));
  ir::Model& m = *b.model;
  REQUIRE(prune::prepare_model(m, {}, false).is_ok());
  {
    // Half of c1's channels are zero: pruning them costs nothing.
    prune::DependencyGraph d0 = analyse(m);
    const int g1 = group_of(d0, "c1");
    const auto& units = d0.groups[static_cast<size_t>(g1)].units;
    zero_units(m, d0, {units.begin(), units.begin() + 4});
  }
  prune::DependencyGraph d = analyse(m);
  const int g1 = group_of(d, "c1"), g2 = group_of(d, "c2");
  auto scores = prune::importance(d, prune::Criterion::kL2, nullptr);
  auto samples = random_feeds(m, 2);
  auto ref = prune::ReferenceOutputs::compute(m, *samples, {});
  REQUIRE(ref.is_ok());
  prune::PlanOptions base;
  auto s = prune::sensitivity_sweep(m, d, scores, base, *ref, {});
  REQUIRE_MESSAGE(s.is_ok(), s.status().message());
  CHECK(s->macs == 64u * 9u * (24u + 64u + 16u));
  REQUIRE(s->groups.size() == 2);
  for (const prune::GroupSweep& g : s->groups) {
    CHECK(g.units == 8);
    // 0.1 of 8 channels removes none: left out; more ratio, more removed, fewer MACs.
    CHECK(g.points.front().ratio == doctest::Approx(0.2));
    for (size_t i = 1; i < g.points.size(); ++i) {
      CHECK(g.points[i].removed > g.points[i - 1].removed);
      CHECK(g.points[i].macs < g.points[i - 1].macs);
    }
    for (const prune::SweepPoint& p : g.points) {
      const bool free = g.group == g1 && p.removed <= 4;
      CHECK_MESSAGE((free ? std::isinf(*p.figures.sqnr_db) : *p.figures.sqnr_db < 60), g.group, " ", p.ratio);
    }
  }
  auto c = prune::choose_ratios(m, d, scores, base, *s, 0.6);
  REQUIRE_MESSAGE(c.is_ok(), c.status().message());
  CHECK(c->group_ratios == std::map<int, double>{{g1, 0.5}});
  CHECK(c->macs == 64u * 9u * (12u + 32u + 16u));
  CHECK(c->noise == 0);
  auto far = prune::choose_ratios(m, d, scores, base, *s, 0.01);
  REQUIRE(!far.is_ok());
  CHECK(far.status().message().find("--target-macs 0.01") != std::string::npos);
  (void)g2;
}

TEST_CASE("prune_model: bad target and recovery options") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  b.output(b.conv("c2", b.relu(b.conv("c1", x, 3, 8)), 8, 2));
  auto samples = random_feeds(*b.model, 1);
  for (double t : {0.0, 1.0, -0.5, 1.5, std::nan("")}) {
    prune::PruneOptions o;
    o.target_macs = t;
    o.sweep_samples = samples.get();
    auto r = prune::prune_model(*b.model, o);
    REQUIRE(!r.is_ok());
    CHECK(r.status().message().find("--target-macs") != std::string::npos);
  }
  prune::PruneOptions o;
  o.plan.ratio = 0.5;
  o.recover = true;
  auto r = prune::prune_model(*b.model, o);
  REQUIRE(!r.is_ok());
  CHECK(r.status().message().find("--calib") != std::string::npos);
}

TEST_CASE("prune_model: samples whose input is all NaN or Inf are refused, as quantize's calibration does") {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  b.output(b.conv("c2", b.relu(b.conv("c1", x, 3, 8)), 8, 2));
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    CAPTURE(bad);
    std::vector<rt::Sample> v;
    for (int i = 0; i < 2; ++i) {
      Tensor t(DType::Float, {1, 3, 8, 8});
      for (int64_t k = 0; k < t.numel(); ++k) t.mutable_data<float>()[k] = bad;
      v.push_back({"s" + std::to_string(i), {{"x", RValue(std::move(t))}}, {}});
    }
    auto samples = rt::samples_in_memory(std::move(v), "bad_calib/");
    prune::PruneOptions o;
    o.plan.ratio = 0.5;
    o.samples = samples.get();
    o.recover = true;
    auto r = prune::prune_model(*b.model, o);
    REQUIRE(!r.is_ok());
    CHECK(r.status().code() == StatusCode::kInvalid);
    CHECK(r.status().message() == fmt::format("bad_calib/: tensor 'x' has no finite value on any calibration sample "
                                              "({} NaN, {} Inf): the calibration data holds NaN or Inf",
                                              std::isnan(bad) ? 384 : 0, std::isnan(bad) ? 0 : 384));
    // The sweep's samples are checked too.
    prune::PruneOptions so;
    so.sensitivity = true;
    so.sweep_samples = samples.get();
    CHECK(!prune::sweep_model(*b.model, so).is_ok());
  }
  // One finite value among NaNs is enough (as for quantize: the range comes from the finite values).
  std::vector<rt::Sample> v;
  Tensor t(DType::Float, {1, 3, 8, 8});
  for (int64_t k = 0; k < t.numel(); ++k) t.mutable_data<float>()[k] = k == 5 ? 0.5f : std::nanf("");
  v.push_back({"s0", {{"x", RValue(std::move(t))}}, {}});
  auto mixed = rt::samples_in_memory(std::move(v), "mixed/");
  CHECK(rt::check_samples_finite(*mixed).is_ok());
}

TEST_CASE("refit: too few held-out rows to judge a fit leave the layer alone") {
  // One row per sample (a Gemm on batch 1): 4 samples cannot show that a fit of 9 unknowns generalizes.
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 4});
  b.output(b.gemm("fc2", b.gemm("fc1", x, 4, 16), 16, 3));
  auto samples = random_feeds(*b.model, 4);
  prune::PruneReport r = prune_recovered(*b.model, 0.5, *samples);
  REQUIRE(r.refits.size() == 1);
  CHECK(r.refits[0].rows == 4);
  CHECK(r.refits[0].skipped == "4 rows, too few to judge a fit (more --calib samples)");
  CHECK(r.refits[0].mse_after == r.refits[0].mse_before);
}
