// Kernel registry lookups by domain, op type, opset and element type.
#include "runtime/registry.h"

#include <algorithm>

#include "lib/op_id.h"

namespace ortool::rt {

namespace {
std::string norm_domain(std::string_view d) { return std::string(ir::canonical_domain(d)); }
}  // namespace

void KernelRegistry::add(KernelDef def) {
  def.domain = norm_domain(def.domain);
  defs_[{def.domain, def.op_type}].push_back(std::move(def));
}

const KernelDef* KernelRegistry::find(std::string_view domain, std::string_view op_type, int64_t opset,
                                      DType dtype) const {
  auto it = defs_.find({norm_domain(domain), std::string(op_type)});
  if (it == defs_.end()) return nullptr;
  const KernelDef* any_type = nullptr;
  for (const KernelDef& d : it->second) {
    if (opset < d.since_version || opset > d.end_version) continue;
    if (d.types.empty() || dtype == DType::Undefined) {
      if (!any_type) any_type = &d;
      if (d.types.empty()) continue;
    }
    if (std::find(d.types.begin(), d.types.end(), dtype) != d.types.end()) return &d;
  }
  return any_type;
}

bool KernelRegistry::knows(std::string_view domain, std::string_view op_type) const {
  return defs_.count({norm_domain(domain), std::string(op_type)}) > 0;
}

std::vector<std::string> KernelRegistry::op_names() const {
  std::vector<std::string> out;
  for (const auto& [key, defs] : defs_) out.push_back(key.first.empty() ? key.second : key.first + ":" + key.second);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ortool::rt
