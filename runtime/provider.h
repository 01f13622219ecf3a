// Execution providers: a set of kernels plus a capability function that claims nodes (or groups).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/registry.h"

namespace ortool::rt {

// A group of nodes a provider runs as one kernel (e.g. Conv+Relu); most claims hold one node.
struct Claim {
  std::vector<const ir::Node*> nodes;
  KernelFactory factory;  // null: use the registry's kernel for the single node
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string name() const = 0;
  // Claims for nodes of `g` not yet claimed (`taken`), in any order; the partitioner asks providers
  // in priority order, so the first claim wins.
  virtual std::vector<Claim> claim(const ir::Graph& g, const ir::Model& m,
                                   const std::vector<bool>& taken) const = 0;
  virtual const KernelRegistry& registry() const = 0;
};

// The reference provider: a plain kernel for every supported op.
std::unique_ptr<Provider> make_cpu_provider();
// The cpu provider's registry (shared by every session).
const KernelRegistry& cpu_registry();

}  // namespace ortool::rt
