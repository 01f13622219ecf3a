// Partitioning: gives each node of a graph to the first provider that claims it, as ordered steps.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/provider.h"

namespace ortool::rt {

// One step of a graph's plan: a single node or a provider's fused group.
struct PartitionStep {
  std::vector<const ir::Node*> nodes;    // execution order; the step writes the last node's outputs
  const Provider* provider = nullptr;
  KernelFactory factory;                 // null: the provider's registry kernel for the single node
  std::vector<const ir::Value*> inputs;  // the group's external inputs (see Claim); null: absent
};

// Partitions the nodes of `g` (not those of its subgraphs) among `providers`, asked in order.
// Steps come in an order where every value is produced before it is read: a group runs where its
// last node stands in the topological order. A claim breaking Claim's rules is an internal error
// naming the provider and the node; a node nobody claims is an error too. `observed`: values of `g`
// the session watches; no group hides one (see GraphView). `inits`: see InitializerInputs.
Result<std::vector<PartitionStep>> partition_graph(const ir::Graph& g, const ir::Model& m,
                                                   std::span<const std::unique_ptr<Provider>> providers,
                                                   std::span<const ir::Value* const> observed = {},
                                                   InitializerInputs inits = InitializerInputs::MayBeFed);

// A session's providers: the named ones in priority order, then "cpu" when the list lacks it, so
// every node has a taker. Unknown or repeated names are errors listing the available providers.
Result<std::vector<std::unique_ptr<Provider>>> make_providers(const std::vector<std::string>& names,
                                                              const ProviderOptions& options = {});

// The external inputs of a group, in the order Claim describes.
std::vector<const ir::Value*> group_inputs(std::span<const ir::Node* const> nodes);

}  // namespace ortool::rt
