// Doctest helpers of the quantizer tests: quantize a model built in code with min/max ranges over
// seeded inputs, compare its outputs with the float model's, count ops.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "quant/quantize.h"
#include "tests/passes/pass_test_util.h"
#include "tests/quant/quant_test_util.h"

namespace ortool::quant_testing {

// `count` seeded random feeds (the runtime's random input data) for the model's inputs.
inline std::vector<rt::Feeds> seeded_feeds(const ir::Model& m, int count, uint64_t seed = 11) {
  std::vector<rt::Feeds> out;
  for (int i = 0; i < count; ++i) {
    auto f = rt::random_inputs(*m.graph, seed + static_cast<uint64_t>(i), {}, {});
    REQUIRE_MESSAGE(f.is_ok(), f.status().message());
    out.push_back(std::move(*f));
  }
  return out;
}

// A model to quantize in place, a float copy of it, and seeded feeds:
//     auto [m, ref, feeds] = with_float_copy(std::move(builder.model));
struct FloatCopy {
  std::unique_ptr<ir::Model> model;
  std::unique_ptr<ir::Model> float_model;
  std::vector<rt::Feeds> feeds;
};
inline FloatCopy with_float_copy(std::unique_ptr<ir::Model> m, int feeds = 2) {
  auto copy = copy_model(*m);
  REQUIRE_MESSAGE(copy.is_ok(), copy.status().message());
  std::vector<rt::Feeds> f = seeded_feeds(*m, feeds);
  return FloatCopy{std::move(m), std::move(copy).value(), std::move(f)};
}

// Quantizes `m` in place with min/max ranges of tensors_to_calibrate over `feeds`; the result must
// verify and survive export and import.
inline quant::QuantizeReport quantize_minmax(ir::Model& m, const quant::QuantizeOptions& o,
                                             const std::vector<rt::Feeds>& feeds) {
  auto names = quant::tensors_to_calibrate(m, o);
  REQUIRE_MESSAGE(names.is_ok(), names.status().message());
  auto ranges = minmax_ranges(m, *names, feeds);
  REQUIRE_MESSAGE(ranges.is_ok(), ranges.status().message());
  auto report = quant::quantize_static(m, *ranges, o);
  REQUIRE_MESSAGE(report.is_ok(), report.status().message());
  REQUIRE_MESSAGE(m.graph->verify().is_ok(), m.graph->verify().message());
  auto copy = copy_model(m);
  REQUIRE_MESSAGE(copy.is_ok(), copy.status().message());
  return std::move(report).value();
}

// The lowest SQNR (dB) over the outputs of `q` against `f` on `feeds`, run on the reference kernels.
inline double output_sqnr(const ir::Model& f, const ir::Model& q, const rt::Feeds& feeds) {
  auto a = run_model(f, feeds);
  REQUIRE_MESSAGE(a.is_ok(), a.status().message());
  auto b = run_model(q, feeds);
  REQUIRE_MESSAGE(b.is_ok(), b.status().message());
  REQUIRE(a->size() == b->size());
  double worst = 1e9;
  for (size_t i = 0; i < a->size(); ++i) worst = std::min(worst, sqnr_db((*a)[i].tensor, (*b)[i].tensor));
  return worst;
}

// Nodes of op type `op` (any domain) in the main graph.
inline int count_op(const ir::Model& m, const std::string& op) { return testing::count_ops(*m.graph, op); }

// The report entry of a node, or null.
inline const quant::NodeOutcome* outcome(const std::vector<quant::NodeOutcome>& v, const std::string& node) {
  for (const auto& o : v)
    if (o.node == node) return &o;
  return nullptr;
}

}  // namespace ortool::quant_testing
