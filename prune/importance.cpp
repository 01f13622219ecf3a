// Importance criteria over the recorded weight slices (see importance.h).
#include "prune/importance.h"

#include <cmath>
#include <limits>
#include <unordered_map>

#include "passes/pass_util.h"
#include "prune/activation_stats.h"

namespace ortool::prune {

Result<Criterion> parse_criterion(std::string_view name) {
  if (name == "l1") return Criterion::kL1;
  if (name == "l2") return Criterion::kL2;
  if (name == "bn-scale") return Criterion::kBnScale;
  if (name == "activation") return Criterion::kActivation;
  return invalid("--criterion '{}': expected l1, l2, bn-scale or activation", name);
}

std::string_view criterion_name(Criterion c) {
  switch (c) {
    case Criterion::kL1: return "l1";
    case Criterion::kL2: return "l2";
    case Criterion::kBnScale: return "bn-scale";
    case Criterion::kActivation: return "activation";
  }
  return "?";
}

namespace {

// Adds, per entry i along `axis` of `t`, the sum of |x| or x^2 over the slice to score[entry i's unit].
void add_slice_magnitudes(const DependencyGraph& d, const ConstSlice& s, const Tensor& t, bool squares,
                          std::unordered_map<AtomId, double>& score) {
  const auto& dims = t.dims();
  // An empty tensor adds nothing, and its other dims may multiply past int64 (e.g. [4, 2^40, 2^40, 0]).
  if (s.axis < 0 || s.axis >= static_cast<int64_t>(dims.size()) || t.numel() == 0) return;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < s.axis; ++i) outer *= dims[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(s.axis) + 1; i < dims.size(); ++i) inner *= dims[i];
  const int64_t n = dims[static_cast<size_t>(s.axis)];
  if (n != static_cast<int64_t>(s.atoms.size()) * s.block) return;
  // float32 is read directly; other float types element by element.
  const float* f = t.dtype() == DType::Float ? t.data<float>() : nullptr;
  for (int64_t e = 0; e < n; ++e) {
    double sum = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t at = (o * n + e) * inner + i;
        double x = f ? static_cast<double>(f[at]) : t.get_double(at);
        sum += squares ? x * x : std::fabs(x);
      }
    score[d.atoms.root(s.atoms[static_cast<size_t>(e / s.block)])] += sum;
  }
}

}  // namespace

namespace {

// Activation scores: each entry's mean |x| added to its unit, over every watched value.
void add_activations(const DependencyGraph& d, const ActivationStats& a, std::unordered_map<AtomId, double>& score,
                     std::vector<bool>& ranked) {
  for (const auto& [v, m] : d.values) {
    auto it = a.mean_abs.find(v->name());
    if (it == a.mean_abs.end() || static_cast<int64_t>(it->second.size()) != m.length()) continue;
    for (int64_t e = 0; e < m.length(); ++e) {
      AtomId u = d.atoms.root(m.atoms[static_cast<size_t>(e / m.block)]);
      score[u] += it->second[static_cast<size_t>(e)];
      if (int g = d.unit_group[static_cast<size_t>(u)]; g >= 0) ranked[static_cast<size_t>(g)] = true;
    }
  }
}

}  // namespace

std::vector<GroupScores> importance(const DependencyGraph& d, Criterion c, const ActivationStats* activations) {
  std::unordered_map<AtomId, double> score;  // by unit
  std::vector<bool> has_norm(d.groups.size(), false), has_activation(d.groups.size(), false);
  if (c == Criterion::kActivation && activations) add_activations(d, *activations, score, has_activation);
  for (const ConstSlice& s : d.slices) {
    const Tensor* t = passes::constant_tensor(s.node->input(static_cast<size_t>(s.input)));
    if (!t || !dtype_is_float(t->dtype())) continue;
    bool use = c == Criterion::kBnScale ? s.role == SliceRole::kNormScale
                                        : c != Criterion::kActivation && s.role != SliceRole::kParam;
    if (s.role == SliceRole::kNormScale)
      for (AtomId a : s.atoms)
        if (int g = d.unit_group[static_cast<size_t>(d.atoms.root(a))]; g >= 0) has_norm[static_cast<size_t>(g)] = true;
    if (use) add_slice_magnitudes(d, s, *t, c == Criterion::kL2, score);
  }
  std::vector<GroupScores> out(d.groups.size());
  for (const Group& g : d.groups) {
    GroupScores& gs = out[static_cast<size_t>(g.id)];
    if (c == Criterion::kBnScale && !has_norm[static_cast<size_t>(g.id)])
      gs.unavailable = "no BatchNormalization scale to rank by (criterion bn-scale)";
    if (c == Criterion::kActivation && !has_activation[static_cast<size_t>(g.id)])
      gs.unavailable = "no layer reads these channels to rank them by (criterion activation)";
    for (AtomId u : g.units) {
      auto it = score.find(u);
      const double v = it == score.end() ? 0.0 : it->second;
      // A NaN or Inf weight (or activation) leaves the unit's magnitude undefined: rank it above every
      // other, so it is kept rather than judged on a value that cannot be compared.
      gs.score.push_back(std::isfinite(v) ? v : std::numeric_limits<double>::infinity());
    }
  }
  return out;
}

}  // namespace ortool::prune
