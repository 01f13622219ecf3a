// TensorProto / SequenceProto / OptionalProto files <-> RValue, for --input-dir and --output-dir.
#include "lib/value_proto.h"

#include <onnx/onnx-data_pb.h>

#include "lib/file_util.h"
#include "lib/proto_convert.h"

namespace ortool {

namespace {

constexpr uint64_t kMaxValueFile = uint64_t{2} << 30;

Result<RValue> from_sequence(const onnx::SequenceProto& sp, std::string_view what) {
  if (sp.elem_type() != onnx::SequenceProto::TENSOR && sp.elem_type() != onnx::SequenceProto::UNDEFINED)
    return unsupported("{}: only sequences of tensors are supported (elem_type {})", what, sp.elem_type());
  std::vector<Tensor> items;
  DType elem = DType::Undefined;
  for (const auto& tp : sp.tensor_values()) {
    auto t = proto::tensor_from_proto(tp, nullptr);
    if (!t.is_ok()) return t.status().with_context(what);
    elem = t->dtype();
    items.push_back(std::move(t).value());
  }
  return RValue::seq(std::move(items), elem);
}

}  // namespace

Result<NamedValue> parse_value_pb(std::string_view bytes, const Type& expected, std::string_view what) {
  NamedValue out;
  const Type* t = &expected;
  if (t->kind == Type::Kind::Optional) {
    onnx::OptionalProto op;
    if (!op.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return invalid("{}: not a valid OptionalProto", what);
    out.name = op.name();
    if (op.has_tensor_value()) {
      auto x = proto::tensor_from_proto(op.tensor_value(), nullptr);
      if (!x.is_ok()) return x.status().with_context(what);
      out.value = RValue(std::move(x).value());
    } else if (op.has_sequence_value()) {
      ASSIGN_OR_RETURN(out.value, from_sequence(op.sequence_value(), what));
    }
    return out;
  }
  if (t->kind == Type::Kind::Sequence) {
    onnx::SequenceProto sp;
    if (!sp.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      return invalid("{}: not a valid SequenceProto", what);
    out.name = sp.name();
    ASSIGN_OR_RETURN(out.value, from_sequence(sp, what));
    if (out.value.sequence_elem == DType::Undefined && t->inner && t->inner->is_tensor())
      out.value.sequence_elem = t->inner->elem;
    return out;
  }
  onnx::TensorProto tp;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) || !tp.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return invalid("{}: not a valid TensorProto", what);
  out.name = tp.name();
  auto x = proto::tensor_from_proto(tp, nullptr);
  if (!x.is_ok()) return x.status().with_context(what);
  out.value = RValue(std::move(x).value());
  return out;
}

Result<NamedValue> read_value_pb(const std::filesystem::path& path, const Type& expected) {
  ASSIGN_OR_RETURN(std::string bytes, read_file(path, kMaxValueFile));
  return parse_value_pb(bytes, expected, path.string());
}

Status write_value_pb(const RValue& v, const std::string& name, const Type& declared,
                      const std::filesystem::path& path) {
  std::string bytes;
  auto fill_sequence = [&](onnx::SequenceProto* sp) {
    sp->set_elem_type(onnx::SequenceProto::TENSOR);
    for (const Tensor& t : v.sequence) proto::tensor_to_proto(t, sp->add_tensor_values());
  };
  if (declared.kind == Type::Kind::Optional) {
    onnx::OptionalProto op;
    op.set_name(name);
    if (v.is_tensor()) {
      op.set_elem_type(onnx::OptionalProto::TENSOR);
      proto::tensor_to_proto(v.tensor, op.mutable_tensor_value());
      op.mutable_tensor_value()->clear_name();
    } else if (v.is_sequence()) {
      op.set_elem_type(onnx::OptionalProto::SEQUENCE);
      op.mutable_sequence_value()->set_name(name);
      fill_sequence(op.mutable_sequence_value());
    }
    bytes = op.SerializeAsString();
  } else if (v.is_sequence()) {
    onnx::SequenceProto sp;
    sp.set_name(name);
    fill_sequence(&sp);
    bytes = sp.SerializeAsString();
  } else if (v.is_tensor()) {
    onnx::TensorProto tp;
    proto::tensor_to_proto(v.tensor, &tp);
    tp.set_name(name);
    bytes = tp.SerializeAsString();
  } else {
    return invalid("output '{}' has no value", name);
  }
  return write_file_atomic(path, bytes);
}

}  // namespace ortool
