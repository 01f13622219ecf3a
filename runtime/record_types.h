// Types from a run: the element type and shape each value of the main graph had, written into the IR.
//
// libonnx's shape inference stops at opset 17; a model of opset 18 or later (or one using ortool's
// own domain) can leave values untyped. One run on real feeds says what every value is, so callers
// such as quantize can tell float tensors from integer ones on any opset.
#pragma once

#include <cstddef>

#include "lib/graph.h"
#include "runtime/feeds.h"
#include "runtime/session.h"

namespace ortool::rt {

struct RecordTypesReport {
  size_t values_seen = 0;   // values of the main graph the run reported
  size_t values_typed = 0;  // values whose type was set or refined
};

// Runs `model` once on `feeds` (a session made with `options`, whose `observe` is replaced), watching
// every graph input and node output of the main graph, then completes the type of each value whose
// type is unknown or partly unknown: the kind (tensor, sequence), the element type, the rank, and
// each unknown dim. What the model declares is kept; a value declared fully is left alone, as are
// values the run left empty and values of subgraphs. A dim that was unknown becomes a graph input's
// symbol when its size is the size that symbol has in this run and tells it apart (no other symbol
// has that size, no graph input or initializer has a fixed dim of that size, and it is not 1);
// otherwise it becomes the number seen. Feed sizes no fixed dim has (e.g. batch 7) to keep symbols.
// Values it types are listed in Graph::value_info (graph outputs aside), as infer_shapes does.
// The session's errors (bad feeds, an unsupported op) come back as they are.
Result<RecordTypesReport> record_types(ir::Model& model, const Feeds& feeds, SessionOptions options = {});

}  // namespace ortool::rt
