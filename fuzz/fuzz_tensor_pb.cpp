// Fuzz target: .pb test-data files -> values: TensorProto (lib/tensor_proto.h), and SequenceProto and
// OptionalProto as an input of those types reads them (lib/value_proto.h). A tensor read must write and
// read back to the same type, dims and bytes.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz/fuzz_util.h"
#include "lib/tensor_proto.h"
#include "lib/value_proto.h"

using namespace ortool;

namespace {

void check_round_trip(const Tensor& t) {
  std::string bytes = tensor_to_proto_bytes(t);
  auto back = tensor_from_proto_bytes(bytes);
  bool same = back.is_ok() && back->dtype() == t.dtype() && back->dims() == t.dims();
  if (same && !t.is_string() && t.nbytes() > 0) same = back->nbytes() == t.nbytes() && std::memcmp(back->raw(), t.raw(), t.nbytes()) == 0;
  if (!same) {
    std::fprintf(stderr, "tensor_to_proto_bytes output does not read back the same: %s\n",
                 back.is_ok() ? "type, dims or bytes differ" : back.status().message().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::as_view(data, size);
  if (auto t = tensor_from_proto_bytes(bytes); t.is_ok()) check_round_trip(*t);
  static const Type tensor = Type::tensor(DType::Float);
  static const Type sequence = [] {
    Type t;
    t.kind = Type::Kind::Sequence;
    t.inner = std::make_shared<Type>(Type::tensor(DType::Float));
    return t;
  }();
  static const Type optional_tensor = [] {
    Type t;
    t.kind = Type::Kind::Optional;
    t.inner = std::make_shared<Type>(Type::tensor(DType::Int64));
    return t;
  }();
  static const Type optional_sequence = [] {
    Type t;
    t.kind = Type::Kind::Optional;
    t.inner = std::make_shared<Type>(sequence);
    return t;
  }();
  for (const Type* expected : {&tensor, &sequence, &optional_tensor, &optional_sequence}) {
    auto v = parse_value_pb(bytes, *expected, "fuzz.pb");
    if (!v.is_ok()) continue;
    if (v->value.is_tensor()) check_round_trip(v->value.tensor);
    for (const Tensor& t : v->value.sequence) check_round_trip(t);
  }
  return 0;
}
