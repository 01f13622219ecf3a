// Upper bounds on the element count a node would produce from constant inputs, before running it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "lib/graph.h"
#include "lib/tensor.h"

namespace ortool::passes {

// An upper bound on the total number of elements of `n`'s outputs when run on `inputs` (null for
// an absent optional input), computed from dims and values without running anything. nullopt for
// ops constant folding does not handle (unknown size, nondeterministic, subgraphs, quantization).
std::optional<uint64_t> fold_output_elements(const ir::Node& n, const std::vector<const Tensor*>& inputs);

}  // namespace ortool::passes
