// RValue: a runtime datum (a tensor, a sequence of tensors, or nothing/an empty optional).
#pragma once

#include <vector>

#include "lib/tensor.h"

namespace ortool {

struct RValue {
  enum class Kind { None, Tensor, Sequence };
  Kind kind = Kind::None;  // None: absent, or an empty optional
  Tensor tensor;
  std::vector<Tensor> sequence;
  DType sequence_elem = DType::Undefined;  // element type of an empty sequence

  RValue() = default;
  RValue(Tensor t) : kind(Kind::Tensor), tensor(std::move(t)) {}  // NOLINT: implicit on purpose
  static RValue seq(std::vector<Tensor> items, DType elem) {
    RValue v;
    v.kind = Kind::Sequence;
    v.sequence = std::move(items);
    v.sequence_elem = elem;
    return v;
  }
  bool is_tensor() const { return kind == Kind::Tensor; }
  bool is_sequence() const { return kind == Kind::Sequence; }
  bool is_none() const { return kind == Kind::None; }
};

}  // namespace ortool
