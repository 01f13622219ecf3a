// PRIVATE to lib/*.cpp: conversions between onnx protobuf messages and the IR. Never include
// this from a header or from another folder: protobuf types stay inside lib/'s import and export.
#pragma once

#include <google/protobuf/io/zero_copy_stream.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <string_view>

#include "lib/external_data.h"
#include "lib/graph.h"
#include "lib/onnx_import.h"
#include "lib/status.h"
#include "lib/tensor.h"
#include "lib/type.h"

namespace ortool::proto {

// "tensor 'w'" or "unnamed tensor", for messages.
std::string tensor_label(std::string_view name);

// TensorProto -> Tensor with every size check done before allocating. External data needs `ctx`
// (null: refused). With `steal`, raw_data is moved out of `tp` instead of copied.
Result<Tensor> tensor_from_proto(onnx::TensorProto& tp, const ExternalDataContext* ctx, bool steal);
Result<Tensor> tensor_from_proto(const onnx::TensorProto& tp, const ExternalDataContext* ctx);
// Tensor -> TensorProto: always raw_data (strings in string_data); name and doc_string kept.
void tensor_to_proto(const Tensor& t, onnx::TensorProto* out);

// TypeProto -> Type, lossless: anything the IR cannot represent exactly becomes Kind::Opaque
// holding the serialized TypeProto.
Type type_from_proto(const onnx::TypeProto& tp);
void type_to_proto(const Type& t, onnx::TypeProto* out);

// Unknown protobuf fields of one message as bytes, and back.
std::string unknown_fields_of(const google::protobuf::Message& m);
void restore_unknown_fields(const std::string& bytes, google::protobuf::Message* m);

// Where and how save_model puts large tensors; null in model_to_proto means "all inline".
struct ExternalWritePlan {
  std::string location;         // relative to the model's folder
  size_t threshold = 1024;      // tensors of at least this many bytes go out
  ExternalDataLayout layout;    // filled by model_to_proto
};

// ir::Model -> ModelProto. Nodes in file order while the graph is unedited, else in list order.
Status model_to_proto(const ir::Model& m, onnx::ModelProto* out, ExternalWritePlan* external);

// Parses a serialized ModelProto with protobuf's 2 GiB and nesting limits; errors name `source`.
Status parse_model_proto(std::string_view bytes, onnx::ModelProto* out, std::string_view source,
                         int recursion_limit);
// Same from a stream (a file read in chunks: no whole-file copy in memory).
Status parse_model_proto(google::protobuf::io::ZeroCopyInputStream* input, onnx::ModelProto* out,
                         std::string_view source, int recursion_limit);
// The protobuf nesting limit that lets `max_subgraph_depth` levels of subgraphs through.
int model_recursion_limit(int max_subgraph_depth);

// Imports a parsed ModelProto; raw_data strings are moved out of `mp` into the tensors.
Result<std::unique_ptr<ir::Model>> import_parsed_model(onnx::ModelProto& mp, const ImportOptions& options);

}  // namespace ortool::proto
