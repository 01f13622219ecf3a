// The --shape option's model side: parsing NAME=DIMS, checking it against the model's inputs, binding
// the dims in a model, and the concrete shape an input gets when ortool makes data for it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lib/graph.h"
#include "lib/status.h"

namespace ortool {

// --shape values resolved against a model: fixed dims per graph input, values per symbolic dim.
struct ShapeBindings {
  std::map<std::string, std::vector<int64_t>> input_shapes;
  std::map<std::string, int64_t> dim_bindings;
  // With allow_unknown: the error each argument that names nothing in this model would have been.
  std::vector<std::string> unmatched;
};

// Parses "NAME=d0,d1,..." into (name, dims); a dim is a number >= 0.
Result<std::pair<std::string, std::vector<int64_t>>> parse_shape_arg(const std::string& arg);

// Resolves --shape arguments against the main graph's inputs. NAME is an input to feed (NAME=d0,d1,...,
// of the input's rank, agreeing with the dims the model fixes) or a symbolic dim of an input
// (SYMBOL=n). Anything else is an error naming what the model has: a --shape that binds nothing is
// a mistake, never silently ignored. Dims of a fixed input bind its symbols too; two values for one
// symbol are an error. `allow_unknown` records unknown names in `unmatched` instead (the second model
// of a comparison may lack a dim the first has; the caller decides).
Result<ShapeBindings> resolve_shape_args(const ir::Graph& g, const std::vector<std::string>& args,
                                         bool allow_unknown = false);

// Fixes input dims and binds symbolic dims in the main graph's value types (and the subgraphs').
// Errors name the input: unknown name, wrong rank, a dim the model fixes to another value.
Status apply_input_shapes(ir::Model& model, const std::map<std::string, std::vector<int64_t>>& input_shapes,
                          const std::map<std::string, int64_t>& dim_bindings, bool* changed = nullptr);

// The dims data made for `input` gets: its --shape, else its declared dims with symbols bound;
// every dim left open becomes 1 and is named in `defaulted` (the symbol, or "NAME[i]" for an unnamed
// dim; "NAME: rank unknown" when the model gives no shape, which makes a scalar).
std::vector<int64_t> concrete_input_dims(const ir::Value& input, const ShapeBindings& bindings,
                                         std::vector<std::string>* defaulted = nullptr);

}  // namespace ortool
