// Graph inputs backed by an initializer: fast providers run them as weights when a run leaves them
// alone, and every provider gives the fed values' numbers when a run overrides one.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "runtime/provider.h"
#include "runtime/session.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;

namespace {

// Provider lists to try: each fast provider alone before cpu, and both together.
std::vector<std::vector<std::string>> provider_lists() {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> fast;
  for (const std::string& p : rt::available_providers())
    if (p != "cpu") {
      fast.push_back(p);
      out.push_back({p, "cpu"});
    }
  if (fast.size() > 1) {
    fast.push_back("cpu");
    out.push_back(fast);
  }
  out.push_back({"cpu"});
  return out;
}

ir::Value* weight_input(ir::Graph& g, const std::string& name, Tensor t) {
  ir::Value* v = initializer(g, name, std::move(t));
  g.add_input(v);
  return v;
}

// x -> Conv(w, b) -> BatchNormalization -> Relu -> BatchNormalization -> Flatten -> Gemm(wg, bg),
// every weight an initializer listed among the graph inputs (as IR 4 exports of PyTorch write them).
std::unique_ptr<ir::Model> overridable_model(std::mt19937& rng) {
  auto m = std::make_unique<ir::Model>();
  m->ir_version = 4;
  m->set_opset("", 9);
  ir::Graph& g = *m->graph;
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(3), Dim::known(6), Dim::known(6)});
  g.add_input(x);
  ir::Value* w = weight_input(g, "w", random_tensor({4, 3, 3, 3}, rng));
  ir::Value* b = weight_input(g, "b", random_tensor({4}, rng));
  ir::Node* conv = g.add_node("Conv", "", {x, w, b}, {"c"}, "conv");
  conv->set_attr(ir::Attribute::make_ints("pads", {1, 1, 1, 1}));
  auto bn = [&](const std::string& name, ir::Value* in) {
    std::vector<ir::Value*> ins{in};
    for (const char* p : {"scale", "bias", "mean", "var"}) {
      const float lo = std::string(p) == "var" ? 0.5f : -1.0f;
      ins.push_back(weight_input(g, name + "_" + p, random_tensor({4}, rng, lo, 1.5f)));
    }
    return g.add_node("BatchNormalization", "", ins, {name + "_y"}, name);
  };
  ir::Node* bn1 = bn("bn1", conv->output(0));
  ir::Node* relu = g.add_node("Relu", "", {bn1->output(0)}, {"r"}, "relu");
  ir::Node* bn2 = bn("bn2", relu->output(0));
  ir::Node* flat = g.add_node("Flatten", "", {bn2->output(0)}, {"f"}, "flatten");
  ir::Value* wg = weight_input(g, "wg", random_tensor({144, 5}, rng));
  ir::Value* bg = weight_input(g, "bg", random_tensor({5}, rng));
  g.add_output(g.add_node("Gemm", "", {flat->output(0), wg, bg}, {"y"}, "gemm")->output(0));
  return m;
}

bool same(const RValue& a, const RValue& b) {
  const float* x = a.tensor.data<float>();
  const float* y = b.tensor.data<float>();
  for (int64_t i = 0; i < a.tensor.numel(); ++i)
    if (x[i] != y[i]) return false;
  return true;
}

}  // namespace

TEST_CASE("initializer-backed inputs: weights when not fed, the fed values when a run overrides one") {
  std::mt19937 rng(21);
  auto m = overridable_model(rng);
  const Tensor x = random_tensor({1, 3, 6, 6}, rng);
  // Feed sets: none of the weights, the conv's weight, one BatchNormalization statistic, the Gemm's bias.
  const std::vector<std::map<std::string, RValue>> feed_sets{
      {{"x", RValue(x)}},
      {{"x", RValue(x)}, {"w", RValue(random_tensor({4, 3, 3, 3}, rng))}},
      {{"x", RValue(x)}, {"bn2_mean", RValue(random_tensor({4}, rng))}},
      {{"x", RValue(x)}, {"bg", RValue(random_tensor({5}, rng))}},
      {{"x", RValue(x)}},
  };
  std::vector<RValue> want;
  for (const auto& feeds : feed_sets) want.push_back(run(*m, {"cpu"}, feeds).outputs[0]);
  for (size_t i = 1; i + 1 < want.size(); ++i) CHECK_FALSE(same(want[i], want[0]));  // each override shows

  for (const auto& providers : provider_lists()) {
    INFO(fmt::format("providers {}", fmt::join(providers, ",")));
    rt::SessionOptions o;
    o.providers = providers;
    o.profile = true;
    auto s = rt::Session::create(*m, o);
    REQUIRE(s.is_ok());
    for (size_t i = 0; i < feed_sets.size(); ++i) {
      INFO(fmt::format("feed set {}", i));
      (*s)->reset_timings();
      auto out = (*s)->run(feed_sets[i]);
      INFO(out.status().message());
      REQUIRE(out.is_ok());
      check_close((*out)[0], want[i]);
      const bool fed = feed_sets[i].size() > 1;
      const std::string conv_by = ran_by((*s)->node_timings(), "conv").first;
      // Not fed: the weights are constants, so a fast provider takes the conv (and folds bn1 into it).
      if (providers.front() != "cpu") CHECK((conv_by == "cpu") == fed);
      if (fed) CHECK(conv_by == "cpu");
    }
  }
}

TEST_CASE("an initializer-backed input read inside a subgraph: weight when not fed, fed value otherwise") {
  std::mt19937 rng(23);
  ir::Model m;
  m.ir_version = 4;
  m.set_opset("", 13);
  ir::Graph& g = *m.graph;
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, Shape{Dim::known(1), Dim::known(2), Dim::known(5), Dim::known(5)});
  g.add_input(x);
  ir::Value* cond = g.add_value("cond");
  cond->type = Type::tensor(DType::Bool, Shape{});
  g.add_input(cond);
  ir::Value* w = weight_input(g, "w", random_tensor({3, 2, 3, 3}, rng));
  ir::Node* iff = g.add_node("If", "", {cond}, {"y"}, "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto sg = std::make_shared<ir::Graph>(&g, iff);
    sg->name = branch;
    ir::Node* conv = sg->add_node("Conv", "", {x, w}, {"c"}, std::string(branch) + "_conv");
    sg->add_output(sg->add_node("Relu", "", {conv->output(0)}, {"r"}, std::string(branch) + "_relu")->output(0));
    ir::Attribute a;
    a.name = branch;
    a.type = ir::AttrType::Graph;
    a.g = sg;
    iff->set_attr(a);
  }
  g.add_output(iff->output(0));
  Tensor cv(DType::Bool, {});
  cv.mutable_data<bool>()[0] = true;
  const std::vector<std::map<std::string, RValue>> feed_sets{
      {{"x", RValue(random_tensor({1, 2, 5, 5}, rng))}, {"cond", RValue(cv)}},
      {{"x", RValue(random_tensor({1, 2, 5, 5}, rng))},
       {"cond", RValue(cv)},
       {"w", RValue(random_tensor({3, 2, 3, 3}, rng))}},
  };
  for (const auto& providers : provider_lists()) {
    INFO(fmt::format("providers {}", fmt::join(providers, ",")));
    rt::SessionOptions o;
    o.providers = providers;
    auto s = rt::Session::create(m, o);
    REQUIRE(s.is_ok());
    for (int round = 0; round < 2; ++round)
      for (const auto& feeds : feed_sets) {
        auto out = (*s)->run(feeds);
        REQUIRE(out.is_ok());
        check_close((*out)[0], run(m, {"cpu"}, feeds).outputs[0]);
      }
  }
}
