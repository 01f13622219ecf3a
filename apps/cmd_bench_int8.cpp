// `ortool bench --profile`: the int8 group table as JSON and text.
#include "apps/cmd_bench_int8.h"

#include <fmt/format.h>

#include <map>

namespace ortool::cli {

namespace {

std::string row_name(const rt::qdq::GroupRow& r) { return fmt::format("{} '{}'", r.label, r.op->name); }

}  // namespace

nlohmann::json int8_groups_json(const std::vector<rt::qdq::GroupRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json j{{"group", r.label}, {"node", r.op->name}, {"op_type", r.op->op_type()}, {"provider", r.provider},
                     {"fused", r.fused}, {"ms", r.ms}};
    if (!r.fused) j["reason"] = r.reason;
    out.push_back(std::move(j));
  }
  return out;
}

void print_int8_groups(const std::vector<rt::qdq::GroupRow>& rows, int top) {
  if (rows.empty()) return;
  std::map<std::string, std::pair<int, double>> per;  // provider: fused groups, ms
  int fell = 0;
  for (const auto& r : rows) {
    if (!r.fused) {
      ++fell;
      continue;
    }
    per[r.provider].first++;
    per[r.provider].second += r.ms;
  }
  fmt::print("\n  int8 groups (DQ/Q with their ops in one step)\n");
  for (const auto& [p, v] : per) fmt::print("  {:<10} {:>5} groups {:>10.3f} ms/run\n", p, v.first, v.second);
  fmt::print("  {:<10} {:>5} int8 ops ran in float or on the reference kernels\n", "fell back", fell);
  int shown = 0;
  if (!per.empty()) fmt::print("\n  slowest int8 groups{:>31} {:>10}\n", "provider", "ms/run");
  for (const auto& r : rows)
    if (r.fused && shown++ < top) fmt::print("  {:<40.40} {:>9} {:>10.3f}\n", row_name(r), r.provider, r.ms);
  if (fell > 0) fmt::print("\n  fell back{:>41}  reason\n", "provider");
  for (const auto& r : rows)
    if (!r.fused) fmt::print("  {:<40.40} {:>9}  {}\n", row_name(r), r.provider, r.reason);
}

}  // namespace ortool::cli
