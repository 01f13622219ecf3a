// Serialized TensorProto <-> Tensor, and .pb tensor files.
#include "lib/tensor_proto.h"

#include <google/protobuf/io/coded_stream.h>

#include <climits>
#include <new>

#include "lib/file_util.h"
#include "lib/human_size.h"
#include "lib/proto_convert.h"

namespace ortool {

namespace {

template <typename Msg>
Status parse_message(std::string_view bytes, Msg* out, std::string_view what) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) return invalid("{} of {} is over protobuf's 2 GiB limit", what, human_bytes(bytes.size()));
  try {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                              static_cast<int>(bytes.size()));
    in.SetTotalBytesLimit(INT_MAX);
    if (!out->ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
      return invalid("not a valid {} (protobuf parse failed)", what);
  } catch (const std::bad_alloc&) {
    return resource_limit("out of memory while parsing a {}", what);
  }
  return Status::ok();
}

Result<Tensor> convert(onnx::TensorProto& tp, const ExternalDataContext* ctx) {
  try {
    return proto::tensor_from_proto(tp, ctx, /*steal=*/true);
  } catch (const std::bad_alloc&) {
    return resource_limit("{}: out of memory", proto::tensor_label(tp.name()));
  }
}

}  // namespace

Result<Tensor> tensor_from_proto_bytes(std::string_view bytes, const ExternalDataContext* ctx) {
  onnx::TensorProto tp;
  TRY(parse_message(bytes, &tp, "TensorProto"));
  return convert(tp, ctx);
}

std::string tensor_to_proto_bytes(const Tensor& t) {
  onnx::TensorProto tp;
  proto::tensor_to_proto(t, &tp);
  return tp.SerializeAsString();
}

Result<Tensor> read_tensor_pb(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::open(path));
  ExternalDataContext ctx(path.parent_path());
  auto t = tensor_from_proto_bytes(file->view(), &ctx);
  if (!t) return t.status().with_context(path.string());
  return t;
}

Status write_tensor_pb(const Tensor& t, const std::filesystem::path& path) {
  return write_file_atomic(path, tensor_to_proto_bytes(t));
}

}  // namespace ortool
