// onnx protobuf <-> IR pieces shared by import and export: tensors, types, unknown fields, parsing.
#include "lib/proto_convert.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>

#include <climits>
#include <cstring>
#include <mutex>
#include <new>

#include "lib/human_size.h"
#include "lib/int4.h"

namespace ortool::proto {

std::string tensor_label(std::string_view name) {
  return name.empty() ? std::string("unnamed tensor") : fmt::format("tensor '{}'", name);
}

namespace {

// Copies `src` (count == numel already checked) into the tensor's elements, converting each.
template <typename Dst, typename Src>
void copy_convert(const google::protobuf::RepeatedField<Src>& src, Tensor& t) {
  Dst* d = t.mutable_data<Dst>();
  for (int i = 0; i < src.size(); ++i) d[i] = static_cast<Dst>(src.Get(i));
}

template <typename Src>
void copy_bool(const google::protobuf::RepeatedField<Src>& src, Tensor& t) {
  auto* d = t.mutable_data<uint8_t>();
  for (int i = 0; i < src.size(); ++i) d[i] = src.Get(i) != 0 ? 1 : 0;
}

Status count_matches(std::string_view label, std::string_view field, int64_t got, int64_t want) {
  if (got != want)
    return invalid("{}: {} has {} values but the dims need {}", label, field, got, want);
  return Status::ok();
}

// An int4/uint4 tensor: packed bytes from external data, raw_data or int32_data (one packed byte per
// int32), unpacked to one element per byte.
Result<Tensor> tensor_4bit(const onnx::TensorProto& tp, DType dtype, std::vector<int64_t> dims, size_t numel,
                           const ExternalDataContext* ctx, std::string_view label) {
  const size_t packed_bytes = dtype_wire_bytes(dtype, numel);
  std::string packed;
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    if (!ctx) return invalid("{}: uses external data, which is not available here (no model folder)", label);
    std::vector<std::pair<std::string, std::string>> entries;
    for (const auto& e : tp.external_data()) entries.emplace_back(e.key(), e.value());
    ASSIGN_OR_RETURN(ExternalDataRef ref, parse_external_data(entries, tp.name()));
    ASSIGN_OR_RETURN(std::shared_ptr<Buffer> buf, ctx->load(ref, tp.name(), packed_bytes, 1));
    packed.assign(reinterpret_cast<const char*>(buf->data()), packed_bytes);
  } else if (tp.has_raw_data()) {
    if (tp.raw_data().size() != packed_bytes)
      return invalid("{}: raw_data has {} bytes but {} elements of {} need {} bytes (two per byte)", label,
                     tp.raw_data().size(), numel, dtype_name(dtype), packed_bytes);
    packed = tp.raw_data();
  } else {
    TRY(count_matches(label, "int32_data (packed bytes)", tp.int32_data_size(), static_cast<int64_t>(packed_bytes)));
    packed.resize(packed_bytes);
    for (size_t i = 0; i < packed_bytes; ++i) packed[i] = static_cast<char>(tp.int32_data(static_cast<int>(i)));
  }
  Tensor t(dtype, std::move(dims));
  unpack_4bit(reinterpret_cast<const uint8_t*>(packed.data()), numel, dtype == DType::Int4,
              t.mutable_data<uint8_t>());
  return t;
}

}  // namespace

Result<Tensor> tensor_from_proto(onnx::TensorProto& tp, const ExternalDataContext* ctx, bool steal) {
  const std::string label = tensor_label(tp.name());
  if (!dtype_is_known(tp.data_type())) return unsupported("{}: unsupported data_type {}", label, tp.data_type());
  auto dtype = static_cast<DType>(tp.data_type());
  std::vector<int64_t> dims(tp.dims().begin(), tp.dims().end());
  for (int64_t d : dims)
    if (d < 0) return invalid("{}: negative dimension {}", label, d);
  auto numel_r = checked_numel(dims);
  if (!numel_r) return invalid("{}: dims overflow: {}", label, numel_r.status().message());
  const int64_t numel = *numel_r;
  const size_t esize = dtype_size(dtype);
  if (dtype != DType::String && static_cast<uint64_t>(numel) > SIZE_MAX / esize)
    return invalid("{}: {} elements of {} do not fit in memory", label, numel, dtype_name(dtype));
  const size_t nbytes = dtype == DType::String ? 0 : static_cast<size_t>(numel) * esize;

  auto finish = [&](Tensor t) -> Result<Tensor> {
    t.name = tp.name();
    t.name_written = tp.has_name();
    t.doc_string = tp.doc_string();
    return t;
  };

  if (dtype_is_4bit(dtype)) {
    ASSIGN_OR_RETURN(Tensor t, tensor_4bit(tp, dtype, std::move(dims), static_cast<size_t>(numel), ctx, label));
    return finish(std::move(t));
  }

  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    if (dtype == DType::String) return invalid("{}: string tensors cannot use external data", label);
    if (!ctx) return invalid("{}: uses external data, which is not available here (no model folder)", label);
    std::vector<std::pair<std::string, std::string>> entries;
    for (const auto& e : tp.external_data()) entries.emplace_back(e.key(), e.value());
    ASSIGN_OR_RETURN(ExternalDataRef ref, parse_external_data(entries, tp.name()));
    ASSIGN_OR_RETURN(std::shared_ptr<Buffer> buf, ctx->load(ref, tp.name(), nbytes, esize));
    return finish(Tensor(dtype, std::move(dims), std::move(buf)));
  }

  if (tp.has_raw_data()) {
    if (dtype == DType::String) return invalid("{}: string tensors cannot use raw_data", label);
    if (tp.raw_data().size() != nbytes)
      return invalid("{}: raw_data has {} bytes but dims x element size is {} bytes", label, tp.raw_data().size(),
                     nbytes);
    // Taking the string keeps the bytes where protobuf put them (no copy). Small strings may live
    // inline in the string object (SSO), so the alignment is checked after the move.
    if (steal && nbytes >= 64) {
      auto owner = std::make_shared<std::string>(std::move(*tp.mutable_raw_data()));
      tp.clear_raw_data();
      auto* bytes = reinterpret_cast<std::byte*>(owner->data());
      if (reinterpret_cast<uintptr_t>(bytes) % std::min<size_t>(esize, 16) == 0)
        return finish(Tensor(dtype, std::move(dims), Buffer::view(std::move(owner), bytes, nbytes)));
      Tensor t(dtype, std::move(dims));
      std::memcpy(t.raw_mutable(), bytes, nbytes);
      return finish(std::move(t));
    }
    const char* p = tp.raw_data().data();
    Tensor t(dtype, std::move(dims));
    if (nbytes) std::memcpy(t.raw_mutable(), p, nbytes);
    return finish(std::move(t));
  }

  // Typed fields: the count must equal numel (twice numel for complex) before anything is allocated.
  Tensor t;
  switch (dtype) {
    case DType::Float:
      TRY(count_matches(label, "float_data", tp.float_data_size(), numel));
      t = Tensor(dtype, std::move(dims));
      copy_convert<float>(tp.float_data(), t);
      break;
    case DType::Complex64:
      TRY(count_matches(label, "float_data", tp.float_data_size(), numel * 2));
      t = Tensor(dtype, std::move(dims));
      copy_convert<float>(tp.float_data(), t);
      break;
    case DType::Double:
      TRY(count_matches(label, "double_data", tp.double_data_size(), numel));
      t = Tensor(dtype, std::move(dims));
      copy_convert<double>(tp.double_data(), t);
      break;
    case DType::Complex128:
      TRY(count_matches(label, "double_data", tp.double_data_size(), numel * 2));
      t = Tensor(dtype, std::move(dims));
      copy_convert<double>(tp.double_data(), t);
      break;
    case DType::Int32:
      TRY(count_matches(label, "int32_data", tp.int32_data_size(), numel));
      t = Tensor(dtype, std::move(dims));
      copy_convert<int32_t>(tp.int32_data(), t);
      break;
    case DType::Int8:
    case DType::UInt8:
    case DType::Int16:
    case DType::UInt16:
    case DType::Float16:
    case DType::BFloat16:
    case DType::Bool:
    case DType::Float8E4M3FN:
    case DType::Float8E4M3FNUZ:
    case DType::Float8E5M2:
    case DType::Float8E5M2FNUZ:
      TRY(count_matches(label, "int32_data", tp.int32_data_size(), numel));
      t = Tensor(dtype, std::move(dims));
      // Narrow types travel as int32 holding the value (or, for the 16- and 8-bit floats, the bits).
      if (dtype == DType::Bool) copy_bool(tp.int32_data(), t);
      else if (esize == 1) copy_convert<uint8_t>(tp.int32_data(), t);
      else copy_convert<uint16_t>(tp.int32_data(), t);
      break;
    case DType::Int64:
      TRY(count_matches(label, "int64_data", tp.int64_data_size(), numel));
      t = Tensor(dtype, std::move(dims));
      copy_convert<int64_t>(tp.int64_data(), t);
      break;
    case DType::UInt32:
      TRY(count_matches(label, "uint64_data", tp.uint64_data_size(), numel));
      t = Tensor(dtype, std::move(dims));
      copy_convert<uint32_t>(tp.uint64_data(), t);
      break;
    case DType::UInt64:
      TRY(count_matches(label, "uint64_data", tp.uint64_data_size(), numel));
      t = Tensor(dtype, std::move(dims));
      copy_convert<uint64_t>(tp.uint64_data(), t);
      break;
    case DType::String: {
      TRY(count_matches(label, "string_data", tp.string_data_size(), numel));
      t = Tensor(dtype, std::move(dims));
      auto& s = t.mutable_strings();
      s.assign(tp.string_data().begin(), tp.string_data().end());
      break;
    }
    default:
      return unsupported("{}: unsupported data_type {}", label, tp.data_type());
  }
  return finish(std::move(t));
}

Result<Tensor> tensor_from_proto(const onnx::TensorProto& tp, const ExternalDataContext* ctx) {
  return tensor_from_proto(const_cast<onnx::TensorProto&>(tp), ctx, /*steal=*/false);
}

void tensor_to_proto(const Tensor& t, onnx::TensorProto* out) {
  for (int64_t d : t.dims()) out->add_dims(d);
  out->set_data_type(static_cast<int32_t>(t.dtype()));
  if (t.name_written || !t.name.empty()) out->set_name(t.name);
  if (!t.doc_string.empty()) out->set_doc_string(t.doc_string);
  if (t.is_string()) {
    for (const std::string& s : t.strings()) out->add_string_data(s);
  } else if (dtype_is_4bit(t.dtype())) {
    std::string* raw = out->mutable_raw_data();
    raw->resize(dtype_wire_bytes(t.dtype(), static_cast<size_t>(t.numel())));
    pack_4bit(t.data<uint8_t>(), static_cast<size_t>(t.numel()), reinterpret_cast<uint8_t*>(raw->data()));
  } else if (t.dtype() != DType::Undefined) {
    // assign() into the field copies once; set_raw_data(ptr, n) builds a temporary string first.
    std::string* raw = out->mutable_raw_data();
    if (t.nbytes() > 0) raw->assign(static_cast<const char*>(t.raw()), t.nbytes());
  }
}

// ---------------------------------------------------------------- types

namespace {

Shape shape_from_proto(const onnx::TensorShapeProto& sp) {
  Shape s;
  s.reserve(static_cast<size_t>(sp.dim_size()));
  for (const auto& d : sp.dim()) {
    Dim dim;
    if (d.has_dim_value()) dim = Dim::known(d.dim_value());
    else if (d.has_dim_param()) dim = Dim::symbol(d.dim_param());
    dim.denotation = d.denotation();
    s.push_back(std::move(dim));
  }
  return s;
}

void shape_to_proto(const Shape& s, onnx::TensorShapeProto* out) {
  for (const Dim& d : s) {
    auto* pd = out->add_dim();
    if (d.kind == Dim::Kind::Value) pd->set_dim_value(d.value);
    else if (d.kind == Dim::Kind::Param) pd->set_dim_param(d.param);
    if (!d.denotation.empty()) pd->set_denotation(d.denotation);
  }
}

// Converts what the IR models; sets `exact` false where it cannot (the caller then keeps bytes).
Type convert_type(const onnx::TypeProto& tp, bool& exact) {
  Type t;
  t.denotation = tp.denotation();
  auto elem = [&](int32_t e) {
    if (e != 0 && !dtype_is_known(e)) exact = false;
    return static_cast<DType>(e);
  };
  switch (tp.value_case()) {
    case onnx::TypeProto::kTensorType:
      t.kind = Type::Kind::Tensor;
      t.elem = elem(tp.tensor_type().elem_type());
      if (tp.tensor_type().has_shape()) t.shape = shape_from_proto(tp.tensor_type().shape());
      break;
    case onnx::TypeProto::kSparseTensorType:
      t.kind = Type::Kind::SparseTensor;
      t.elem = elem(tp.sparse_tensor_type().elem_type());
      if (tp.sparse_tensor_type().has_shape()) t.shape = shape_from_proto(tp.sparse_tensor_type().shape());
      break;
    case onnx::TypeProto::kSequenceType:
      t.kind = Type::Kind::Sequence;
      if (tp.sequence_type().has_elem_type())
        t.inner = std::make_shared<Type>(convert_type(tp.sequence_type().elem_type(), exact));
      break;
    case onnx::TypeProto::kOptionalType:
      t.kind = Type::Kind::Optional;
      if (tp.optional_type().has_elem_type())
        t.inner = std::make_shared<Type>(convert_type(tp.optional_type().elem_type(), exact));
      break;
    case onnx::TypeProto::kMapType:
      t.kind = Type::Kind::Map;
      t.elem = elem(tp.map_type().key_type());
      if (tp.map_type().has_value_type())
        t.inner = std::make_shared<Type>(convert_type(tp.map_type().value_type(), exact));
      break;
    default:
      exact = false;  // opaque_type, or no kind at all
      break;
  }
  return t;
}

}  // namespace

Type type_from_proto(const onnx::TypeProto& tp) {
  bool exact = true;
  Type t = convert_type(tp, exact);
  if (exact) {
    // Field presence (explicit defaults, unknown fields) can still differ: compare the bytes.
    onnx::TypeProto back;
    type_to_proto(t, &back);
    exact = back.SerializeAsString() == tp.SerializeAsString();
  }
  if (exact) return t;
  Type o;
  o.kind = Type::Kind::Opaque;
  o.opaque_proto = tp.SerializeAsString();
  return o;
}

void type_to_proto(const Type& t, onnx::TypeProto* out) {
  if (t.kind == Type::Kind::Opaque) {
    out->ParseFromString(t.opaque_proto);
    return;
  }
  switch (t.kind) {
    case Type::Kind::Tensor: {
      auto* tt = out->mutable_tensor_type();
      if (t.elem != DType::Undefined) tt->set_elem_type(static_cast<int32_t>(t.elem));
      if (t.shape) shape_to_proto(*t.shape, tt->mutable_shape());
      break;
    }
    case Type::Kind::SparseTensor: {
      auto* tt = out->mutable_sparse_tensor_type();
      if (t.elem != DType::Undefined) tt->set_elem_type(static_cast<int32_t>(t.elem));
      if (t.shape) shape_to_proto(*t.shape, tt->mutable_shape());
      break;
    }
    case Type::Kind::Sequence: {
      auto* st = out->mutable_sequence_type();
      if (t.inner) type_to_proto(*t.inner, st->mutable_elem_type());
      break;
    }
    case Type::Kind::Optional: {
      auto* ot = out->mutable_optional_type();
      if (t.inner) type_to_proto(*t.inner, ot->mutable_elem_type());
      break;
    }
    case Type::Kind::Map: {
      auto* mt = out->mutable_map_type();
      if (t.elem != DType::Undefined) mt->set_key_type(static_cast<int32_t>(t.elem));
      if (t.inner) type_to_proto(*t.inner, mt->mutable_value_type());
      break;
    }
    default:
      break;
  }
  if (!t.denotation.empty()) out->set_denotation(t.denotation);
}

// ---------------------------------------------------------------- unknown fields

std::string unknown_fields_of(const google::protobuf::Message& m) {
  const auto& set = m.GetReflection()->GetUnknownFields(m);
  if (set.empty()) return {};
  std::string out;
  set.SerializeToString(&out);
  return out;
}

void restore_unknown_fields(const std::string& bytes, google::protobuf::Message* m) {
  if (bytes.empty()) return;
  m->GetReflection()->MutableUnknownFields(m)->ParseFromString(bytes);
}

// ---------------------------------------------------------------- parsing

namespace {
// protobuf logs some parse problems to stderr; ortool reports one line of its own instead.
void silent_log_handler(google::protobuf::LogLevel, const char*, int, const std::string&) {}
}  // namespace

Status parse_model_proto(google::protobuf::io::ZeroCopyInputStream* input, onnx::ModelProto* out,
                         std::string_view source, int recursion_limit) {
  static std::once_flag once;
  std::call_once(once, [] { google::protobuf::SetLogHandler(&silent_log_handler); });
  try {
    google::protobuf::io::CodedInputStream in(input);
    in.SetTotalBytesLimit(INT_MAX);
    in.SetRecursionLimit(recursion_limit);
    if (!out->ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
      return invalid("{}: not a valid ONNX model (protobuf parse failed: corrupt, truncated, or nested "
                     "deeper than {} messages)",
                     source, recursion_limit);
  } catch (const std::bad_alloc&) {
    return resource_limit("{}: out of memory while parsing the model", source);
  } catch (const std::exception& e) {
    return invalid("{}: not a valid ONNX model ({})", source, e.what());
  }
  return Status::ok();
}

Status parse_model_proto(std::string_view bytes, onnx::ModelProto* out, std::string_view source,
                         int recursion_limit) {
  if (bytes.empty()) return invalid("{}: empty file", source);
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    return invalid("{}: {} is over protobuf's 2 GiB limit for one model file (large models keep "
                   "their weights in external data)",
                   source, human_bytes(bytes.size()));
  google::protobuf::io::ArrayInputStream in(bytes.data(), static_cast<int>(bytes.size()));
  return parse_model_proto(&in, out, source, recursion_limit);
}

}  // namespace ortool::proto
