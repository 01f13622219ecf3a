// What providers ask of a graph when they claim nodes: values fixed for the session, static shapes.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/graph.h"

namespace ortool::rt {

// The value `v` has in every run, or null: a session constant, possibly through Identity nodes
// (some exporters route every weight through one), or a Constant node's tensor `value` (how
// exporters often write Clip's bounds). The nodes on the way still run; a kernel just does not
// wait for them.
TensorPtr fixed_tensor(const ir::Value* v);

// The value's dims when the graph fixes all of them (every dim a positive number), else empty.
std::vector<int64_t> static_dims(const ir::Value& v);

}  // namespace ortool::rt
