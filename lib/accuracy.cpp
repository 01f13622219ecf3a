// Accumulating per-output accuracy statistics over samples and judging them against gates.
#include "lib/accuracy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ortool {

namespace {

void keep_min(std::optional<double>& acc, const std::optional<double>& v) {
  if (v && (!acc || *v < *acc)) acc = v;
}

// Adds one tensor comparison; `where` names the sample (and sequence item) in messages.
void add_stats(OutputAccuracy& a, const CompareStats& s, const std::vector<int64_t>& dims, const std::string& where) {
  if (!s.mismatch.empty()) {
    if (a.mismatch.empty()) a.mismatch = fmt::format("{}: {}", where, s.mismatch);
    return;
  }
  a.elements += s.count;
  a.failed += s.failed;
  a.max_abs = std::max(a.max_abs, s.max_abs);
  a.max_rel = std::max(a.max_rel, s.max_rel);
  a.sum_abs += s.mean_abs * static_cast<double>(s.count);
  keep_min(a.min_cosine, s.cosine);
  keep_min(a.min_sqnr_db, s.sqnr_db);
  a.ref_energy += s.ref_energy;
  a.noise_energy += s.noise_energy;
  a.top1_rows += s.top1_rows;
  a.top1_agree += s.top1_agree;
  for (size_t b = 0; b < kAbsErrorBins; ++b) a.abs_error_hist[b] += s.abs_error_hist[b];
  if (s.failed > 0 && s.worst_index >= 0) {
    double excess = std::fabs(s.worst_got - s.worst_ref) - (a.tol.atol + a.tol.rtol * std::fabs(s.worst_ref));
    if (std::isnan(excess)) excess = std::numeric_limits<double>::infinity();
    if (a.worst.empty() || excess > a.worst_excess) {
      a.worst_excess = excess;
      a.worst = fmt::format("{} element {}: expected {:.7g}, got {:.7g}", where, index_to_string(dims, s.worst_index),
                            s.worst_ref, s.worst_got);
    }
  }
}

}  // namespace

void OutputAccuracy::add(const RValue& ref, const RValue& got, std::string_view sample) {
  ++samples;
  std::string where = fmt::format("sample {}", sample);
  if (ref.is_tensor() && got.is_tensor()) {
    add_stats(*this, compare_tensors(ref.tensor, got.tensor, tol), ref.tensor.dims(), where);
  } else if (ref.is_sequence() && got.is_sequence()) {
    if (ref.sequence.size() != got.sequence.size()) {
      if (mismatch.empty())
        mismatch = fmt::format("{}: sequence of {} tensors vs {}", where, ref.sequence.size(), got.sequence.size());
      return;
    }
    for (size_t k = 0; k < ref.sequence.size(); ++k)
      add_stats(*this, compare_tensors(ref.sequence[k], got.sequence[k], tol), ref.sequence[k].dims(),
                fmt::format("{} item {}", where, k));
  } else if (!(ref.is_none() && got.is_none())) {
    auto kind = [](const RValue& v) { return v.is_tensor() ? "tensor" : v.is_sequence() ? "sequence" : "none"; };
    if (mismatch.empty()) mismatch = fmt::format("{}: a {} vs a {}", where, kind(ref), kind(got));
  }
}

std::optional<double> OutputAccuracy::top1_agreement() const {
  if (top1_rows == 0) return std::nullopt;
  return static_cast<double>(top1_agree) / static_cast<double>(top1_rows);
}

std::optional<double> OutputAccuracy::top1_drop() const {
  auto agree = top1_agreement();
  if (!agree) return std::nullopt;
  return 100.0 * (1.0 - *agree);
}

std::optional<double> OutputAccuracy::total_sqnr_db() const {
  if (noise_energy == 0) return std::numeric_limits<double>::infinity();
  if (ref_energy == 0) return std::nullopt;
  return 10 * std::log10(ref_energy / noise_energy);
}

Status validate_gates(const Gates& g) {
  auto tolerance = [](const char* flag, double v) {
    return std::isfinite(v) && v >= 0 ? Status::ok() : invalid("{} {}: expected a finite number >= 0", flag, v);
  };
  TRY(tolerance("--atol", g.tol.atol));
  TRY(tolerance("--rtol", g.tol.rtol));
  if (g.min_cosine && !(*g.min_cosine >= -1 && *g.min_cosine <= 1))
    return invalid("--min-cosine {}: expected a number from -1 to 1", *g.min_cosine);
  if (g.min_sqnr_db && !std::isfinite(*g.min_sqnr_db))
    return invalid("--min-sqnr {}: expected a finite number of dB", *g.min_sqnr_db);
  if (g.max_top1_drop && !(*g.max_top1_drop >= 0 && *g.max_top1_drop <= 100))
    return invalid("--max-top1-drop {}: expected percentage points from 0 to 100", *g.max_top1_drop);
  return Status::ok();
}

std::string format_db(const std::optional<double>& db) {
  if (!db) return "n/a";
  if (std::isinf(*db)) return *db > 0 ? "inf" : "-inf";
  return fmt::format("{:.1f}", *db);
}

OutputVerdict judge(const OutputAccuracy& a, const Gates& g) {
  OutputVerdict v;
  v.name = a.name;
  auto fail = [&v](std::string what) {
    v.passed = false;
    v.failures.push_back(std::move(what));
  };
  if (!a.mismatch.empty()) {
    fail(a.mismatch);
    return v;
  }
  const bool undefined = !a.min_cosine && !a.min_sqnr_db;
  if ((g.check_elements || (g.check_elements_if_undefined && undefined)) && a.failed > 0)
    fail(fmt::format("{} of {} elements outside atol {:g} + rtol {:g}; worst at {}", a.failed, a.elements, g.tol.atol,
                     g.tol.rtol, a.worst));
  // An output of only empty tensors (or none at all) has no numbers to judge: nothing to note.
  bool has_numbers = a.elements > 0;
  if (g.min_cosine) {
    if (a.min_cosine && *a.min_cosine < *g.min_cosine)
      fail(fmt::format("cosine similarity {:.6f} below --min-cosine {:g}", *a.min_cosine, *g.min_cosine));
    else if (!a.min_cosine && has_numbers)
      v.notes.push_back("cosine similarity undefined (the reference is all zero): --min-cosine not applied");
  }
  if (g.min_sqnr_db) {
    if (a.min_sqnr_db && *a.min_sqnr_db < *g.min_sqnr_db)
      fail(fmt::format("SQNR {} dB below --min-sqnr {:g}", format_db(a.min_sqnr_db), *g.min_sqnr_db));
    else if (!a.min_sqnr_db && has_numbers)
      v.notes.push_back("SQNR undefined (the reference is all zero): --min-sqnr not applied");
  }
  if (g.max_top1_drop) {
    auto drop = a.top1_drop();
    if (drop && *drop > *g.max_top1_drop)
      fail(fmt::format("top-1 class changed on {:.2f}% of {} rows, above --max-top1-drop {:g}", *drop, a.top1_rows,
                       *g.max_top1_drop));
    else if (!drop && has_numbers)
      v.notes.push_back("no rows of class scores (2-D output): --max-top1-drop not applied");
  }
  return v;
}

AccuracyReport::AccuracyReport(const std::vector<std::string>& output_names, Gates gates) : gates_(gates) {
  for (const std::string& n : output_names) outputs_.emplace_back(n, gates_.tol);
}

Status AccuracyReport::add(std::span<const RValue> ref, std::span<const RValue> got, std::string_view sample) {
  if (ref.size() != outputs_.size() || got.size() != outputs_.size())
    return invalid("sample {}: {} reference and {} compared outputs for {} model outputs", sample, ref.size(), got.size(),
                   outputs_.size());
  for (size_t i = 0; i < outputs_.size(); ++i) outputs_[i].add(ref[i], got[i], sample);
  ++samples_;
  return Status::ok();
}

std::vector<OutputVerdict> AccuracyReport::verdicts() const {
  std::vector<OutputVerdict> out;
  for (const OutputAccuracy& a : outputs_) out.push_back(judge(a, gates_));
  return out;
}

bool AccuracyReport::passed() const {
  return std::all_of(outputs_.begin(), outputs_.end(), [&](const OutputAccuracy& a) { return judge(a, gates_).passed; });
}

}  // namespace ortool
