// The graph IR: a Graph owns its Nodes and Values and keeps producer/use links in sync.
//
// Edits go through Graph's functions; nobody touches use lists by hand. Example, removing an
// Identity node `y = Identity(x)` whose output is not a graph output:
//     g.replace_all_uses(id->output(0), id->input(0));   // consumers of y now read x
//     g.remove_node(id);                                  // y had no uses left; it is dropped
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/attribute.h"
#include "lib/status.h"
#include "lib/tensor.h"
#include "lib/type.h"

namespace ortool {
// The private domain of ops only ortool's runtime runs (in-memory fusions for `bench`; never written).
inline constexpr std::string_view kRuntimeDomain = "ortool";
}  // namespace ortool

namespace ortool::ir {

class Node;
class Graph;

// A node input slot that reads a value.
struct Use {
  Node* node = nullptr;
  int index = 0;
  bool operator==(const Use&) const = default;
};

// A named SSA value: a graph input, an initializer (constant), or a node output.
class Value {
 public:
  const std::string& name() const { return name_; }
  Graph* graph() const { return graph_; }
  Node* producer() const { return producer_; }
  int producer_index() const { return producer_index_; }
  const std::vector<Use>& uses() const { return uses_; }
  bool has_uses() const { return !uses_.empty(); }

  // Initializer payload (also set for values folded to constants); null otherwise.
  const TensorPtr& constant() const { return constant_; }
  bool is_constant() const { return constant_ != nullptr; }
  bool is_graph_input() const { return graph_input_; }
  bool is_graph_output() const { return graph_output_count_ > 0; }

  Type type;                 // Kind::None when unknown
  std::string doc_string;    // ValueInfoProto.doc_string
  std::string info_unknown_fields;

 private:
  friend class Graph;
  std::string name_;
  Graph* graph_ = nullptr;
  Node* producer_ = nullptr;
  int producer_index_ = -1;
  std::vector<Use> uses_;
  TensorPtr constant_;
  bool graph_input_ = false;
  int graph_output_count_ = 0;
  std::list<std::unique_ptr<Value>>::iterator self_;
};

class Node {
 public:
  const std::string& op_type() const { return op_type_; }
  const std::string& domain() const { return domain_; }  // "" is the default ONNX domain
  Graph* graph() const { return graph_; }

  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  // Null when the slot is beyond the list or an omitted optional ("").
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  bool has_input(size_t i) const { return input(i) != nullptr; }

  std::vector<Attribute>& attributes() { return attributes_; }
  const std::vector<Attribute>& attributes() const { return attributes_; }
  const Attribute* attr(std::string_view name) const;
  Attribute* attr(std::string_view name);
  bool has_attr(std::string_view name) const { return attr(name) != nullptr; }
  int64_t attr_int(std::string_view name, int64_t fallback) const;
  float attr_float(std::string_view name, float fallback) const;
  std::string attr_string(std::string_view name, std::string fallback = {}) const;
  std::vector<int64_t> attr_ints(std::string_view name, std::vector<int64_t> fallback = {}) const;
  std::vector<float> attr_floats(std::string_view name, std::vector<float> fallback = {}) const;
  void set_attr(Attribute a);  // replaces an attribute of the same name
  bool remove_attr(std::string_view name);
  // Subgraphs held by this node's graph attributes, in attribute order.
  std::vector<Graph*> subgraphs() const;

  // "node 'conv1' (Conv)", or "Conv node producing 'y'" when unnamed, for messages.
  std::string describe() const;

  std::string name;
  std::string doc_string;
  std::string unknown_fields;
  // proto2 presence of empty `name` / `domain` fields, so export writes them back the same way.
  bool name_written = false;
  bool domain_written = false;

 private:
  friend class Graph;
  std::string op_type_;
  std::string domain_;
  Graph* graph_ = nullptr;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::vector<Attribute> attributes_;
  std::list<std::unique_ptr<Node>>::iterator self_;
};

class Graph {
 public:
  // `owner` is the node whose attribute holds this graph (null for the main graph).
  explicit Graph(Graph* parent = nullptr, Node* owner = nullptr);
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  Graph* parent() const { return parent_; }
  Node* owner() const { return owner_; }
  void set_parent(Graph* parent, Node* owner) { parent_ = parent; owner_ = owner; }
  int depth() const;  // 0 for the main graph

  // --- values ---
  // New value; an empty or taken name is made unique.
  Value* add_value(std::string_view name);
  // This graph's value of that name, or null.
  Value* find_value(std::string_view name) const;
  // This graph's or an enclosing graph's value of that name, or null.
  Value* lookup(std::string_view name) const;
  // A name used by no value of this graph or its enclosing graphs, derived from `hint`.
  std::string unique_name(std::string_view hint) const;
  bool rename_value(Value* v, std::string_view new_name);  // false if the name is taken
  // Makes `v` an initializer (or a folded constant) holding `t`; null `t` clears it.
  void set_constant(Value* v, TensorPtr t);
  Value* add_initializer(std::string_view name, TensorPtr t);
  // Removes a value that has no producer, no uses and is not a graph input or output.
  void remove_value(Value* v);
  // Every value, in creation order.
  std::vector<Value*> values() const;
  // Initializers in file order (values with a constant that are listed as initializers).
  const std::vector<Value*>& initializers() const { return initializers_; }
  size_t num_values() const { return values_.size(); }

  // --- graph inputs and outputs ---
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  void add_input(Value* v);
  void remove_input(Value* v);
  void add_output(Value* v);
  void set_output(size_t i, Value* v);
  void clear_outputs();

  // --- nodes ---
  // Appends a node reading `inputs` (null for omitted optionals) and producing `num_outputs` new
  // values named after `output_names` (made unique; empty names get generated ones).
  Node* add_node(std::string_view op_type, std::string_view domain, const std::vector<Value*>& inputs,
                 const std::vector<std::string>& output_names, std::string_view name = {});
  // Same, placed just before `pos` in the node list.
  Node* insert_node_before(Node* pos, std::string_view op_type, std::string_view domain,
                           const std::vector<Value*>& inputs, const std::vector<std::string>& output_names,
                           std::string_view name = {});
  // A node slot that is omitted ("") in ONNX: output value null.
  void set_output_absent(Node* n, size_t i);
  void set_input(Node* n, size_t i, Value* v);  // grows the list with nulls if needed
  void add_node_input(Node* n, Value* v);
  void remove_trailing_inputs(Node* n, size_t keep);
  // Points every use of `from` (node inputs in this graph and nested subgraphs, graph outputs) at `to`.
  void replace_all_uses(Value* from, Value* to);
  // Removes `n`; its outputs must have no uses and not be graph outputs. They are dropped.
  void remove_node(Node* n);
  // Moves `n` to just before `pos` in the node list.
  void move_before(Node* n, Node* pos);

  std::vector<Node*> nodes() const;  // current list order
  size_t num_nodes() const { return nodes_.size(); }
  // Nodes ordered so every producer precedes its consumers (stable w.r.t. list order).
  Result<std::vector<Node*>> topological_order() const;
  // Reorders the node list topologically; error names a node on a cycle.
  Status sort_topologically();

  // Checks the invariants: use lists match inputs, single producer, every used value defined in
  // scope before use (list order), acyclic, graph outputs defined, subgraphs recursively.
  Status verify() const;

  // Counts every edit; import snapshots it to know whether the original node order still holds.
  uint64_t edit_count() const { return edit_count_; }
  void note_edit() { ++edit_count_; }

  std::string name;
  std::string doc_string;
  // value_info entries in file order (values whose type was annotated there).
  std::vector<Value*> value_info;
  // ONNX parts the IR carries but does not interpret, as serialized protos.
  std::vector<std::string> sparse_initializers;        // SparseTensorProto
  std::vector<std::string> quantization_annotations;   // TensorAnnotation
  std::string unknown_fields;
  // Original file order of nodes, kept while no edit happened (see edit_count()).
  std::vector<Node*> original_order;
  uint64_t original_order_edit_count = UINT64_MAX;

 private:
  void add_use(Value* v, Node* n, int idx);
  void drop_use(Value* v, Node* n, int idx);
  Node* create_node(std::list<std::unique_ptr<Node>>::iterator pos, std::string_view op_type,
                    std::string_view domain, const std::vector<Value*>& inputs,
                    const std::vector<std::string>& output_names, std::string_view name);
  Status verify_scope(std::unordered_map<const Value*, bool>& visible) const;

  Graph* parent_ = nullptr;
  Node* owner_ = nullptr;
  std::list<std::unique_ptr<Node>> nodes_;
  std::list<std::unique_ptr<Value>> values_;
  std::unordered_map<std::string, Value*> by_name_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::vector<Value*> initializers_;
  uint64_t edit_count_ = 0;
  uint64_t name_counter_ = 0;
};

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
  // proto2 presence: some exporters omit `domain` for the default domain; export writes it back the same way.
  bool domain_written = true;
};

// A whole model: the main graph plus everything else ModelProto carries.
class Model {
 public:
  Model();
  int64_t ir_version = 8;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  std::unique_ptr<Graph> graph;
  // Carried untouched: model-local functions (FunctionProto), training info (TrainingInfoProto).
  std::vector<std::string> functions;
  std::vector<std::string> training_info;
  std::string unknown_fields;

  // Opset version imported for `domain` ("" and "ai.onnx" are the same); 0 when not imported.
  int64_t opset(std::string_view domain) const;
  void set_opset(std::string_view domain, int64_t version);
};

}  // namespace ortool::ir
