// collect_activation_stats: per-channel mean |x| of the values layers read, over samples.
#include "prune/activation_stats.h"

#include <cmath>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ortool::prune {

Result<ActivationStats> collect_activation_stats(const ir::Model& model, const DependencyGraph& d,
                                                 const rt::SampleSource& samples, rt::SessionOptions session,
                                                 const std::function<void(size_t, size_t)>& progress) {
  // The values read by layers along their input channels, with the axis their channels are on.
  std::unordered_map<std::string, const ChannelMap*> watched;
  for (const ConstSlice& s : d.slices) {
    if (s.role != SliceRole::kInWeight) continue;
    const ir::Value* x = s.node->input(0);
    for (const auto& [v, m] : d.values)
      if (v == x) watched.emplace(v->name(), &m);
  }
  ActivationStats stats;
  std::unordered_map<std::string, std::vector<double>> sums;
  std::unordered_map<std::string, double> positions;  // values summed per entry, all samples
  session.observe.select = rt::ObserveOptions::Select::Named;
  for (const auto& [name, m] : watched) session.observe.values.push_back(name);
  session.observe.callback = [&](const ir::Value& v, const RValue& data) -> Status {
    auto it = watched.find(v.name());
    if (it == watched.end() || !data.is_tensor() || data.tensor.dtype() != DType::Float) return Status::ok();
    const Tensor& t = data.tensor;
    const ChannelMap& m = *it->second;
    if (static_cast<int64_t>(t.rank()) != m.rank || t.dims()[static_cast<size_t>(m.axis)] != m.length())
      return internal_error("'{}' has shape {} at run time, the analysis expected {} channels on axis {}", v.name(),
                            fmt::format("{}", fmt::join(t.dims(), "x")), m.length(), m.axis);
    int64_t outer = 1, inner = 1;
    const int64_t n = m.length();
    for (int64_t i = 0; i < m.axis; ++i) outer *= t.dims()[static_cast<size_t>(i)];
    for (size_t i = static_cast<size_t>(m.axis) + 1; i < t.rank(); ++i) inner *= t.dims()[i];
    std::vector<double>& sum = sums[v.name()];
    sum.resize(static_cast<size_t>(n), 0.0);
    const float* p = t.data<float>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t e = 0; e < n; ++e) {
        double acc = 0;
        const float* row = p + (o * n + e) * inner;
        for (int64_t i = 0; i < inner; ++i) acc += std::fabs(static_cast<double>(row[i]));
        sum[static_cast<size_t>(e)] += acc;
      }
    positions[v.name()] += static_cast<double>(outer * inner);
    return Status::ok();
  };
  ASSIGN_OR_RETURN(auto s, rt::Session::create(model, session));
  for (size_t i = 0; i < samples.size(); ++i) {
    if (progress) progress(i, samples.size());
    ASSIGN_OR_RETURN(rt::Sample sample, samples.get(i));
    auto r = s->run(sample.feeds);
    if (!r.is_ok()) return r.status().with_context(fmt::format("sample {}", sample.label));
  }
  if (progress) progress(samples.size(), samples.size());
  for (auto& [name, sum] : sums) {
    const double count = positions[name];
    for (double& x : sum) x = count > 0 ? x / count : 0.0;
    stats.mean_abs[name] = std::move(sum);
  }
  stats.samples = samples.size();
  return stats;
}

}  // namespace ortool::prune
