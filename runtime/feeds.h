// Building model inputs: from files (--input NAME=FILE), an ONNX test-data folder, or seeded random data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "lib/graph.h"
#include "lib/input_shapes.h"
#include "runtime/value.h"

namespace ortool::rt {

using Feeds = std::map<std::string, RValue>;

// The graph inputs a caller must feed: inputs that are not backed by an initializer.
std::vector<const ir::Value*> required_inputs(const ir::Graph& g);

// Reads a .npy or .pb (TensorProto/SequenceProto/OptionalProto, by the input's declared type) file.
Result<RValue> read_input_file(const std::filesystem::path& path, const ir::Value& input);

// An ONNX test-data folder: input_K.pb (or NAME.npy) files. A .pb whose tensor name matches a graph
// input goes there; otherwise by position among the required inputs.
Result<Feeds> read_input_dir(const ir::Graph& g, const std::filesystem::path& dir);

// Seeded random inputs following the declared types; `shapes` fixes dims per input name and
// `dims` binds symbolic dims by name; remaining unknown dims are 1 (lib/input_shapes.h's
// concrete_input_dims, which also names them).
Result<Feeds> random_inputs(const ir::Graph& g, uint64_t seed, const std::map<std::string, std::vector<int64_t>>& shapes,
                            const std::map<std::string, int64_t>& dims);

// Parses "NAME=d0,d1,..." into (name, dims); lives in lib/input_shapes.h.
using ortool::parse_shape_arg;

}  // namespace ortool::rt
