// Reading and writing runtime values as ONNX test-data files: TensorProto, SequenceProto, OptionalProto.
#pragma once

#include <filesystem>
#include <string>

#include "lib/rvalue.h"
#include "lib/status.h"
#include "lib/type.h"

namespace ortool {

struct NamedValue {
  std::string name;  // the proto's name field (may be empty)
  RValue value;
};

// Parses a .pb file. `expected` (the graph input's type) decides between TensorProto,
// SequenceProto and OptionalProto; Kind::None means "a tensor".
Result<NamedValue> read_value_pb(const std::filesystem::path& path, const Type& expected);
Result<NamedValue> parse_value_pb(std::string_view bytes, const Type& expected, std::string_view what);

// Writes `v` named `name` as the proto kind `declared` calls for (optional outputs as OptionalProto).
Status write_value_pb(const RValue& v, const std::string& name, const Type& declared,
                      const std::filesystem::path& path);

}  // namespace ortool
