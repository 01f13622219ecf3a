// Dims, shapes and value types: printing and comparison.
#include "lib/type.h"

#include <fmt/format.h>

namespace ortool {

std::string Dim::to_string() const {
  switch (kind) {
    case Kind::Value: return std::to_string(value);
    case Kind::Param: return param;
    default: return "?";
  }
}

std::string shape_to_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += s[i].to_string();
  }
  return out + "]";
}

std::optional<std::vector<int64_t>> static_dims(const Shape& s) {
  std::vector<int64_t> d;
  d.reserve(s.size());
  for (const Dim& x : s) {
    if (!x.is_known()) return std::nullopt;
    d.push_back(x.value);
  }
  return d;
}

Shape shape_from_dims(const std::vector<int64_t>& dims) {
  Shape s;
  s.reserve(dims.size());
  for (int64_t d : dims) s.push_back(Dim::known(d));
  return s;
}

bool Type::operator==(const Type& o) const {
  if (kind != o.kind || elem != o.elem || shape != o.shape || denotation != o.denotation ||
      opaque_proto != o.opaque_proto)
    return false;
  if (!inner || !o.inner) return !inner && !o.inner;
  return *inner == *o.inner;
}

std::string Type::to_string() const {
  switch (kind) {
    case Kind::None: return "?";
    case Kind::Tensor:
    case Kind::SparseTensor: {
      std::string s = std::string(dtype_name(elem));
      s += shape ? shape_to_string(*shape) : "[...]";
      return kind == Kind::SparseTensor ? "sparse(" + s + ")" : s;
    }
    case Kind::Sequence: return "seq(" + (inner ? inner->to_string() : "?") + ")";
    case Kind::Optional: return "optional(" + (inner ? inner->to_string() : "?") + ")";
    case Kind::Map:
      return fmt::format("map({},{})", dtype_name(elem), inner ? inner->to_string() : "?");
    case Kind::Opaque: return "opaque";
  }
  return "?";
}

}  // namespace ortool
