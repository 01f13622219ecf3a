// What a run was fed: each input's shape as used, where it came from, and which symbolic dims ortool
// had to pick itself (no silent defaults: run, bench and optimize's check print this).
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/graph.h"
#include "lib/input_shapes.h"
#include "runtime/feeds.h"

namespace ortool::cli {

struct FedInput {
  std::string name;
  std::string type;                    // "float32[1,3,32,32]"
  std::string source;                  // "random" or "file"
  std::vector<std::string> defaulted;  // symbolic dims set to 1 for lack of a --shape
};

// From the feeds a run used (`random` names the inputs made up by --random).
std::vector<FedInput> describe_feeds(const ir::Graph& g, const ShapeBindings& shapes, const rt::Feeds& feeds,
                                     const std::set<std::string>& random);
// The random inputs rt::random_inputs makes for `g` (optimize's check), without making them.
std::vector<FedInput> describe_random_inputs(const ir::Graph& g, const ShapeBindings& shapes);

nlohmann::json inputs_json(const std::vector<FedInput>& inputs);
// "x float32[1,3,32,32] (random), mask bool[1,32] (file)".
std::string inputs_text(const std::vector<FedInput>& inputs);
// "" when nothing was defaulted, else one sentence naming the dims and pointing to --shape.
std::string defaulted_hint(const std::vector<FedInput>& inputs);
// `st` with the hint appended: a run that failed on made-up dims says so on its one error line.
Status with_defaulted_hint(const Status& st, const std::vector<FedInput>& inputs);

}  // namespace ortool::cli
