// recalibrate_bn: BN statistics that make the pruned model's BN outputs match the unpruned one's.
#include "prune/recalibrate_bn.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "passes/pass_util.h"
#include "passes/weight_math.h"
#include "prune/graph_builder.h"

namespace ortool::prune {

namespace {

// Sums per channel of a value's entries and squares, over samples.
struct Sums {
  std::vector<double> sum, sumsq;
  double count = 0;  // entries per channel
  Status add(const RValue& data, const std::string& what) {
    const Tensor& t = data.tensor;
    if (!data.is_tensor() || t.dtype() != DType::Float || t.rank() < 2 ||
        (!sum.empty() && t.dims()[1] != static_cast<int64_t>(sum.size())))
      return internal_error("{}: not a float tensor of {} channels at run time", what, sum.size());
    const int64_t channels = t.dims()[1];
    sum.resize(static_cast<size_t>(channels), 0.0);
    sumsq.resize(static_cast<size_t>(channels), 0.0);
    int64_t inner = 1;
    for (size_t i = 2; i < t.rank(); ++i) inner *= t.dims()[i];
    const float* p = t.data<float>();
    for (int64_t n = 0; n < t.dims()[0]; ++n)
      for (int64_t c = 0; c < channels; ++c) {
        double s = 0, s2 = 0;
        const float* row = p + (n * channels + c) * inner;
        for (int64_t i = 0; i < inner; ++i) {
          s += row[i];
          s2 += static_cast<double>(row[i]) * row[i];
        }
        sum[static_cast<size_t>(c)] += s;
        sumsq[static_cast<size_t>(c)] += s2;
      }
    count += static_cast<double>(t.dims()[0] * inner);
    return Status::ok();
  }
  ChannelStats stats() const {
    ChannelStats s;
    for (size_t c = 0; c < sum.size(); ++c) {
      const double m = count > 0 ? sum[c] / count : 0.0;
      s.mean.push_back(m);
      s.var.push_back(count > 0 ? std::max(0.0, sumsq[c] / count - m * m) : 0.0);
    }
    return s;
  }
};

Status run_all(rt::Session& s, const rt::SampleSource& samples, const std::function<void(size_t)>& step) {
  for (size_t i = 0; i < samples.size(); ++i) {
    if (step) step(i);
    ASSIGN_OR_RETURN(rt::Sample sample, samples.get(i));
    auto r = s.run(sample.feeds);
    if (!r.is_ok()) return r.status().with_context(fmt::format("sample {}", sample.label));
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<ir::Node*>> affected_norms(const ir::Graph& g, const std::vector<const ir::Node*>& changed) {
  ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topological_order());
  std::set<const ir::Node*> dirty(changed.begin(), changed.end());
  std::vector<ir::Node*> norms;
  for (ir::Node* n : order) {
    bool reads_dirty = false;
    for (const ir::Value* v : n->inputs())
      if (v && v->producer() && dirty.count(v->producer())) reads_dirty = true;
    if (!reads_dirty) continue;
    dirty.insert(n);
    if (n->op_type() != "BatchNormalization" || !n->domain().empty() || n->num_inputs() != 5 ||
        n->attr_int("training_mode", 0) != 0)
      continue;
    const Tensor* mean = passes::constant_tensor(n->input(3));
    const Tensor* var = passes::constant_tensor(n->input(4));
    const Tensor* scale = passes::constant_tensor(n->input(1));
    if (mean && var && scale && mean->dtype() == DType::Float && var->dtype() == DType::Float) norms.push_back(n);
  }
  return norms;
}

Result<std::map<const ir::Node*, ChannelStats>> norm_input_stats(const ir::Model& model, const std::vector<ir::Node*>& norms,
                                                                 const rt::SampleSource& samples,
                                                                 const rt::SessionOptions& session) {
  std::map<std::string, Sums> sums;
  rt::SessionOptions so = session;
  so.observe = {};
  for (const ir::Node* n : norms) so.observe.values.push_back(n->input(0)->name());
  so.observe.callback = [&sums](const ir::Value& v, const RValue& data) { return sums[v.name()].add(data, v.name()); };
  ASSIGN_OR_RETURN(auto s, rt::Session::create(model, so));
  TRY(run_all(*s, samples, {}));
  std::map<const ir::Node*, ChannelStats> out;
  for (const ir::Node* n : norms) out[n] = sums[n->input(0)->name()].stats();
  return out;
}

Result<int64_t> recalibrate_bn(ir::Model& model, const std::vector<ir::Node*>& norms,
                               const std::map<const ir::Node*, ChannelStats>& reference,
                               const rt::SampleSource& samples, rt::SessionOptions session,
                               const std::function<void(size_t, size_t)>& progress) {
  ir::Graph& g = *model.graph;
  const size_t total = norms.size() * samples.size();
  int64_t changed = 0;
  for (size_t k = 0; k < norms.size(); ++k) {
    ir::Node* bn = norms[k];
    auto ref = reference.find(bn);
    const Tensor& mean = *passes::constant_tensor(bn->input(3));
    const Tensor& var = *passes::constant_tensor(bn->input(4));
    const int64_t channels = mean.numel();
    if (ref == reference.end() || static_cast<int64_t>(ref->second.mean.size()) != channels || var.numel() != channels)
      return internal_error("{}: no statistics of the unpruned model for its {} channels", bn->describe(), channels);
    Sums sums;
    session.observe = {};
    session.observe.values = {bn->input(0)->name()};
    session.observe.callback = [&](const ir::Value& v, const RValue& data) { return sums.add(data, v.name()); };
    ASSIGN_OR_RETURN(auto s, rt::Session::create(model, session));
    TRY(run_all(*s, samples, [&](size_t i) {
          if (progress) progress(k * samples.size() + i, total);
        }).with_context(fmt::format("re-estimating {}", bn->describe())));
    const ChannelStats pruned = sums.stats();
    if (static_cast<int64_t>(pruned.mean.size()) != channels) continue;
    const double eps = bn->attr_float("epsilon", 1e-5f);
    std::vector<double> new_mean(static_cast<size_t>(channels)), new_var(new_mean);
    for (size_t c = 0; c < new_mean.size(); ++c) {
      const double st = std::sqrt(std::max(0.0, var.get_double(static_cast<int64_t>(c))) + eps);
      const double vp = pruned.var[c], vr = ref->second.var[c];
      // A channel without spread in either model only has its mean corrected.
      const double s = vp > 1e-12 && vr > 1e-12 ? st * std::sqrt(vp / vr) : st;
      new_mean[c] = pruned.mean[c] - s * (ref->second.mean[c] - mean.get_double(static_cast<int64_t>(c))) / st;
      new_var[c] = std::max(0.0, s * s - eps);
    }
    set_constant_input(g, bn, 3, passes::float_tensor({channels}, new_mean));
    set_constant_input(g, bn, 4, passes::float_tensor({channels}, new_var));
    ++changed;
  }
  if (progress) progress(total, total);
  return changed;
}

}  // namespace ortool::prune
