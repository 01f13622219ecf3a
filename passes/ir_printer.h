// A compact text dump of a graph for `--print-ir-after`: one line per node, `y = Op(a, b) {attrs}`.
#pragma once

#include <string>

#include "lib/graph.h"

namespace ortool::passes {

// Example:
//   graph main (x: float32[1,3,8,8]) -> (y)
//     init w: float32[4,3,3,3]
//     c = Conv(x, w, b) {kernel_shape=[3,3], pads=[1,1,1,1]}
//     y = Relu(c)
// Subgraphs are printed indented under their node; large tensors are summarized by type.
std::string print_graph(const ir::Graph& g, int indent = 0);

}  // namespace ortool::passes
