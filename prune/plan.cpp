// make_plan: the least important units go, within the limits every layer and segment sets (plan.h).
#include "prune/plan.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace ortool::prune {

bool Plan::removes(AtomId unit) const { return std::binary_search(removed.begin(), removed.end(), unit); }

Status validate_plan_options(const PlanOptions& o) {
  if (o.group_ratios.empty() && !(std::isfinite(o.ratio) && o.ratio > 0 && o.ratio < 1))
    return invalid("--ratio {}: expected a fraction of channels to remove, above 0 and below 1", o.ratio);
  for (const auto& [name, r] : o.layer_ratios) {
    if (!std::isfinite(r) || r < 0 || r > 1)
      return invalid("--layer {}={}: expected a ratio from 0 (keep every channel) to below 1", name, r);
    if (r == 1) return invalid("--layer {}=1: layer '{}' would lose every channel", name, name);
  }
  for (const auto& [g, r] : o.group_ratios)
    if (!std::isfinite(r) || r < 0 || r >= 1) return invalid("group {}: ratio {} is not in [0, 1)", g, r);
  if (o.round_to < 1) return invalid("--round-to {}: expected 1 or more", o.round_to);
  if (o.min_channels < 1) return invalid("--min-channels {}: expected 1 or more", o.min_channels);
  return Status::ok();
}

namespace {

// The limits a removal must respect: each layer keeps min(min_channels, its size) channels, each
// Split/Slice output keeps one. Counts are of entries (a unit may be several channels of a layer).
class Limits {
 public:
  Limits(const DependencyGraph& d, int64_t min_channels) {
    auto add = [&](const std::vector<AtomId>& atoms, int64_t min) {
      size_t c = kept_.size();
      kept_.push_back(static_cast<int64_t>(atoms.size()));
      min_.push_back(std::min<int64_t>(min, static_cast<int64_t>(atoms.size())));
      std::unordered_map<AtomId, int64_t> per_unit;
      for (AtomId a : atoms) ++per_unit[d.atoms.root(a)];
      for (auto [u, n] : per_unit) of_unit_[u].push_back({c, n});
    };
    for (const Layer& l : d.layers) add(l.out, min_channels);
    for (const auto& seg : d.nonempty) add(seg, 1);
  }
  bool can_remove(AtomId unit) const {
    auto it = of_unit_.find(unit);
    if (it == of_unit_.end()) return true;
    for (auto [c, n] : it->second)
      if (kept_[c] - n < min_[c]) return false;
    return true;
  }
  void remove(AtomId unit) { change(unit, -1); }
  void restore(AtomId unit) { change(unit, +1); }

 private:
  void change(AtomId unit, int64_t sign) {
    auto it = of_unit_.find(unit);
    if (it == of_unit_.end()) return;
    for (auto [c, n] : it->second) kept_[c] += sign * n;
  }
  std::vector<int64_t> kept_, min_;
  std::unordered_map<AtomId, std::vector<std::pair<size_t, int64_t>>> of_unit_;
};

struct Candidate {
  double score;
  int group;
  size_t index;  // in Group::units
};

// A strict weak order even with NaN scores (NaN after every number), as std::sort requires.
bool before(const Candidate& a, const Candidate& b) {
  const bool na = std::isnan(a.score), nb = std::isnan(b.score);
  if (na != nb) return nb;
  if (!na && a.score != b.score) return a.score < b.score;
  if (a.group != b.group) return a.group < b.group;
  return a.index < b.index;
}

// Layer names → group, and the checks on --layer and --exclude names.
Result<int> group_of_layer(const DependencyGraph& d, const std::string& name, std::string_view option) {
  const Layer* l = d.find_layer(name);
  if (!l) {
    std::string some;
    for (size_t i = 0; i < d.layers.size() && i < 5; ++i)
      some += (i ? ", " : "") + ("'" + layer_name(*d.layers[i].node) + "'");
    return invalid("{} {}: no layer of that name makes channels (layers: {}{})", option, name, some,
                   d.layers.size() > 5 ? ", ..." : "");
  }
  int g = d.layer_group(*l);
  if (g < 0) return invalid("{} {}: the layer's channels are not tracked", option, name);
  return g;
}

}  // namespace

Result<Plan> make_plan(const DependencyGraph& d, const std::vector<GroupScores>& scores, const PlanOptions& o) {
  TRY(validate_plan_options(o));
  Plan plan;
  std::vector<double> ratio(d.groups.size(), o.ratio);
  std::vector<bool> local(d.groups.size(), o.scope == Scope::kLocal);
  for (const Group& g : d.groups) {
    GroupDecision gd;
    gd.group = g.id;
    gd.units = static_cast<int64_t>(g.units.size());
    if (g.whole()) gd.left_whole = g.pin_reasons.empty() ? "pinned" : g.pin_reasons.front();
    else if (!scores[static_cast<size_t>(g.id)].unavailable.empty()) gd.left_whole = scores[static_cast<size_t>(g.id)].unavailable;
    plan.groups.push_back(gd);
  }
  for (const auto& [id, r] : o.group_ratios) {
    if (id < 0 || id >= static_cast<int>(d.groups.size())) return invalid("group {} does not exist", id);
    ratio[static_cast<size_t>(id)] = r;
    local[static_cast<size_t>(id)] = true;
  }
  std::map<int, std::string> named;
  for (const auto& [name, r] : o.layer_ratios) {
    ASSIGN_OR_RETURN(int g, group_of_layer(d, name, "--layer"));
    if (auto it = named.find(g); it != named.end() && ratio[static_cast<size_t>(g)] != r)
      return invalid("--layer {}={} and --layer {}={}: the two layers are pruned together and need one ratio", name, r,
                     it->second, ratio[static_cast<size_t>(g)]);
    if (!plan.groups[static_cast<size_t>(g)].left_whole.empty() && r > 0)
      return invalid("--layer {}={}: its channels cannot be pruned: {}", name, r, plan.groups[static_cast<size_t>(g)].left_whole);
    named[g] = name;
    ratio[static_cast<size_t>(g)] = r;
    local[static_cast<size_t>(g)] = true;
  }
  for (const std::string& name : o.exclude) {
    ASSIGN_OR_RETURN(int g, group_of_layer(d, name, "--exclude"));
    if (plan.groups[static_cast<size_t>(g)].left_whole.empty())
      plan.groups[static_cast<size_t>(g)].left_whole = "excluded (--exclude " + name + ")";
  }
  bool any = false;
  for (const GroupDecision& gd : plan.groups) any = any || gd.left_whole.empty();
  if (!any) {
    std::string why = plan.groups.empty() ? "no Conv, ConvTranspose, Gemm or MatMul layer with a constant weight"
                                          : "every group of channels is left whole, e.g. " + plan.groups.front().left_whole;
    return invalid("nothing to prune: {}", why);
  }

  Limits limits(d, o.min_channels);
  std::vector<std::vector<bool>> gone(d.groups.size());
  for (const Group& g : d.groups) gone[static_cast<size_t>(g.id)].assign(g.units.size(), false);
  auto try_remove = [&](const Candidate& c) {
    AtomId u = d.groups[static_cast<size_t>(c.group)].units[c.index];
    if (d.atoms.pinned(u) || !limits.can_remove(u)) return false;
    limits.remove(u);
    gone[static_cast<size_t>(c.group)][c.index] = true;
    ++plan.groups[static_cast<size_t>(c.group)].removed;
    return true;
  };
  auto candidates = [&](const Group& g, bool normalize) {
    const std::vector<double>& s = scores[static_cast<size_t>(g.id)].score;
    // The mean of the finite scores: one unrankable (infinite) unit must not zero every other's share.
    double sum = 0;
    int64_t finite = 0;
    for (double v : s)
      if (std::isfinite(v)) sum += v, ++finite;
    const double mean = finite ? sum / static_cast<double>(finite) : 0;
    std::vector<Candidate> c;
    for (size_t i = 0; i < g.units.size(); ++i) {
      const bool scaled = normalize && std::isfinite(s[i]);
      c.push_back({scaled ? (mean > 0 ? s[i] / mean : 0.0) : s[i], g.id, i});
    }
    return c;
  };

  // Local groups: each on its own ratio.
  std::vector<Candidate> pool;
  int64_t pool_units = 0;
  for (const Group& g : d.groups) {
    GroupDecision& gd = plan.groups[static_cast<size_t>(g.id)];
    if (!gd.left_whole.empty()) continue;
    gd.ratio = ratio[static_cast<size_t>(g.id)];
    std::vector<Candidate> c = candidates(g, !local[static_cast<size_t>(g.id)]);
    if (!local[static_cast<size_t>(g.id)]) {
      pool.insert(pool.end(), c.begin(), c.end());
      pool_units += gd.units;
      continue;
    }
    std::sort(c.begin(), c.end(), before);
    const int64_t want = static_cast<int64_t>(std::floor(gd.ratio * static_cast<double>(gd.units) + 1e-9));
    for (size_t i = 0; i < c.size() && gd.removed < want; ++i) try_remove(c[i]);
  }
  // Global pool: the least important units over all its groups.
  std::sort(pool.begin(), pool.end(), before);
  const int64_t want = static_cast<int64_t>(std::floor(o.ratio * static_cast<double>(pool_units) + 1e-9));
  int64_t removed = 0;
  for (size_t i = 0; i < pool.size() && removed < want; ++i) removed += try_remove(pool[i]);

  // Round kept counts up to a multiple of round_to, giving back the most important removed units.
  for (const Group& g : d.groups) {
    GroupDecision& gd = plan.groups[static_cast<size_t>(g.id)];
    if (o.round_to <= 1 || gd.removed == 0) continue;
    std::vector<Candidate> c = candidates(g, false);
    std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) { return before(b, a); });
    for (size_t i = 0; i < c.size() && (gd.units - gd.removed) % o.round_to != 0; ++i)
      if (gone[static_cast<size_t>(g.id)][c[i].index]) {
        gone[static_cast<size_t>(g.id)][c[i].index] = false;
        limits.restore(g.units[c[i].index]);
        --gd.removed;
      }
  }
  for (const Group& g : d.groups)
    for (size_t i = 0; i < g.units.size(); ++i)
      if (gone[static_cast<size_t>(g.id)][i]) plan.removed.push_back(g.units[i]);
  std::sort(plan.removed.begin(), plan.removed.end());
  if (plan.removed.empty()) {
    int64_t most = 0;
    for (const GroupDecision& gd : plan.groups)
      if (gd.left_whole.empty()) most = std::max(most, gd.units);
    return invalid("nothing to prune at ratio {}: no channel goes (the prunable groups have at most {} channels, "
                   "and every layer keeps --min-channels {})",
                   o.ratio, most, o.min_channels);
  }
  return plan;
}

}  // namespace ortool::prune
