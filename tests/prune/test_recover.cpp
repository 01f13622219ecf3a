// Recovery (BatchNormalization re-estimation, least-squares refit), the sensitivity sweep and the
// choice of per-group ratios for a MAC target.
#include <cmath>
#include <limits>
#include <random>

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

// c1 (3 -> 8 channels) -> Relu -> c2 (8 -> 8) -> Relu -> c3 (8 -> 2) on [1, 3, 8, 8], prepared for pruning.
std::unique_ptr<ir::Model> three_convs() {
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 8, 8});
  ir::Value* h = b.relu(b.conv("c1", x, 3, 8));
  h = b.relu(b.conv("c2", h, 8, 8));
  b.output(b.conv("c3", h, 8, 2));
  REQUIRE(prune::prepare_model(*b.model, {}, false).is_ok());
  return std::move(b.model);
}

// The sensitivity sweep of a prepared model on `n` random samples, with what it was made from.
struct Swept {
  prune::DependencyGraph d;
  std::vector<prune::GroupScores> scores;
  prune::Sensitivity s;
};

Swept sweep(ir::Model& m, size_t n) {
  Swept w{analyse(m), {}, {}};
  w.scores = prune::importance(w.d, prune::Criterion::kL2, nullptr);
  auto samples = random_feeds(m, n);
  auto ref = prune::ReferenceOutputs::compute(m, *samples, {});
  REQUIRE(ref.is_ok());
  auto s = prune::sensitivity_sweep(m, w.d, w.scores, {}, *ref, {});
  REQUIRE_MESSAGE(s.is_ok(), s.status().message());
  w.s = std::move(s).value();
  return w;
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
  auto model = three_convs();
  ir::Model& m = *model;
  {
    // Half of c1's channels are zero: pruning them costs nothing.
    prune::DependencyGraph d0 = analyse(m);
    const int g1 = group_of(d0, "c1");
    const auto& units = d0.groups[static_cast<size_t>(g1)].units;
    zero_units(m, d0, {units.begin(), units.begin() + 4});
  }
  Swept w = sweep(m, 2);
  prune::DependencyGraph& d = w.d;
  auto& scores = w.scores;
  const int g1 = group_of(d, "c1");
  prune::PlanOptions base;
  prune::Sensitivity* s = &w.s;
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
  CHECK(c->damage == 0);
  auto far = prune::choose_ratios(m, d, scores, base, *s, 0.01);
  REQUIRE(!far.is_ok());
  CHECK(far.status().message().find("--target-macs 0.01") != std::string::npos);
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

namespace {

// `count` samples of x [rows, features] with uniform values in the first `used` features and zeros in
// the others.
std::unique_ptr<rt::SampleSource> partial_feeds(size_t count, int64_t rows, int64_t features, int64_t used) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<rt::Sample> s;
  for (size_t i = 0; i < count; ++i) {
    Tensor t(DType::Float, {rows, features});
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t f = 0; f < features; ++f) t.mutable_data<float>()[r * features + f] = f < used ? dist(rng) : 0.0f;
    s.push_back(rt::Sample{"partial #" + std::to_string(i), {{"x", RValue(std::move(t))}}, {}});
  }
  return rt::samples_in_memory(std::move(s), "partial");
}

ir::Node* node_named(ir::Model& m, const std::string& name) {
  for (ir::Node* n : m.graph->nodes())
    if (n->name == name) return n;
  FAIL("no node " << name);
  return nullptr;
}

}  // namespace

TEST_CASE("refit: a layer wider than 2305 unknowns is refit from more rows than unknowns") {
  // c2 keeps 300 of 600 channels: 2701 unknowns per output (the old limit was 2305). The 300 channels
  // are linear in the 3 inputs, so a refit can give c2's outputs back.
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 3, 12, 12});
  ir::Value* h = b.conv("c1", x, 3, 600, 1, 1, /*bias=*/false);
  b.output(b.conv("c2", h, 600, 2, 3));
  auto samples = random_feeds(*b.model, 20);  // 2880 rows >= 2701 unknowns: the held-out path
  prune::PruneReport r = prune_recovered(*b.model, 0.5, *samples);
  REQUIRE(r.refits.size() == 1);
  const prune::LayerRefit& l = r.refits[0];
  CHECK(l.inputs == 300 * 9 + 1);
  CHECK(l.rows == 20 * 144);
  CHECK(l.skipped == "");
  CHECK(l.judged > 400);
  CHECK(l.judged < 800);  // about a fifth held out
  CHECK(l.mse_after < 1e-2 * l.mse_before);
  MESSAGE("wide Conv SQNR: pruned ", *step(r, "pruned").figures.sqnr_db, " dB, refit ", *step(r, "refit").figures.sqnr_db,
          "; held-out MSE ", l.mse_before, " -> ", l.mse_after);
  CHECK(*step(r, "refit").figures.sqnr_db > *step(r, "pruned").figures.sqnr_db + 15);
}

TEST_CASE("refit: a Gemm with fewer rows than unknowns is refit, judged row by row") {
  // One row per sample, 24 samples, 65 unknowns per output: every row judged by leave-one-out.
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 6});
  b.output(b.gemm("fc2", b.relu(b.gemm("fc1", x, 6, 128)), 128, 10));
  auto samples = random_feeds(*b.model, 24);
  prune::PruneReport r = prune_recovered(*b.model, 0.5, *samples);
  REQUIRE(r.refits.size() == 1);
  const prune::LayerRefit& l = r.refits[0];
  CHECK(l.inputs == 65);
  CHECK(l.rows == 24);
  CHECK(l.judged == 24);
  CHECK(l.skipped == "");
  CHECK(l.mse_after < 0.5 * l.mse_before);
  MESSAGE("few-row Gemm: leave-one-out MSE ", l.mse_before, " -> ", l.mse_after, "; SQNR pruned ",
          *step(r, "pruned").figures.sqnr_db, " dB, refit ", *step(r, "refit").figures.sqnr_db);
  CHECK(*step(r, "refit").figures.sqnr_db > *step(r, "pruned").figures.sqnr_db);
}

TEST_CASE("refit: weights of inputs the samples never use stay as they were, the others move to the original") {
  // The pruned model's fc has perturbed weights; its input's features 8..15 are zero in every sample,
  // so the rows say nothing about their weights: those keep the perturbed values exactly.
  PruneBuilder b;
  ir::Value* x = b.input("x", {1, 16});
  b.output(b.gemm("fc", x, 16, 3));
  auto pruned = clone_model(*b.model);
  ir::Node* fc = node_named(*pruned, "fc");
  const Tensor& w_in = *passes::constant_tensor(fc->input(1));  // [3, 16] (transB)
  const std::vector<float> original(w_in.data<float>(), w_in.data<float>() + w_in.numel());
  std::vector<float> perturbed = original;
  for (size_t i = 0; i < perturbed.size(); ++i) perturbed[i] += 0.25f * static_cast<float>(static_cast<int>(i * 7 % 5) - 2);
  Tensor w(DType::Float, {3, 16});
  std::copy(perturbed.begin(), perturbed.end(), w.mutable_data<float>());
  prune::set_constant_input(*pruned->graph, fc, 1, std::move(w));
  for (size_t count : {12, 1500}) {  // leave-one-out (up to 1024 rows), and a held-out fifth
    CAPTURE(count);
    auto model = clone_model(*pruned);
    auto samples = partial_feeds(count, 1, 16, 8);
    auto r = prune::refit_layers(*model, *b.model, {{"fc", {0, 1, 2}}}, *samples, {});
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    REQUIRE(r->size() == 1);
    const prune::LayerRefit& l = r->front();
    CHECK(l.skipped == "");
    if (count == 12) CHECK(l.judged == 12);
    else CHECK(l.judged < 400);
    CHECK(l.mse_after < 1e-3 * l.mse_before);
    const Tensor& got = *passes::constant_tensor(node_named(*model, "fc")->input(1));
    double moved_unused = 0, left_used = 0, was_used = 0;
    for (int64_t m = 0; m < 3; ++m)
      for (int64_t k = 0; k < 16; ++k) {
        const int64_t i = m * 16 + k;
        const size_t j = static_cast<size_t>(i);
        const double g = got.data<float>()[i], p = perturbed[j], o = original[j];
        if (k >= 8) moved_unused = std::max(moved_unused, std::abs(g - p));
        else left_used += (g - o) * (g - o), was_used += (p - o) * (p - o);
      }
    CHECK(moved_unused == 0);
    CHECK(left_used < 1e-4 * was_used);
  }
}

TEST_CASE("--target-macs: for a classifier, a lost top-1 class counts as damage besides the noise") {
  CHECK(prune::damage({20.0, 1.0, std::nullopt}) == doctest::Approx(0.01));
  CHECK(prune::damage({10.0, 1.0, 0.9}) == doctest::Approx(0.2));
  CHECK(prune::damage({std::numeric_limits<double>::infinity(), 1.0, 1.0}) == 0);

  auto model = three_convs();
  ir::Model& m = *model;
  Swept w = sweep(m, 1);
  prune::DependencyGraph& d = w.d;
  auto& scores = w.scores;
  const int g1 = group_of(d, "c1"), g2 = group_of(d, "c2");
  prune::Sensitivity* s = &w.s;
  // Every point as noisy as the others: a channel of c1 saves more MACs (3x3x(3 + 8) per position)
  // than one of c2 (3x3x(8 + 2)), so noise alone takes c1 ...
  for (prune::GroupSweep& g : s->groups)
    for (prune::SweepPoint& p : g.points) p.figures = {20.0, 0.99, std::nullopt};
  auto by_noise = prune::choose_ratios(m, d, scores, {}, *s, 0.8);
  REQUIRE_MESSAGE(by_noise.is_ok(), by_noise.status().message());
  CHECK(by_noise->group_ratios.count(g1) == 1);
  CHECK(by_noise->group_ratios.count(g2) == 0);
  // ... but when pruning c1 changes the top-1 class of a fifth of the rows, c2 is pruned instead.
  for (prune::GroupSweep& g : s->groups)
    for (prune::SweepPoint& p : g.points) p.figures.top1 = g.group == g1 ? 0.8 : 1.0;
  auto by_damage = prune::choose_ratios(m, d, scores, {}, *s, 0.8);
  REQUIRE_MESSAGE(by_damage.is_ok(), by_damage.status().message());
  CHECK(by_damage->group_ratios.count(g1) == 0);
  CHECK(by_damage->group_ratios.count(g2) == 1);
  CHECK(by_damage->damage == doctest::Approx(0.01));
}
