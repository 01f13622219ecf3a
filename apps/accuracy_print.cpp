// Text and JSON forms of an accuracy report: table, PASS/FAIL lines, verdict.
#include "apps/accuracy_print.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

namespace ortool::cli {

namespace {

nlohmann::json number_or_null(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

// "atol 0.0001, rtol 0.001, min cosine 0.99": the gates applied, for the verdict line.
std::string gates_text(const Gates& g) {
  std::vector<std::string> parts;
  if (g.check_elements) parts.push_back(fmt::format("atol {:g}, rtol {:g}", g.tol.atol, g.tol.rtol));
  if (g.min_cosine) parts.push_back(fmt::format("min cosine {:g}", *g.min_cosine));
  if (g.min_sqnr_db) parts.push_back(fmt::format("min SQNR {:g} dB", *g.min_sqnr_db));
  if (g.max_top1_drop) parts.push_back(fmt::format("max top-1 drop {:g} points", *g.max_top1_drop));
  return parts.empty() ? "no gates" : fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

void print_accuracy_table(const AccuracyReport& report) {
  fmt::print("  {:<24} {:>11} {:>11} {:>11} {:>10} {:>9} {:>7}\n", "output", "max abs", "max rel", "mean abs", "cosine",
             "SQNR dB", "top-1");
  for (const OutputAccuracy& a : report.outputs()) {
    if (!a.mismatch.empty()) {
      fmt::print("  {:<24} {}\n", a.name, a.mismatch);
      continue;
    }
    auto top1 = a.top1_agreement();
    std::string top1_text = top1 ? fmt::format("{:.1f}%", 100.0 * *top1) : "-";
    std::string cosine = a.min_cosine ? fmt::format("{:.6f}", *a.min_cosine) : "n/a";
    fmt::print("  {:<24} {:>11.3e} {:>11.3e} {:>11.3e} {:>10} {:>9} {:>7}\n", a.name, a.max_abs, a.max_rel,
               a.mean_abs(), cosine, format_db(a.min_sqnr_db), top1_text);
  }
}

void print_verdicts(const AccuracyReport& report, const std::vector<OutputVerdict>& verdicts) {
  size_t failed = 0;
  for (const OutputVerdict& v : verdicts) {
    std::string notes = v.notes.empty() ? "" : fmt::format(" ({})", fmt::join(v.notes, "; "));
    if (v.passed) {
      fmt::print("  PASS {}{}\n", v.name, notes);
    } else {
      ++failed;
      fmt::print("  FAIL {}: {}{}\n", v.name, fmt::join(v.failures, "; "), notes);
    }
  }
  size_t n = verdicts.size();
  if (failed == 0)
    fmt::print("verdict: PASS ({} output{} on {} sample{}; {})\n", n, n == 1 ? "" : "s", report.samples(),
               report.samples() == 1 ? "" : "s", gates_text(report.gates()));
  else
    fmt::print("verdict: FAIL ({} of {} output{} failed on {} sample{}; {})\n", failed, n, n == 1 ? "" : "s",
               report.samples(), report.samples() == 1 ? "" : "s", gates_text(report.gates()));
}

std::string first_failure(const std::vector<OutputVerdict>& verdicts) {
  for (const OutputVerdict& v : verdicts)
    if (!v.passed) return fmt::format("output '{}': {}", v.name, v.failures.front());
  return {};
}

nlohmann::json output_accuracy_json(const OutputAccuracy& a, const OutputVerdict& v) {
  nlohmann::json o{{"name", a.name},
                   {"max_abs_error", a.max_abs},
                   {"max_rel_error", a.max_rel},
                   {"mean_abs_error", a.mean_abs()},
                   {"cosine", number_or_null(a.min_cosine)},
                   {"sqnr_db", number_or_null(a.min_sqnr_db)},
                   {"sqnr_exact", a.min_sqnr_db && std::isinf(*a.min_sqnr_db)},
                   {"failed_elements", a.failed},
                   {"elements", a.elements},
                   {"passed", v.passed},
                   {"failures", v.failures},
                   {"notes", v.notes}};
  if (auto t = a.top1_agreement()) o["top1_agreement"] = *t;
  if (!a.mismatch.empty()) o["mismatch"] = a.mismatch;
  if (!a.worst.empty()) o["worst"] = a.worst;
  return o;
}

nlohmann::json accuracy_json(const AccuracyReport& report, const std::vector<OutputVerdict>& verdicts) {
  nlohmann::json j;
  const Gates& g = report.gates();
  j["gates"] = {{"atol", g.tol.atol}, {"rtol", g.tol.rtol}, {"elements", g.check_elements},
                {"min_cosine", number_or_null(g.min_cosine)}, {"min_sqnr_db", number_or_null(g.min_sqnr_db)},
                {"max_top1_drop", number_or_null(g.max_top1_drop)}};
  j["outputs"] = nlohmann::json::array();
  bool all = true;
  for (size_t i = 0; i < report.outputs().size(); ++i) {
    all = all && verdicts[i].passed;
    const OutputAccuracy& a = report.outputs()[i];
    nlohmann::json o = output_accuracy_json(a, verdicts[i]);
    nlohmann::json bins = nlohmann::json::array();
    for (size_t b = 0; b < kAbsErrorBins; ++b) bins.push_back(abs_error_bin_label(b));
    o["abs_error_histogram"] = {{"bins", bins}, {"counts", a.abs_error_hist}};
    j["outputs"].push_back(std::move(o));
  }
  j["passed"] = all;
  j["verdict"] = all ? "PASS" : "FAIL";
  return j;
}

}  // namespace ortool::cli
