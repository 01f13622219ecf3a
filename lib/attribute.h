// Node attributes of every ONNX kind; graph attributes own their subgraph.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lib/tensor.h"

namespace ortool::ir {

class Graph;

// Numbered as ONNX's AttributeProto.AttributeType.
enum class AttrType : int32_t {
  Undefined = 0,
  Float = 1,
  Int = 2,
  String = 3,
  Tensor = 4,
  Graph = 5,
  Floats = 6,
  Ints = 7,
  Strings = 8,
  Tensors = 9,
  Graphs = 10,
  SparseTensor = 11,
  SparseTensors = 12,
  TypeProto = 13,
  TypeProtos = 14,
};
std::string_view attr_type_name(AttrType t);

struct Attribute {
  std::string name;
  AttrType type = AttrType::Undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  TensorPtr t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<TensorPtr> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  // Kinds the IR does not interpret (sparse tensors, type protos), kept as serialized protos.
  std::vector<std::string> opaque;
  std::string ref_attr_name;  // set inside function bodies
  std::string doc_string;
  bool type_was_set = true;   // old models omit AttributeProto.type; keep that on export
  std::string unknown_fields;

  static Attribute make_int(std::string name, int64_t v);
  static Attribute make_float(std::string name, float v);
  static Attribute make_string(std::string name, std::string v);
  static Attribute make_ints(std::string name, std::vector<int64_t> v);
  static Attribute make_floats(std::string name, std::vector<float> v);
  static Attribute make_tensor(std::string name, TensorPtr v);
};

}  // namespace ortool::ir
