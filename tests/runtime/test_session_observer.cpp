// Tests of the session observer (SessionOptions::observe): every watched value is seen once per run,
// in its ONNX layout and with the cpu provider's numbers, on every provider; watching changes no output,
// and watching nothing changes no claim.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/onnx_shape_inference.h"
#include "runtime/session.h"
#include "tests/runtime/provider_test_util.h"

using namespace ortool;
using namespace ortool::provider_test;

namespace {

using Select = rt::ObserveOptions::Select;

// x [2,3,12,12] -> Conv+BN+Relu -> Conv+Add(residual)+Relu -> MaxPool -> Conv+Relu -> GlobalAveragePool
// -> Flatten -> Gemm -> y [2,10], and Shape(x) as a second, int64 output; the 1x1 conv's weight
// passes through an Identity (a float value that is no activation). Every value typed by onnx's
// inference, so the providers fuse what they can (the residual Add needs declared shapes).
std::unique_ptr<ir::Model> conv_net(std::mt19937& rng) {
  auto m = std::make_unique<ir::Model>();
  m->set_opset("", 13);
  ir::Graph& g = *m->graph;
  ir::Value* x = g.add_value("x");
  x->type = Type::tensor(DType::Float, shape_from_dims({2, 3, 12, 12}));
  g.add_input(x);
  int serial = 0;
  auto init = [&](std::vector<int64_t> dims, float lo = -0.5f, float hi = 0.5f) {
    return initializer(g, fmt::format("w{}", serial++), random_tensor(std::move(dims), rng, lo, hi));
  };
  auto node = [&](const std::string& op, std::vector<ir::Value*> ins, const std::string& name) {
    return g.add_node(op, "", std::move(ins), {name}, name);
  };
  auto conv = [&](ir::Value* in, int64_t cin, int64_t cout, int64_t k, const std::string& name) {
    ir::Value* w = init({cout, cin, k, k});
    if (k == 1) w = node("Identity", {w}, name + "_w")->output(0);  // as some exporters write weights
    ir::Node* c = node("Conv", {in, w, init({cout})}, name);
    c->set_attr(ir::Attribute::make_ints("pads", {k / 2, k / 2, k / 2, k / 2}));
    return c->output(0);
  };
  ir::Value* c1 = conv(x, 3, 8, 3, "c1");
  ir::Value* b1 =
      node("BatchNormalization", {c1, init({8}), init({8}), init({8}), init({8}, 0.5f, 2.0f)}, "b1")->output(0);
  ir::Value* r1 = node("Relu", {b1}, "r1")->output(0);
  ir::Value* c2 = conv(r1, 8, 8, 3, "c2");
  ir::Value* a2 = node("Add", {c2, r1}, "a2")->output(0);
  ir::Value* r2 = node("Relu", {a2}, "r2")->output(0);
  ir::Node* p2 = node("MaxPool", {r2}, "p2");
  p2->set_attr(ir::Attribute::make_ints("kernel_shape", {2, 2}));
  p2->set_attr(ir::Attribute::make_ints("strides", {2, 2}));
  ir::Value* c3 = conv(p2->output(0), 8, 16, 1, "c3");
  ir::Value* r3 = node("Relu", {c3}, "r3")->output(0);
  ir::Value* gap = node("GlobalAveragePool", {r3}, "gap")->output(0);
  ir::Value* flat = node("Flatten", {gap}, "flat")->output(0);
  ir::Node* gemm = node("Gemm", {flat, init({10, 16}), init({10})}, "y");
  gemm->set_attr(ir::Attribute::make_int("transB", 1));
  g.add_output(gemm->output(0));
  g.add_output(node("Shape", {x}, "x_shape")->output(0));
  REQUIRE(infer_shapes(*m).is_ok());
  return m;
}

// The providers to check: cpu, and each accelerated provider built in (before cpu).
std::vector<std::vector<std::string>> provider_lists() {
  std::vector<std::vector<std::string>> out{{"cpu"}};
#ifdef ORTOOL_HAVE_DNNL
  out.push_back({"dnnl", "cpu"});
#endif
#ifdef ORTOOL_HAVE_XNNPACK
  out.push_back({"xnnpack", "cpu"});
#endif
  return out;
}

// A session's runs with what the observer saw: per run, each value's name and the data it saw
// (copied: the check wants the bytes after the run, not the buffer the session reuses).
struct Watched {
  std::vector<std::vector<RValue>> outputs;
  std::vector<std::map<std::string, std::vector<RValue>>> seen;
  std::vector<rt::NodeTiming> timings;
};

RValue copy_of(const RValue& v) {
  if (!v.is_tensor()) return v;
  Tensor t(v.tensor.dtype(), v.tensor.dims());
  std::memcpy(t.raw_mutable(), v.tensor.raw(), v.tensor.nbytes());
  return RValue(std::move(t));
}

Watched run_watched(const ir::Model& m, std::vector<std::string> providers, rt::ObserveOptions observe,
                    const std::vector<std::map<std::string, RValue>>& feeds, bool watch = true) {
  Watched w;
  std::map<std::string, std::vector<RValue>>* current = nullptr;
  if (watch)
    observe.callback = [&](const ir::Value& v, const RValue& data) {
      (*current)[v.name()].push_back(copy_of(data));
      return Status::ok();
    };
  rt::SessionOptions o;
  o.providers = std::move(providers);
  o.profile = true;
  o.observe = std::move(observe);
  auto s = rt::Session::create(m, o);
  INFO(s.status().message());
  REQUIRE(s.is_ok());
  for (const auto& f : feeds) {
    w.seen.emplace_back();
    current = &w.seen.back();
    auto out = (*s)->run(f);
    INFO(out.status().message());
    REQUIRE(out.is_ok());
    w.outputs.push_back(std::move(out).value());
  }
  w.timings = (*s)->node_timings();
  return w;
}

void check_same(const RValue& got, const RValue& want) {
  REQUIRE(got.is_tensor());
  REQUIRE(want.is_tensor());
  REQUIRE(got.tensor.dtype() == want.tensor.dtype());
  if (got.tensor.dtype() == DType::Float) return check_close(got, want);
  REQUIRE(got.tensor.dims() == want.tensor.dims());
  CHECK(std::memcmp(got.tensor.raw(), want.tensor.raw(), got.tensor.nbytes()) == 0);
}

std::vector<std::map<std::string, RValue>> two_feeds(std::mt19937& rng) {
  return {{{"x", RValue(random_tensor({2, 3, 12, 12}, rng))}}, {{"x", RValue(random_tensor({2, 3, 12, 12}, rng))}}};
}

// The names the net's main graph watches in a mode: its input and every node output (All), the
// float ones computed from the input (FloatTensors: not the weight's Identity).
std::set<std::string> expected_names(const ir::Model& m, Select select) {
  std::set<std::string> out{"x"};
  for (const ir::Node* n : m.graph->nodes())
    for (const ir::Value* o : n->outputs())
      if (select == Select::All || (o->type.elem == DType::Float && n->op_type() != "Identity")) out.insert(o->name());
  return out;
}

// (provider, fused nodes) per timed node.
std::map<std::string, std::pair<std::string, size_t>> claims_of(const std::vector<rt::NodeTiming>& t) {
  std::map<std::string, std::pair<std::string, size_t>> out;
  for (const rt::NodeTiming& e : t) out[e.node->name] = {e.provider, e.fused_nodes};
  return out;
}

}  // namespace

TEST_CASE("observer: every value seen once per run, with its shape and the cpu provider's numbers, on every provider") {
  std::mt19937 rng(11);
  auto m = conv_net(rng);
  const auto feeds = two_feeds(rng);
  for (Select select : {Select::All, Select::FloatTensors}) {
    rt::ObserveOptions observe;
    observe.select = select;
    const std::set<std::string> want = expected_names(*m, select);
    const Watched ref = run_watched(*m, {"cpu"}, observe, feeds);
    for (const auto& providers : provider_lists()) {
      INFO(fmt::format("providers {} select {}", fmt::join(providers, ","), static_cast<int>(select)));
      const Watched got = run_watched(*m, providers, observe, feeds);
      const Watched plain = run_watched(*m, providers, {}, feeds, /*watch=*/false);
      for (size_t r = 0; r < feeds.size(); ++r) {
        // (a) each requested value exactly once, with the shape onnx's inference declares.
        std::set<std::string> names;
        for (const auto& [name, seen] : got.seen[r]) {
          INFO(name);
          CHECK(seen.size() == 1);
          names.insert(name);
          const ir::Value* v = m->graph->find_value(name);
          REQUIRE(v);
          REQUIRE(v->type.shape);
          REQUIRE(seen[0].is_tensor());
          CHECK(shape_from_dims(seen[0].tensor.dims()) == *v->type.shape);
          CHECK(seen[0].tensor.dtype() == v->type.elem);
          // (b) the numbers the cpu provider gives, in NCHW order.
          check_same(seen[0], ref.seen[r].at(name).at(0));
        }
        CHECK(names == want);
        // (c) the outputs do not change by watching: equal to the unwatched session's and to cpu's.
        REQUIRE(got.outputs[r].size() == plain.outputs[r].size());
        for (size_t i = 0; i < got.outputs[r].size(); ++i) {
          check_same(got.outputs[r][i], plain.outputs[r][i]);
          check_same(got.outputs[r][i], ref.outputs[r][i]);
        }
      }
      // Watching every float value leaves no group: each node runs as its own step.
      for (const rt::NodeTiming& t : got.timings) {
        INFO(t.node->name);
        CHECK(t.fused_nodes == 1);
      }
    }
  }
}

TEST_CASE("observer: watching nothing changes no claim; a fusion breaks only where its hidden value is watched") {
  std::mt19937 rng(12);
  auto m = conv_net(rng);
  const auto feeds = two_feeds(rng);
  for (const auto& providers : provider_lists()) {
    INFO(fmt::format("providers {}", fmt::join(providers, ",")));
    const Watched plain = run_watched(*m, providers, {}, feeds, /*watch=*/false);
    // (d) a callback with nothing named: the same steps, the same outputs, nothing seen.
    const Watched none = run_watched(*m, providers, {}, feeds);
    CHECK(claims_of(none.timings) == claims_of(plain.timings));
    for (size_t r = 0; r < feeds.size(); ++r) {
      CHECK(none.seen[r].empty());
      for (size_t i = 0; i < plain.outputs[r].size(); ++i) check_same(none.outputs[r][i], plain.outputs[r][i]);
    }
    if (providers.front() == "cpu") continue;
    // Conv+Relu (c3, r3) is one step when nothing is watched. Watching the Relu's output (the
    // group's result) keeps it; watching the conv's output (hidden inside) splits it.
    const std::string& p = providers.front();
    CHECK(claims_of(plain.timings).at("c3") == std::pair<std::string, size_t>(p, 2));
    rt::ObserveOptions relu_out;
    relu_out.values = {"r3"};
    const Watched r3 = run_watched(*m, providers, relu_out, feeds);
    CHECK(claims_of(r3.timings) == claims_of(plain.timings));
    rt::ObserveOptions conv_out;
    conv_out.values = {"c3", "c1"};
    const Watched c3 = run_watched(*m, providers, conv_out, feeds);
    CHECK(claims_of(c3.timings).at("c3") == std::pair<std::string, size_t>(p, 1));
    CHECK(claims_of(c3.timings).at("r3").first == p);
    CHECK(claims_of(c3.timings).at("c1").first == p);
    for (size_t r = 0; r < feeds.size(); ++r) {
      CHECK(r3.seen[r].size() == 1);
      CHECK(c3.seen[r].size() == 2);
      for (size_t i = 0; i < plain.outputs[r].size(); ++i) check_same(c3.outputs[r][i], plain.outputs[r][i]);
    }
#ifdef ORTOOL_HAVE_DNNL
    if (p == "dnnl") {
      // Conv+BN+Relu and Conv+Add+Relu are whole groups unwatched; watching c1 leaves BN+Relu out.
      CHECK(claims_of(plain.timings).at("c1") == std::pair<std::string, size_t>("dnnl", 3));
      CHECK(claims_of(plain.timings).at("c2") == std::pair<std::string, size_t>("dnnl", 3));
      CHECK(claims_of(c3.timings).at("c1") == std::pair<std::string, size_t>("dnnl", 1));
      CHECK(claims_of(c3.timings).at("c2") == std::pair<std::string, size_t>("dnnl", 3));
    }
#endif
  }
}

TEST_CASE("observer: graph inputs are seen as fed, at the start of the run") {
  std::mt19937 rng(13);
  auto m = conv_net(rng);
  const auto feeds = two_feeds(rng);
  rt::ObserveOptions observe;
  observe.values = {"x", "y"};
  std::vector<std::string> order;
  observe.callback = [&](const ir::Value& v, const RValue& data) {
    if (v.name() == "x") {
      CHECK(order.empty());
      CHECK(data.tensor.raw() == feeds[0].at("x").tensor.raw());  // the caller's tensor itself
    }
    order.push_back(v.name());
    return Status::ok();
  };
  rt::SessionOptions o;
  o.observe = observe;
  auto s = rt::Session::create(*m, o);
  REQUIRE(s.is_ok());
  REQUIRE((*s)->run(feeds[0]).is_ok());
  CHECK(order == std::vector<std::string>{"x", "y"});
}

TEST_CASE("observer: an unknown name fails session creation; a callback's error ends the run") {
  std::mt19937 rng(14);
  auto m = conv_net(rng);
  rt::SessionOptions o;
  o.observe.values = {"c1", "no_such_value"};
  o.observe.callback = [](const ir::Value&, const RValue&) { return Status::ok(); };
  auto bad = rt::Session::create(*m, o);
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("'no_such_value'") != std::string::npos);

  for (const auto& providers : provider_lists()) {
    o.providers = providers;
    o.observe.values = {"c2"};
    o.observe.callback = [](const ir::Value& v, const RValue&) { return invalid("value '{}' holds NaN", v.name()); };
    auto s = rt::Session::create(*m, o);
    REQUIRE(s.is_ok());
    auto out = (*s)->run(two_feeds(rng)[0]);
    REQUIRE_FALSE(out.is_ok());
    CHECK(out.status().message() == "value 'c2' holds NaN");
  }
}
