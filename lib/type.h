// Value types as ONNX's TypeProto: tensors with symbolic shapes, sequences, optionals, maps.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/dtype.h"

namespace ortool {

// One dimension: a known number, a named symbol, or unknown.
struct Dim {
  enum class Kind { Unknown, Value, Param };
  Kind kind = Kind::Unknown;
  int64_t value = 0;
  std::string param;
  std::string denotation;

  static Dim known(int64_t v) { return {Kind::Value, v, {}, {}}; }
  static Dim symbol(std::string s) { return {Kind::Param, 0, std::move(s), {}}; }
  bool is_known() const { return kind == Kind::Value; }
  bool operator==(const Dim& o) const = default;
  std::string to_string() const;  // "3", "batch", "?"
};

using Shape = std::vector<Dim>;
std::string shape_to_string(const Shape& s);  // "[1,3,batch,?]"
// Known dims as numbers, or nullopt when any dim is not a number.
std::optional<std::vector<int64_t>> static_dims(const Shape& s);
Shape shape_from_dims(const std::vector<int64_t>& dims);

struct Type {
  enum class Kind { None, Tensor, SparseTensor, Sequence, Optional, Map, Opaque };
  Kind kind = Kind::None;
  DType elem = DType::Undefined;        // Tensor, SparseTensor; Map key type
  std::optional<Shape> shape;           // Tensor, SparseTensor: nullopt when the rank is unknown
  std::shared_ptr<Type> inner;          // Sequence / Optional element; Map value
  std::string denotation;
  std::string opaque_proto;             // Opaque: a TypeProto kind the IR does not model, kept as bytes

  static Type tensor(DType e, std::optional<Shape> s = std::nullopt) {
    Type t;
    t.kind = Kind::Tensor;
    t.elem = e;
    t.shape = std::move(s);
    return t;
  }
  bool is_tensor() const { return kind == Kind::Tensor; }
  bool operator==(const Type& o) const;
  std::string to_string() const;  // "float32[1,3,224,224]", "seq(int64[?])"
};

}  // namespace ortool
