// Helpers for the prune tests: small models with each kind of channel coupling, built in code, and
// the zero-channel check (channels whose weights are exactly zero must prune away without changing
// any output).
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "lib/onnx_shape_inference.h"
#include "passes/pass_util.h"
#include "prune/apply_plan.h"
#include "prune/dependency_graph.h"
#include "prune/graph_builder.h"
#include "prune/prune_model.h"
#include "tests/passes/pass_test_util.h"

namespace ortool::testing {

// Named layers on top of ModelBuilder.
struct PruneBuilder : ModelBuilder {
  using ModelBuilder::ModelBuilder;
  ir::Value* conv(const std::string& name, ir::Value* x, int64_t cin, int64_t cout, int64_t k = 3, int64_t group = 1,
                  bool bias = true) {
    std::vector<ir::Value*> ins = {x, random_init(name + ".w", {cout, cin / group, k, k})};
    if (bias) ins.push_back(random_init(name + ".b", {cout}));
    ir::Value* y = node("Conv", ins,
                        {ints_attr("kernel_shape", {k, k}), ints_attr("pads", {k / 2, k / 2, k / 2, k / 2}),
                         int_attr("group", group)});
    last->name = name;
    return y;
  }
  ir::Value* bn(const std::string& name, ir::Value* x, int64_t c) {
    ir::Value* y = node("BatchNormalization", {x, random_init(name + ".g", {c}, 0.5f, 1.5f), random_init(name + ".beta", {c}),
                                               random_init(name + ".mean", {c}), random_init(name + ".var", {c}, 0.5f, 2.0f)});
    last->name = name;
    return y;
  }
  ir::Value* gemm(const std::string& name, ir::Value* x, int64_t k, int64_t n) {
    ir::Value* y = node("Gemm", {x, random_init(name + ".w", {n, k}), random_init(name + ".b", {n})}, {int_attr("transB", 1)});
    last->name = name;
    return y;
  }
  ir::Value* matmul(const std::string& name, ir::Value* x, int64_t k, int64_t n) {
    ir::Value* y = node("MatMul", {x, random_init(name + ".w", {k, n})});
    last->name = name;
    return y;
  }
  ir::Value* relu(ir::Value* x) { return node("Relu", {x}); }
};

// Types inferred, as prune_model's preparation leaves them.
inline void infer(ir::Model& m) { REQUIRE(infer_shapes(m).is_ok()); }

inline prune::DependencyGraph analyse(ir::Model& m) {
  infer(m);
  auto d = prune::build_dependency_graph(m);
  REQUIRE_MESSAGE(d.is_ok(), d.status().message());
  return std::move(d).value();
}

// The group of the layer named `name` (-1 when none).
inline int group_of(const prune::DependencyGraph& d, const std::string& name) {
  const prune::Layer* l = d.find_layer(name);
  return l ? d.layer_group(*l) : -2;
}

// Sorted names of the layers of a group.
inline std::vector<std::string> layers_of(const prune::DependencyGraph& d, int group) {
  std::vector<std::string> out;
  for (size_t li : d.groups[static_cast<size_t>(group)].layers) out.push_back(d.layers[li].node->name);
  std::sort(out.begin(), out.end());
  return out;
}

// Sets to zero the entries of every weight slice (output filters, input slices, norm scales) that
// belong to `units`: those channels then contribute exactly nothing and rank last under l1/l2.
inline void zero_units(ir::Model& m, const prune::DependencyGraph& d, const std::vector<prune::AtomId>& units) {
  std::map<std::pair<ir::Node*, int>, Tensor> edited;
  for (const prune::ConstSlice& s : d.slices) {
    if (s.role == prune::SliceRole::kParam) continue;
    auto key = std::make_pair(s.node, s.input);
    if (!edited.count(key)) edited[key] = passes::constant_tensor(s.node->input(static_cast<size_t>(s.input)))->clone();
    Tensor& t = edited[key];
    const auto& dims = t.dims();
    int64_t outer = 1, inner = 1, n = dims[static_cast<size_t>(s.axis)];
    for (int64_t i = 0; i < s.axis; ++i) outer *= dims[static_cast<size_t>(i)];
    for (size_t i = static_cast<size_t>(s.axis) + 1; i < dims.size(); ++i) inner *= dims[i];
    for (int64_t e = 0; e < n; ++e) {
      prune::AtomId u = d.atoms.root(s.atoms[static_cast<size_t>(e / s.block)]);
      if (std::find(units.begin(), units.end(), u) == units.end()) continue;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) t.mutable_data<float>()[(o * n + e) * inner + i] = 0.0f;
    }
  }
  for (auto& [key, t] : edited) prune::set_constant_input(*m.graph, key.first, key.second, std::move(t));
}

// The zero-channel check: in every prunable group floor(ratio * units) units get zero weights (the
// first ones, or those at `pick` positions), the model is pruned at `ratio` with l2, and the outputs
// must not change. Returns the pruned model's report.
inline prune::PruneReport prune_zeroed(ir::Model& m, double ratio, std::vector<size_t> pick = {}, double tol = 1e-5) {
  auto notes = prune::prepare_model(m, {}, false);
  REQUIRE_MESSAGE(notes.is_ok(), notes.status().message());
  prune::DependencyGraph d = analyse(m);
  std::vector<prune::AtomId> zeroed;
  size_t expect_removed = 0;
  for (const prune::Group& g : d.groups) {
    if (g.pinned_units > 0) continue;
    size_t want = static_cast<size_t>(std::floor(ratio * static_cast<double>(g.units.size()) + 1e-9));
    for (size_t i = 0; i < want && i + 1 < g.units.size(); ++i) zeroed.push_back(g.units[pick.empty() ? i : pick[i]]);
    expect_removed += std::min(want, g.units.size() - 1);
  }
  zero_units(m, d, zeroed);
  // The reference is optimized as the pruned model will be (BN folded), so that only the removed
  // channels differ between the two.
  auto reference = clone_model(m);
  REQUIRE(prune::prepare_model(*reference, {}, true).is_ok());
  prune::PruneOptions o;
  o.plan.ratio = ratio;
  auto r = prune::prune_model(m, o);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  int64_t removed = 0;
  for (const auto& g : r->groups) removed += g.removed;
  CHECK(removed == static_cast<int64_t>(expect_removed));
  check_same_outputs(*reference, m, 2, {tol, tol});
  return std::move(r).value();
}

inline const prune::LayerReport& layer_report(const prune::PruneReport& r, const std::string& name) {
  for (const auto& l : r.layers)
    if (l.name == name) return l;
  FAIL("no layer " << name);
  return r.layers.front();
}

}  // namespace ortool::testing
