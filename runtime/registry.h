// Kernel registry: kernels keyed by (domain, op type, opset range, element types).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtime/kernel.h"

namespace ortool::rt {

struct KernelDef {
  std::string domain;  // "" for the default ONNX domain
  std::string op_type;
  int since_version = 1;
  int end_version = INT32_MAX;  // inclusive
  // Element types the kernel handles for its type-deciding input (see type_input); empty means any.
  std::vector<DType> types;
  int type_input = 0;           // which input decides the type (-1: first output's declared type)
  KernelFactory factory;
};

class KernelRegistry {
 public:
  void add(KernelDef def);
  // Convenience: any element type.
  void add(std::string domain, std::string op_type, int since, int end, KernelFactory f) {
    add(KernelDef{std::move(domain), std::move(op_type), since, end, {}, 0, std::move(f)});
  }
  // The kernel for this op at this opset and element type, or null. `dtype` Undefined matches any.
  const KernelDef* find(std::string_view domain, std::string_view op_type, int64_t opset, DType dtype) const;
  // True when any version of the op is registered (for "unsupported at this opset" messages).
  bool knows(std::string_view domain, std::string_view op_type) const;
  std::vector<std::string> op_names() const;  // sorted "domain:op"

 private:
  std::map<std::pair<std::string, std::string>, std::vector<KernelDef>> defs_;
};

}  // namespace ortool::rt
