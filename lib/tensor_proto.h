// Serialized onnx TensorProto <-> Tensor, and .pb tensor files (sequences/optionals: lib/value_proto.h).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "lib/external_data.h"
#include "lib/status.h"
#include "lib/tensor.h"

namespace ortool {

// Parses a serialized TensorProto. Every size is checked before allocating (data_type 1..16, dims,
// raw_data length, typed field counts). External data needs `ctx` (null: refused).
Result<Tensor> tensor_from_proto_bytes(std::string_view bytes, const ExternalDataContext* ctx = nullptr);
// Serializes with raw_data (strings in string_data), keeping name and doc_string.
std::string tensor_to_proto_bytes(const Tensor& t);

// A `.pb` file holding one serialized TensorProto (the ONNX test data format). External data is
// read relative to the file's folder.
Result<Tensor> read_tensor_pb(const std::filesystem::path& path);
Status write_tensor_pb(const Tensor& t, const std::filesystem::path& path);

}  // namespace ortool
