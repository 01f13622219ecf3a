// Printing `compare --layerwise` (runtime/layerwise_compare.h): the per-tensor table in graph order, the
// first divergent node, the lowest-SQNR layers, and the JSON form.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/layerwise_compare.h"

namespace ortool::cli {

// How many of the lowest-SQNR layers the summary names.
inline constexpr size_t kLowestSqnrShown = 5;

void print_layerwise(const rt::LayerwiseResult& result);
// {"layers": [{name, tensor_b, node, op_type, dequantized, <output_accuracy_json fields>}],
//  "first_divergent": {node, op_type, output} or null, "lowest_sqnr": [{node, op_type, output, sqnr_db}]}
nlohmann::json layerwise_json(const rt::LayerwiseResult& result);

}  // namespace ortool::cli
